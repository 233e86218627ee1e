"""Fixtures of the ingestion tests: metrics and versions of the personas' models, CSV
builders, and uploaded files kept in a temporary media directory."""

from __future__ import annotations

import pytest

from apps.monitoring.choices import IngestionSource
from apps.monitoring.ingestion import services
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory

HEADER = "model,version,metric,value,timestamp,segment"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def row(
    value="0.81",
    timestamp="2025-01-01T00:00:00Z",
    segment="",
    model="owned-model",
    version="1.0.0",
    metric="auc",
) -> str:
    return f"{model},{version},{metric},{value},{timestamp},{segment}"


def good_rows(n: int = 3, model="owned-model", metric="auc") -> list[str]:
    return [
        row(
            value=f"0.{80 + i % 10}",
            timestamp=f"2025-01-{1 + i % 28:02d}T{i // 28 % 24:02d}:00:00Z",
            model=model,
            metric=metric,
        )
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def recall(db, admin_user):
    return MetricFactory(name="recall", direction="higher_is_better", created_by=admin_user)


@pytest.fixture
def versions(owned_model, foreign_model, model_owner, other_model_owner):
    return {
        "own": ModelVersionFactory(model=owned_model, version="1.0.0", created_by=model_owner),
        "foreign": ModelVersionFactory(
            model=foreign_model, version="1.0.0", created_by=other_model_owner
        ),
    }


@pytest.fixture
def ingest(model_owner, auc, recall, versions, django_capture_on_commit_callbacks):
    """Send bytes as ``model_owner`` (by default) through the service and run the batch's
    task in process, as the commit would; returns the refreshed batch and ``created``."""

    def send(data: bytes, file_name="metrics.csv", *, user=None, run=True, **kwargs):
        with django_capture_on_commit_callbacks(execute=run):
            batch, created = services.ingestion_batch_create(
                user=user or model_owner,
                source=kwargs.pop("source", IngestionSource.UPLOAD),
                data=data,
                file_name=file_name,
                **kwargs,
            )
        batch.refresh_from_db()
        return batch, created

    return send
