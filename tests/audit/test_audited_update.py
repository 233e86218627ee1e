"""audited_update: the one edit-and-record step every update service takes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audited_update
from apps.core.errors import ApplicationError
from apps.inventory.models import Dataset
from tests.factories import DatasetFactory

FIELDS = ("name", "uri", "owner")
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def dataset(db):
    dataset = DatasetFactory(name="Claims", uri="s3://data/claims.parquet")
    Dataset.objects.filter(pk=dataset.pk).update(updated_at=LONG_AGO)
    return Dataset.objects.get(pk=dataset.pk)


def _stored(dataset: Dataset) -> Dataset:
    return Dataset.objects.get(pk=dataset.pk)


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]


def test_no_change_writes_nothing_and_records_nothing(dataset, admin_user):
    with CaptureQueriesContext(connection) as queries:
        updated, changes = audited_update(
            dataset, actor=admin_user, data={"name": "Claims"}, fields=FIELDS
        )
    assert changes == {}
    assert updated.name == "Claims"
    assert _writes(queries.captured_queries) == []
    assert not AuditEvent.objects.exists()
    assert _stored(dataset).updated_at == LONG_AGO


def test_a_change_is_saved_and_recorded_once_with_its_diff(dataset, admin_user):
    updated, changes = audited_update(
        dataset,
        actor=admin_user,
        data={"name": "Claims 2024", "uri": "s3://data/claims.parquet"},
        fields=FIELDS,
        model_ref=42,
        message="Renamed.",
    )
    assert changes == {"name": {"before": "Claims", "after": "Claims 2024"}}
    stored = _stored(dataset)
    assert stored.name == "Claims 2024"
    assert stored.updated_at > LONG_AGO  # the auto_now stamp is written with the change
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.UPDATE
    assert event.actor == admin_user
    assert (event.object_type, event.object_id) == ("inventory.dataset", str(dataset.pk))
    assert event.model_ref == 42
    assert event.message == "Renamed."
    assert event.changes == changes
    assert updated is not dataset  # re-read under the lock


def test_foreign_keys_are_diffed_as_ids_and_the_action_is_the_callers(dataset, admin_user):
    _, changes = audited_update(
        dataset,
        actor=admin_user,
        data={"owner": admin_user},
        fields=FIELDS,
        action=AuditEvent.Action.TRANSITION,
    )
    assert changes == {"owner": {"before": dataset.owner_id, "after": admin_user.pk}}
    assert AuditEvent.objects.get().action == AuditEvent.Action.TRANSITION


def test_a_snapshot_function_decides_what_is_audited(dataset, admin_user):
    def snapshot(obj: Dataset) -> dict:
        return {**diff.snapshot(obj, ("name",)), "label": str(obj)}

    _, changes = audited_update(
        dataset, actor=admin_user, data={"name": "Policies"}, fields=snapshot
    )
    assert changes == {
        "label": {"before": "Claims 1", "after": "Policies 1"},
        "name": {"before": "Claims", "after": "Policies"},
    }


def test_check_sees_before_and_after_and_may_set_derived_fields(dataset, admin_user):
    seen = []

    def check(before, obj):
        seen.append((before["name"], obj.name))
        obj.description = f"Formerly {before['name']}."

    _, changes = audited_update(
        dataset,
        actor=admin_user,
        data={"name": "Policies"},
        fields=("name", "description"),
        check=check,
    )
    assert seen == [("Claims", "Policies")]
    assert changes["description"] == {"before": "", "after": "Formerly Claims."}
    assert _stored(dataset).description == "Formerly Claims."


def test_a_failing_check_writes_nothing(dataset, admin_user):
    def refuse(before, obj):
        raise ApplicationError("Not like that.")

    with pytest.raises(ApplicationError, match="Not like that"), transaction.atomic():
        audited_update(
            dataset, actor=admin_user, data={"name": "Policies"}, fields=FIELDS, check=refuse
        )
    assert _stored(dataset).name == "Claims"
    assert not AuditEvent.objects.exists()


def test_failing_validation_writes_nothing(dataset, admin_user):
    with pytest.raises(ApplicationError) as refused, transaction.atomic():
        audited_update(dataset, actor=admin_user, data={"uri": ""}, fields=FIELDS)
    assert "uri" in refused.value.field_errors
    assert _stored(dataset).uri == "s3://data/claims.parquet"
    assert not AuditEvent.objects.exists()


def test_validation_can_be_left_to_the_caller(dataset, admin_user):
    audited_update(dataset, actor=admin_user, data={"uri": ""}, fields=FIELDS, validate=False)
    assert _stored(dataset).uri == ""


def test_update_fields_limit_the_write(dataset, admin_user):
    dataset.description = "not saved"
    audited_update(
        dataset,
        actor=admin_user,
        data={"name": "Policies"},
        fields=FIELDS,
        lock=False,
        update_fields=["name"],
    )
    stored = _stored(dataset)
    assert (stored.name, stored.description) == ("Policies", "")
    assert stored.updated_at == LONG_AGO  # not named, so not written


def test_without_lock_the_callers_instance_is_changed(dataset, admin_user):
    updated, _ = audited_update(
        dataset, actor=admin_user, data={"name": "Policies"}, fields=FIELDS, lock=False
    )
    assert updated is dataset
    assert dataset.name == "Policies"


def test_the_row_is_locked_on_postgresql(dataset, admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks")
    with CaptureQueriesContext(connection) as queries:
        audited_update(dataset, actor=admin_user, data={"name": "Policies"}, fields=FIELDS)
    selects = [q["sql"] for q in queries.captured_queries if "inventory_dataset" in q["sql"]]
    assert "FOR UPDATE OF" in selects[0]
    assert selects[0].lstrip().upper().startswith("SELECT")


def test_a_change_outside_the_audited_fields_is_saved_without_an_event(dataset, admin_user):
    _, changes = audited_update(
        dataset, actor=admin_user, data={"uri": "s3://data/claims-v2.parquet"}, fields=("name",)
    )
    assert changes == {}
    assert _stored(dataset).uri == "s3://data/claims-v2.parquet"
    assert not AuditEvent.objects.exists()
