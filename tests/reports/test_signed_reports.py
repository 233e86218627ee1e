"""Signed reports: each finished report keeps a manifest of its file signed with the
installation's key (shown on its page and in the API, downloadable, in the audit trail);
``verify_report`` and ``verify_evidence_pack`` check them, offline with only the public keys,
and after the key has rotated."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core import signing
from apps.core.signing import KeySet, Signature, Signer, installation_keyset, installation_signer
from apps.reports import evidence, generators, services
from apps.reports.choices import GENERATOR, ReportStatus
from apps.reports.manifests import REPORT_MANIFEST_SCHEMA
from apps.reports.models import Report
from tests.factories import api_token_key
from tests.reports.jobs import FAKE_BYTES, done_report, fake_generation, media  # noqa: F401

BASE_DIR = Path(__file__).resolve().parents[2]
HEAD = {"sequence": 7, "hash": "e" * 64}


def manifest_of(report: Report) -> dict:
    return json.loads(report.manifest)


def saved(tmp_path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def downloads(tmp_path, report: Report) -> tuple[Path, Path, Path]:
    """What an auditor downloads: the file, its signed manifest and the signature."""
    manifest, signature = services.report_signed_manifest(report=report)
    return (
        saved(tmp_path, report.filename, services.report_file_bytes(report=report)),
        saved(tmp_path, f"{report.filename}.manifest.json", manifest),
        saved(tmp_path, f"{report.filename}.manifest.sig", signature),
    )


def verify_report(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_report", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused_report(*args) -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="does NOT verify"):
        call_command("verify_report", *map(str, args), stdout=StringIO(), stderr=err)
    return err.getvalue()


# --- the record --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_finished_report_keeps_a_signed_manifest_of_its_file(auditor, owned_model, settings):
    report = done_report(auditor, model=owned_model)
    assert report.is_signed and report.signing_key_id == installation_signer().key_id
    signature = Signature.from_parts(key_id=report.signing_key_id, value_b64=report.signature)
    installation_keyset().verify(report.manifest.encode(), signature)
    document = manifest_of(report)
    # The audit checkpoint written for this report, as appended to the checkpoint file.
    written = settings.MLGOV_AUDIT_CHECKPOINT_PATH.read_text().splitlines()
    assert document.pop("audit_checkpoint") == json.loads(written[-1])
    assert document == {
        "schema": REPORT_MANIFEST_SCHEMA,
        "report_id": report.pk,
        "kind": "model_card",
        "format": "pdf",
        "model": "owned-model",
        "scope": {},
        "as_of": generators.iso_utc(report.effective_as_of),
        "requested_as_of": None,
        "generator": GENERATOR,
        "requested_by": "aud.auditor",
        "requested_at": generators.iso_utc(report.requested_at),
        "created_at": generators.iso_utc(report.finished_at),
        "file": {
            "name": report.filename,
            "content_type": "application/pdf",
            "size": len(FAKE_BYTES),
            "sha256": hashlib.sha256(FAKE_BYTES).hexdigest(),
        },
        "snapshot_sha256": "ab" * 32,
        "audit_chain_head": report.audit_chain_head,
    }
    assert report.audit_chain_head is not None


@pytest.mark.django_db
def test_the_signature_joins_the_audit_trail(auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    event = AuditEvent.objects.filter(action="transition", object_id=str(report.pk)).last()
    assert event.changes["signing_key_id"]["after"] == report.signing_key_id
    assert event.changes["signature"]["after"] == report.signature
    assert f"Manifest signed with key {report.signing_key_id}." in event.message


@pytest.mark.django_db
def test_a_failed_report_is_not_signed(auditor, owned_model):
    report = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    with fake_generation(error=generators.GenerationError("no schema")):
        services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and not report.is_signed
    with pytest.raises(services.ReportFileError, match="is failed; it has no signed manifest"):
        services.report_signed_manifest(report=report)


# --- API and page ------------------------------------------------------------------------------


@pytest.fixture
def api(client, auditor):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_key(auditor)}"
    return client


@pytest.mark.django_db
def test_the_api_exposes_the_signature_and_serves_the_signed_manifest(api, auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    body = api.get(reverse("api:report-detail", kwargs={"pk": report.pk})).json()
    assert body["signature"] == report.signature
    assert body["signing_key_id"] == installation_signer().key_id
    assert body["signature_algorithm"] == "Ed25519"
    manifest = api.get(body["manifest_url"])
    assert manifest.status_code == 200 and manifest["Content-Type"] == "application/json"
    assert f'filename="{report.filename}.manifest.json"' in manifest["Content-Disposition"]
    assert manifest.content == report.manifest.encode()
    signature = api.get(body["signature_url"])
    parsed = Signature.from_document(signature.content)
    assert installation_keyset().verify(manifest.content, parsed).key_id == body["signing_key_id"]


@pytest.mark.django_db
def test_a_report_without_a_signed_manifest_says_so(api, auditor, owned_model):
    queued = services.report_request(
        user=auditor, kind="model_card", fmt="pdf", model=owned_model, enqueue=False
    )
    body = api.get(reverse("api:report-detail", kwargs={"pk": queued.pk})).json()
    assert body["signature"] is None and body["manifest_url"] is None
    assert body["signing_key_id"] is None and body["signature_algorithm"] is None
    response = api.get(reverse("api:report-manifest", kwargs={"pk": queued.pk}))
    assert response.status_code == 409
    assert "has no signed manifest (queued)" in response.json()["detail"]
    # A report finished before reports were signed: done, with a file hash, no signature.
    legacy = Report.objects.create(
        kind="model_card",
        format="pdf",
        model=owned_model,
        requested_by=auditor,
        status=ReportStatus.DONE,
        sha256="a" * 64,
    )
    body = api.get(reverse("api:report-detail", kwargs={"pk": legacy.pk})).json()
    assert body["sha256"] == "a" * 64 and body["signature"] is None
    response = api.get(reverse("api:report-signature", kwargs={"pk": legacy.pk}))
    assert response.status_code == 409 and "not signed" in response.json()["detail"]


@pytest.mark.django_db
def test_the_report_page_shows_the_signature_and_links_the_manifest(client, auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    client.force_login(auditor)
    page = client.get(report.get_absolute_url()).content.decode()
    assert f'<span class="mono" id="report-signing-key">{report.signing_key_id}</span>' in page
    assert report.signature in page
    assert f'href="{report.get_manifest_url()}"' in page
    assert f'href="{report.get_signature_url()}"' in page
    assert 'href="/.well-known/mlgov-signing-keys.json"' in page
    download = client.get(report.get_manifest_url())
    assert download.status_code == 200 and download.content == report.manifest.encode()
    signature = client.get(report.get_signature_url())
    assert Signature.from_document(signature.content).key_id == report.signing_key_id


# --- verify_report -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_downloaded_report_verifies_against_its_record(auditor, owned_model, tmp_path):
    report = done_report(auditor, model=owned_model)
    file, manifest, signature = downloads(tmp_path, report)
    out, err = verify_report(file, "--manifest", manifest, "--signature", signature)
    assert err == ""
    assert f"verifies: report {report.pk} (model_card, pdf), SHA-256 {report.sha256}" in out
    assert f"signed by key {report.signing_key_id}" in out and "matches the stored record" in out


@pytest.mark.django_db
def test_a_report_file_and_its_manifest_rewritten_together_are_refused(
    auditor, owned_model, tmp_path
):
    report = done_report(auditor, model=owned_model)
    file, manifest, signature = downloads(tmp_path, report)
    forged = b"%PDF-1.7\n% another card\n"
    document = json.loads(manifest.read_bytes())
    document["file"].update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    file.write_bytes(forged)
    manifest.write_bytes(json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")
    err = refused_report(file, "--manifest", manifest, "--signature", signature, "--offline")
    assert err == (
        f"signature: the Ed25519 signature by key {report.signing_key_id} does not match the "
        "signed bytes\n"
    )


@pytest.mark.django_db
def test_a_changed_report_file_is_named(auditor, owned_model, tmp_path):
    report = done_report(auditor, model=owned_model)
    file, manifest, signature = downloads(tmp_path, report)
    file.write_bytes(FAKE_BYTES + b" ")
    err = refused_report(file, "--manifest", manifest, "--signature", signature)
    assert err.startswith(f"{report.filename}: SHA-256 ")


@pytest.mark.django_db
def test_a_validly_signed_manifest_of_another_report_is_refused_online(
    auditor, owned_model, tmp_path
):
    first = done_report(auditor, model=owned_model)
    second = done_report(auditor, model=owned_model, data=FAKE_BYTES + b"second")
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    file, _, _ = downloads(tmp_path / "first", first)
    _, manifest, signature = downloads(tmp_path / "second", second)
    err = refused_report(file, "--manifest", manifest, "--signature", signature)
    assert f"{first.filename}: SHA-256 {first.sha256} does not match" in err


# --- offline, and after rotation ---------------------------------------------------------------


def signed_pack(tmp_path, signer: Signer) -> Path:
    files = {"model-card.pdf": (b"%PDF-1.7 card", "application/pdf")}
    meta = {
        "generated_at": "2026-11-24T10:15:00Z",
        "generated_by": {"username": "aud.auditor", "name": "Aud Auditor"},
        "generator": GENERATOR,
        "audit_chain_head": HEAD,
        "as_of": "2026-11-24T10:15:00Z",
        "report_id": 1,
    }
    data = evidence.pack_bytes(files=files, meta=meta, model_slug=None, signer=signer)
    return saved(tmp_path, "pack.zip", data)


def test_offline_verification_needs_only_the_public_key_file_and_no_database(tmp_path):
    """No django_db mark: any query would fail the test. The installation's own key is not
    trusted either; only the key set given."""
    auditor_keys = Signer.from_pem(signing.generate_private_key_pem())
    pack = signed_pack(tmp_path, auditor_keys)
    key_file = saved(tmp_path, "keys.json", KeySet.of(current=auditor_keys.public_key).jwks_bytes())
    out = StringIO()
    call_command(
        "verify_evidence_pack", str(pack), "--offline", "--public-key", str(key_file), stdout=out
    )
    assert f"signed by key {auditor_keys.key_id} (the given public key(s))" in out.getvalue()
    # The same pack is not trusted on the installation's keys alone.
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_evidence_pack", str(pack), "--offline", stderr=err)
    assert f"signed with key {auditor_keys.key_id}, which is not among" in err.getvalue()


def _command_in_a_fresh_process(tmp_path, *args) -> subprocess.CompletedProcess:
    """``manage.py`` on a machine with no database and no signing key of ours: an empty
    embedded var/ directory (its SQLite file would appear at the first connection)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "MLGOV_", "CELERY_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(DJANGO_SETTINGS_MODULE="mlgov.settings", MLGOV_VAR_DIR=str(tmp_path / "var"))
    return subprocess.run(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_auditor_verifies_a_pack_offline_in_a_fresh_process(tmp_path):
    signer = Signer.from_pem(signing.generate_private_key_pem())
    pack = signed_pack(tmp_path, signer)
    pem = saved(tmp_path, "mlgov.pem", KeySet.of(current=signer.public_key).pem().encode())
    result = _command_in_a_fresh_process(
        tmp_path, "verify_evidence_pack", pack, "--offline", "--public-key", pem
    )
    assert result.returncode == 0, result.stderr
    assert f"manifest signed by key {signer.key_id}" in result.stdout
    assert not (tmp_path / "var" / "mlgov.sqlite3").exists()  # no database was opened
    with zipfile.ZipFile(pack) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model-card.pdf"] = b"%PDF-1.7 cart"
    pack.write_bytes(evidence.zip_bytes(members))
    tampered = _command_in_a_fresh_process(
        tmp_path, "verify_evidence_pack", pack, "--offline", "--public-key", pem
    )
    assert tampered.returncode == 1
    assert "model-card.pdf: SHA-256" in tampered.stderr
    assert "does NOT verify" in tampered.stderr


@pytest.mark.django_db
def test_a_pack_signed_before_a_rotation_still_verifies(settings, tmp_path, auditor, owned_model):
    key_file = tmp_path / "signing_key.pem"
    signing.write_private_key(key_file, signing.generate_private_key_pem())
    settings.MLGOV_SIGNING_KEY_PEM = key_file.read_text()
    settings.MLGOV_SIGNING_KEY_SOURCE = f"embedded:{key_file}"
    settings.MLGOV_SIGNING_PUBLIC_KEYS_FILE = tmp_path / "signing_public_keys.pem"
    old_key = installation_signer().key_id
    report = services.report_request(
        user=auditor, kind="evidence_pack", fmt="zip", model=owned_model, enqueue=False
    )
    pack = signed_pack(tmp_path, installation_signer())
    with fake_generation(pack.read_bytes()):
        services.report_generate(report_id=report.pk)

    call_command("signing_keys", "--rotate", stdout=StringIO(), stderr=StringIO())
    settings.MLGOV_SIGNING_KEY_PEM = key_file.read_text()  # the restarted installation
    assert installation_signer().key_id != old_key
    out = StringIO()
    call_command("verify_evidence_pack", str(pack), "--offline", stdout=out)
    assert f"manifest signed by key {old_key}" in out.getvalue()
    # And offline with the key set as served after the rotation.
    served = saved(tmp_path, "served.json", installation_keyset().jwks_bytes())
    out = StringIO()
    call_command(
        "verify_evidence_pack", str(pack), "--offline", "--public-key", str(served), stdout=out
    )
    assert "verifies" in out.getvalue()
    # The single-file manifest of that report, signed with the old key, verifies too.
    report.refresh_from_db()
    file, manifest, signature = downloads(tmp_path, report)
    assert report.signing_key_id == old_key
    out, _ = verify_report(file, "--manifest", manifest, "--signature", signature)
    assert f"signed by key {old_key}" in out


@pytest.mark.django_db
def test_the_admin_shows_the_signature_read_only(client, admin_user, auditor, owned_model):
    report = done_report(auditor, model=owned_model)
    client.force_login(admin_user)
    page = client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()
    assert report.signing_key_id in page and report.signature in page
    assert 'name="signature"' not in page  # shown, not editable


@pytest.mark.django_db
def test_a_rotation_that_dropped_a_used_key_is_reported_by_the_checks(
    settings, tmp_path, auditor, owned_model
):
    from django.core.management.base import SystemCheckError

    from apps.reports.checks import signing_keys_cover_stored_reports

    report = done_report(auditor, model=owned_model)
    old = installation_signer()
    assert signing_keys_cover_stored_reports(databases=["default"]) == []
    settings.MLGOV_SIGNING_KEY_PEM = signing.generate_private_key_pem()  # rotated...
    settings.MLGOV_SIGNING_PUBLIC_KEYS_FILE = tmp_path / "retired.pem"  # ...old key not kept
    (error,) = signing_keys_cover_stored_reports(databases=["default"])
    assert error.id == "reports.E001" and old.key_id in error.msg
    assert report.signing_key_id == old.key_id
    with pytest.raises(SystemCheckError, match=old.key_id):
        call_command("check", "--database", "default", stdout=StringIO(), stderr=StringIO())
    signing.append_public_key(tmp_path / "retired.pem", old.public_key)
    assert signing_keys_cover_stored_reports(databases=["default"]) == []
