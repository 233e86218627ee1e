"""Helpers for the report job tests: a stand-in generator (so the record, the job, the API and
the pages are tested without rendering real PDFs) and finished reports made through the
service."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings

from apps.reports import generators, services
from apps.reports.models import Report

FAKE_BYTES = b"%PDF-1.7\n% a stand-in report\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Report files go to a fresh folder per test (import this fixture into a test module)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


class FakeGenerator:
    """Records its calls and returns ``data`` (or raises ``error``) like ``generate``."""

    def __init__(self, data: bytes = FAKE_BYTES, error: Exception | None = None):
        self.data = data
        self.error = error
        self.calls: list[dict] = []

    def __call__(self, *, kind, fmt, model, scope_params, as_of, meta, user):
        self.calls.append(
            {"kind": kind, "fmt": fmt, "model": model, "as_of": as_of, "meta": meta, "user": user}
        )
        if self.error is not None:
            raise self.error
        effective = generators.parse_iso(meta["as_of"])
        return generators.Output(
            data=self.data,
            filename=generators.filename_for(
                kind=kind,
                fmt=fmt,
                model_slug=model.slug if model is not None else None,
                as_of=effective,
            ),
            content_type=generators.CONTENT_TYPES[fmt],
            snapshot_sha256="ab" * 32 if kind == "model_card" else "",
        )


@contextmanager
def fake_generation(data: bytes = FAKE_BYTES, error: Exception | None = None):
    fake = FakeGenerator(data, error)
    with mock.patch("apps.reports.generators.generate", fake):
        yield fake


def done_report(user, *, kind="model_card", fmt="pdf", model=None, data=FAKE_BYTES) -> Report:
    """A report generated (by the stand-in) to the end, as ``user`` asked for it."""
    report = services.report_request(user=user, kind=kind, fmt=fmt, model=model, enqueue=False)
    with fake_generation(data):
        services.report_generate(report_id=report.pk)
    return Report.objects.select_related("model", "requested_by").get(pk=report.pk)


def stored_files(report: Report) -> list[Path]:
    """The files under the report's folder in the media storage."""
    folder = Path(settings.MEDIA_ROOT) / "reports" / str(report.pk)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
