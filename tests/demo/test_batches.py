"""The demo's metrics are pushed files run by the ingestion service, in process: stored,
parsed, validated, loaded, evaluated and audited by the service itself (no second pipeline)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from apps.audit.models import AuditEvent
from apps.demo import monitoring as demo
from apps.monitoring.choices import BatchStage, BatchStatus, IngestionSource
from apps.monitoring.models import IngestionBatch, Observation
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def version(owned_model, admin_user):
    MetricFactory(name="auc", direction="higher_is_better", created_by=admin_user)
    return ModelVersionFactory(model=owned_model, version="1.0.0")


def test_a_demo_batch_is_a_file_the_ingestion_service_stores_loads_and_audits(version, model_owner):
    counts: dict[str, int] = {}
    rows = [
        ("1.0.0", "auc", T0, 0.81),
        ("1.0.0", "auc", T1, 0.7934),
        ("2.0.0", "auc", T1, 0.5),  # no such version (yet): left out
    ]
    demo.load_batch("owned-model", rows, name="demo-owned-model.csv", counts=counts)

    assert counts == {"observations": 2, "ingestion batches": 1}
    [batch] = IngestionBatch.objects.all()
    assert (batch.source, batch.status, batch.stage) == (
        IngestionSource.DEMO,
        BatchStatus.SUCCEEDED,
        BatchStage.DONE,
    )
    assert (batch.created_by, batch.scope_model, batch.rows_loaded) == (
        model_owner,
        version.model,
        2,
    )
    with batch.file.open("rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == batch.sha256
    assert content.decode().splitlines()[0] == "model,version,metric,value,timestamp,segment"
    assert sorted(Observation.objects.values_list("timestamp", "value")) == [
        (T0, 0.81),
        (T1, 0.7934),
    ]
    events = AuditEvent.objects.filter(
        object_type="monitoring.ingestionbatch", object_id=str(batch.pk)
    ).order_by("sequence")
    assert [(e.action, e.actor) for e in events] == [
        ("create", model_owner),
        ("transition", None),
    ]

    # The same rows again: the service hands back the loaded batch; nothing is loaded twice.
    demo.load_batch("owned-model", rows, name="demo-owned-model.csv", counts=counts)
    assert counts == {"observations": 2, "ingestion batches": 1}
    assert IngestionBatch.objects.count() == 1 and Observation.objects.count() == 2


def test_a_demo_batch_the_service_refuses_stops_the_demo(version):
    rows = [("1.0.0", "no-such-metric", T0, 0.81)]
    with pytest.raises(RuntimeError, match="did not load: failed"):
        demo.load_batch("owned-model", rows, name="demo-bad.csv", counts={})
    assert not Observation.objects.exists()


def test_rows_of_versions_that_do_not_exist_send_nothing(version):
    counts: dict[str, int] = {}
    demo.load_batch("owned-model", [("9.0.0", "auc", T0, 0.8)], name="x.csv", counts=counts)
    assert counts == {} and not IngestionBatch.objects.exists()
