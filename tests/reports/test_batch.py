"""Row sets read together in one query (apps.reports.batch) are the rows ``values()`` reads
one query each: same values, same Python types, floats to the last bit, in the database's
order when a part names one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.inventory.models import Dataset, ModelVersion, RegisteredModel
from apps.monitoring.models import DriftColumn, Observation, Threshold
from apps.reports.batch import Part, read
from tests.monitoring.observations import batch_for, observe

pytestmark = pytest.mark.django_db
User = get_user_model()

AWKWARD = [
    0.1 + 0.2,
    1 / 3,
    2 / 3,
    1e-300,
    5e-324,
    1.7976931348623157e308,
    -2.5e-7,
    123456789.12345679,
    0.0,
    -1.0,
]


def _same(got: list[dict], want: list[dict]) -> None:
    assert got == want
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            assert type(g[key]) is type(value) or (
                isinstance(value, dt.datetime) and isinstance(g[key], dt.datetime)
            ), (key, g[key], value)
            if isinstance(value, float):
                assert g[key].hex() == value.hex(), key
            if isinstance(value, dt.datetime):
                assert g[key].utcoffset() == value.utcoffset() == dt.timedelta(0)


def test_rows_read_together_equal_the_rows_read_one_query_each(
    world, cast, django_assert_num_queries
):
    batch = batch_for(world.model, cast.owner, name="awkward")
    observe(world.v1, world.brier, AWKWARD, batch=batch, end=timezone.now(), segment="odd ✓")
    columns = {
        "observations": (
            Observation.objects.filter(version=world.v1),
            ("version_id", "metric_id", "segment", "timestamp", "value", "batch_id"),
        ),
        "events": (
            AuditEvent.objects.filter(model_ref=world.model.pk),
            ("id", "sequence", "occurred_at", "action", "object_id", "model_ref", "changes"),
        ),
        "versions": (
            ModelVersion.objects.filter(model=world.model),
            ("pk", "version", "hyperparameters", "created_at", "approved_at", "approved_by_id"),
        ),
        "thresholds": (
            Threshold.objects.filter(model=world.model),
            ("pk", "metric__name", "warning_bound", "review_by", "activated_at", "version_id"),
        ),
        "datasets": (Dataset.objects.all(), ("pk", "slug", "contains_personal_data", "owner_id")),
        "columns": (DriftColumn.objects.all(), ("pk", "column", "drifted", "score", "psi")),
    }
    # Wider than one JSON object may be (PostgreSQL functions take 100 arguments at most).
    own = [f.attname for f in RegisteredModel._meta.concrete_fields]
    joined = [f"owner__{f.attname}" for f in User._meta.concrete_fields if f.name != "password"]
    columns["models"] = (RegisteredModel.objects.all(), ("pk", *own, *joined))
    assert len(columns["models"][1]) > 50
    parts = {name: Part(qs, cols) for name, (qs, cols) in columns.items()}
    parts["none"] = Part(Dataset.objects.none(), ("pk",))
    parts["nothing"] = Part(Dataset.objects.filter(pk__in=[]), ("pk",))
    parts["ordered"] = Part(
        DriftColumn.objects.all(), ("pk", "column", "drifted"), order_by=("-drifted", "column")
    )

    with django_assert_num_queries(1):
        rows = read(parts)

    def key(row):
        return tuple(str(v) for v in row.values())

    for name, (qs, cols) in columns.items():
        want = sorted(qs.values(*cols), key=key)
        assert want, name
        _same(sorted(rows[name], key=key), want)
    assert (rows["none"], rows["nothing"]) == ([], [])
    ordered = list(
        DriftColumn.objects.order_by("-drifted", "column").values("pk", "column", "drifted")
    )
    _same(rows["ordered"], ordered)
    assert sorted(r["value"] for r in rows["observations"] if r["segment"] == "odd ✓") == sorted(
        AWKWARD
    )


def test_nothing_to_read_reads_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert read({"none": Part(Dataset.objects.none(), ("pk",))}) == {"none": []}


def test_a_part_read_alone_is_its_own_query_with_the_same_rows(cast, django_assert_num_queries):
    users = User.objects.order_by("pk")
    parts = {
        "together": Part(users, ("id", "username")),
        "alone": Part(users, ("id", "username", "date_joined"), order_by=("-id",), alone=True),
    }

    with django_assert_num_queries(2):
        rows = read(parts)

    _same(rows["alone"], list(users.order_by("-id").values("id", "username", "date_joined")))
    _same(sorted(rows["together"], key=lambda r: r["id"]), list(users.values("id", "username")))
