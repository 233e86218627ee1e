"""Dataset services: who may own a dataset is decided here, not only in the form's picker."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.models import Dataset
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def _create(actor, **data) -> Dataset:
    return services.dataset_create(
        actor=actor, slug="shipments-2024", name="Shipments 2024", uri="s3://d/s.parquet", **data
    )


@pytest.mark.parametrize("role", [roles.AUDITOR, roles.VIEWER, roles.BUSINESS_OWNER])
def test_a_reader_or_business_owner_cannot_be_named_owner(admin_user, role):
    person = UserFactory(username=f"p.{role}", roles=[role])
    with pytest.raises(ApplicationError) as refused:
        _create(admin_user, owner=person)
    message = refused.value.field_errors["owner"][0]
    assert message.startswith(f"{person} cannot own a dataset")
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()


def test_people_without_a_role_or_inactive_cannot_own_one(admin_user):
    for person in (
        UserFactory(username="nobody"),
        UserFactory(username="gone", roles=[roles.MODEL_OWNER], is_active=False),
    ):
        with pytest.raises(ApplicationError) as refused:
            _create(admin_user, owner=person)
        assert list(refused.value.field_errors) == ["owner"]
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("role", [roles.MODEL_OWNER, roles.VALIDATOR, roles.ADMIN])
def test_those_who_keep_datasheets_may_own_one(validator, role):
    person = UserFactory(username=f"p.{role}", roles=[role])
    assert _create(validator, owner=person).owner == person


def test_the_creator_owns_it_by_default(model_owner):
    assert _create(model_owner).owner == model_owner


def test_reassigning_to_an_ineligible_owner_is_refused(admin_user, model_owner, viewer):
    dataset = DatasetFactory(slug="payments", owner=model_owner)
    with pytest.raises(ApplicationError) as refused:
        services.dataset_update(actor=admin_user, dataset=dataset, owner=viewer)
    assert "owner" in refused.value.field_errors
    dataset.refresh_from_db()
    assert dataset.owner == model_owner
    assert not AuditEvent.objects.exists()


def test_a_legacy_owner_who_may_not_own_stays_on_other_edits(admin_user, viewer):
    # Owned before the rule: editing other fields (owner sent unchanged, as a form does)
    # keeps working.
    dataset = DatasetFactory(slug="legacy", owner=viewer)
    services.dataset_update(
        actor=admin_user, dataset=dataset, owner=viewer, known_gaps="Winter weeks missing."
    )
    dataset.refresh_from_db()
    assert (dataset.owner, dataset.known_gaps) == (viewer, "Winter weeks missing.")
