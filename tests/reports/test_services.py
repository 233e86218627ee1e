"""Asking for a report (validation naming the field, permissions, audit, enqueue on commit)
and generating it (idempotent, one file, failures store nothing)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.reports import services
from apps.reports.choices import GENERATOR, ReportStatus
from apps.reports.models import Report
from tests.reports.jobs import FAKE_BYTES, done_report, fake_generation, media, stored_files  # noqa: F401

pytestmark = pytest.mark.django_db


def ask(user, **kwargs) -> Report:
    kwargs.setdefault("enqueue", False)
    return services.report_request(user=user, **kwargs)


def field_of(excinfo) -> set[str]:
    return set(excinfo.value.field_errors)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"kind": "poster", "fmt": "pdf"}, "kind", "Unknown report kind"),
        ({"kind": "register", "fmt": "html"}, "format", "csv, xlsx, pdf"),
        ({"kind": "model_card", "fmt": "csv", "model": "own"}, "format", "not 'csv'"),
        ({"kind": "evidence_pack", "fmt": "pdf"}, "format", "zip"),
        ({"kind": "model_card", "fmt": "pdf"}, "model", "name it"),
        ({"kind": "register", "fmt": "csv", "model": "own"}, "model", "inventory"),
        (
            {"kind": "model_card", "fmt": "pdf", "model": "own", "scope": {"x": 1}},
            "scope",
            "no scope",
        ),
        (
            {"kind": "register", "fmt": "csv", "scope": {"filters": {"colour": "red"}}},
            "scope",
            "colour",
        ),
        (
            {"kind": "register", "fmt": "csv", "scope": {"filters": {"risk_tier": ["9"]}}},
            "scope",
            "risk_tier",
        ),
        (
            {"kind": "audit_extract", "fmt": "csv", "scope": {"start": "yesterday"}},
            "scope",
            "start",
        ),
        (
            {
                "kind": "audit_extract",
                "fmt": "csv",
                "scope": {"start": "2026-02-01", "end": "2026-01-01"},
            },
            "scope",
            "after",
        ),
    ],
)
def test_it_names_the_field_of_a_bad_request(admin_user, owned_model, kwargs, field, words):
    if kwargs.get("model") == "own":
        kwargs["model"] = owned_model
    with pytest.raises(ApplicationError) as excinfo:
        ask(admin_user, **kwargs)
    assert field_of(excinfo) == {field}
    assert words in excinfo.value.message
    assert not Report.objects.exists()


def test_it_refuses_an_as_of_in_the_future(auditor, owned_model):
    later = timezone.now() + dt.timedelta(minutes=5)
    with pytest.raises(ApplicationError) as excinfo:
        ask(auditor, kind="model_card", fmt="pdf", model=owned_model, as_of=later)
    assert field_of(excinfo) == {"as_of"} and "future" in excinfo.value.message


def test_it_refuses_an_as_of_before_the_model_was_registered(auditor, owned_model):
    before = owned_model.created_at - dt.timedelta(days=1)
    with pytest.raises(ApplicationError) as excinfo:
        ask(auditor, kind="model_card", fmt="pdf", model=owned_model, as_of=before)
    assert field_of(excinfo) == {"as_of"} and "registered" in excinfo.value.message


def test_register_filters_and_an_audit_period_are_kept_in_the_scope(admin_user):
    report = ask(
        admin_user,
        kind="register",
        fmt="csv",
        scope={"filters": {"risk_tier": ["1", "2"], "q": "credit", "status": ""}},
    )
    assert report.scope == {"filters": {"q": "credit", "risk_tier": ["1", "2"]}}
    extract = ask(
        admin_user,
        kind="audit_extract",
        fmt="csv",
        scope={"start": "2026-01-01", "end": "2026-01-31T12:00:00Z"},
    )
    assert extract.scope == {
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-31T12:00:00+00:00",
    }


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "kind", "fmt", "which", "allowed"),
    [
        ("viewer", "model_card", "pdf", "own", False),
        ("business_owner", "model_card", "pdf", "own", True),
        ("business_owner", "model_card", "pdf", "foreign", False),
        ("model_owner", "lineage", "json", "own", True),
        ("model_owner", "lineage", "json", None, True),
        ("model_owner", "register", "csv", None, True),
        ("viewer", "register", "csv", None, False),
        ("model_owner", "audit_extract", "csv", "own", False),
        ("model_owner", "evidence_pack", "zip", "own", False),
        ("auditor", "evidence_pack", "zip", None, True),
        ("validator", "audit_extract", "pdf", "foreign", True),
        ("auditor", "model_card", "markdown", "foreign", True),
    ],
)
def test_who_may_ask_for_what(
    request, owned_model, foreign_model, persona, kind, fmt, which, allowed
):
    user = request.getfixturevalue(persona)
    model = {"own": owned_model, "foreign": foreign_model, None: None}[which]
    if allowed:
        assert ask(user, kind=kind, fmt=fmt, model=model).requested_by == user
    else:
        with pytest.raises(PermissionDenied):
            ask(user, kind=kind, fmt=fmt, model=model)
        assert not Report.objects.exists()


# --- the request record -----------------------------------------------------------------------


def test_a_request_is_audited_and_queued_on_commit(
    model_owner, owned_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        report = services.report_request(
            user=model_owner, kind="model_card", fmt="json", model=owned_model
        )
    assert len(callbacks) == 1
    assert report.status == ReportStatus.QUEUED and report.generator == GENERATOR
    assert report.task_id and report.as_of is None and report.effective_as_of is None
    event = AuditEvent.objects.get(object_type="reports.report", object_id=str(report.pk))
    assert event.action == "create" and event.actor == model_owner
    assert event.model_ref == owned_model.pk
    assert event.changes["kind"]["after"] == "model_card"
    assert event.changes["format"]["after"] == "json"


# --- generation -----------------------------------------------------------------------------


def test_it_stores_the_file_with_its_hash_size_name_and_type(auditor, owned_model):
    as_of = timezone.now()  # a requested as-of (the model was registered moments ago)
    report = ask(auditor, kind="model_card", fmt="pdf", model=owned_model, as_of=as_of)
    with fake_generation() as fake:
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE and report.error == ""
    assert report.sha256 == hashlib.sha256(FAKE_BYTES).hexdigest()
    assert report.size == len(FAKE_BYTES)
    stamp = as_of.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")
    assert report.filename == f"owned-model-model-card-{stamp}.pdf"
    assert report.content_type == "application/pdf"
    assert report.effective_as_of == as_of and report.snapshot_sha256 == "ab" * 32
    assert report.audit_head_sequence is not None and len(report.audit_head_hash) == 64
    assert report.started_at <= report.finished_at
    assert services.report_file_bytes(report=report) == FAKE_BYTES
    call = fake.calls[0]
    assert call["as_of"] == as_of and call["user"] == auditor and call["model"] == owned_model
    assert call["meta"]["generated_by"]["username"] == auditor.username
    assert call["meta"]["report_id"] == report.pk and call["meta"]["generator"] == GENERATOR
    finished = AuditEvent.objects.filter(object_id=str(report.pk), action="transition").get()
    assert finished.changes["status"] == {"before": "running", "after": "done"}
    assert finished.changes["sha256"] == {"before": None, "after": report.sha256}
    assert report.sha256 in finished.message


def test_as_of_now_is_fixed_when_generation_starts(auditor, owned_model):
    report = ask(auditor, kind="model_card", fmt="html", model=owned_model)
    before = timezone.now()
    with fake_generation() as fake:
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.as_of is None and report.effective_as_of >= before
    assert fake.calls[0]["as_of"] is None  # the live record, not a reconstruction
    assert report.filename.endswith(".html") and "charset=utf-8" in report.content_type


def test_generating_twice_renders_once_and_keeps_one_file(auditor, owned_model):
    report = ask(auditor, kind="model_card", fmt="pdf", model=owned_model)
    with fake_generation() as fake:
        first = services.report_generate(report_id=report.pk)
        second = services.report_generate(report_id=report.pk)
    assert len(fake.calls) == 1
    assert first.sha256 == second.sha256 and second.status == ReportStatus.DONE
    assert len(stored_files(report)) == 1


def test_a_file_left_by_a_crashed_attempt_is_replaced_not_duplicated(auditor, owned_model):
    report = ask(auditor, kind="model_card", fmt="pdf", model=owned_model)
    with fake_generation():
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    # The same name written by an attempt whose transaction never committed.
    leftover_report = ask(auditor, kind="model_card", fmt="pdf", model=owned_model)
    folder = Path(settings.MEDIA_ROOT) / "reports" / str(leftover_report.pk)
    folder.mkdir(parents=True)
    (folder / report.filename).write_bytes(b"half a file")
    with fake_generation():
        services.report_generate(report_id=leftover_report.pk)
    leftover_report.refresh_from_db()
    assert stored_files(leftover_report) == [folder / report.filename]
    assert services.report_file_bytes(report=leftover_report) == FAKE_BYTES


def test_a_failed_generation_says_why_and_stores_nothing(auditor, owned_model):
    report = ask(auditor, kind="model_card", fmt="pdf", model=owned_model)
    with fake_generation(error=RuntimeError("the renderer ran out of paper")):
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert "the renderer ran out of paper" in report.error and "nothing was stored" in report.error
    assert not report.file and report.sha256 == "" and report.size is None
    assert stored_files(report) == []
    event = AuditEvent.objects.get(object_id=str(report.pk), action="transition")
    assert event.changes["status"]["after"] == "failed"


def test_a_refused_card_fails_with_the_generators_reason(auditor, owned_model):
    from apps.reports.generators import GenerationError

    report = ask(auditor, kind="model_card", fmt="mct_json", model=owned_model)
    with fake_generation(error=GenerationError("The card does not validate: name missing.")):
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.error == "The card does not validate: name missing. Nothing was stored."


def test_a_failure_while_storing_removes_the_written_file(auditor, owned_model, monkeypatch):
    report = ask(auditor, kind="model_card", fmt="pdf", model=owned_model)

    def broken_finish(report, **kwargs):
        raise RuntimeError("the database went away before the commit")

    monkeypatch.setattr(services, "_finish", broken_finish)
    with fake_generation(), pytest.raises(RuntimeError):
        services._store(
            report.pk, services.generators.Output(FAKE_BYTES, "x.pdf", "application/pdf")
        )
    assert stored_files(report) == []
    assert Report.objects.get(pk=report.pk).status == ReportStatus.QUEUED


def test_a_requester_who_lost_access_gets_no_report(model_owner, owned_model):
    report = ask(model_owner, kind="model_card", fmt="pdf", model=owned_model)
    owned_model.owner = owned_model.business_owner
    owned_model.save(update_fields=["owner"])
    with fake_generation() as fake:
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and "may no longer" in report.error
    assert fake.calls == [] and stored_files(report) == []


def test_reading_back_refuses_a_file_changed_after_generation(auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    (path,) = stored_files(report)
    path.write_bytes(FAKE_BYTES.replace(b"stand-in", b"stand_in"))
    with pytest.raises(services.ReportFileError, match="no longer matches"):
        services.report_file_bytes(report=report)
    path.unlink()
    with pytest.raises(services.ReportFileError, match="missing"):
        services.report_file_bytes(report=report)
