"""Editing a webhook endpoint is audited without its secret: only that the secret changed."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.notifications import services
from apps.notifications.choices import Event
from apps.notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(admin_user):
    return WebhookEndpoint.objects.create(
        name="Ops",
        url="https://hooks.example.com/mlgov",
        secret="s3cret",
        events=[Event.REVIEW_DUE],
        created_by=admin_user,
    )


def test_a_new_secret_is_recorded_as_changed_never_as_its_value(admin_user, endpoint):
    services.webhook_endpoint_update(
        actor=admin_user, endpoint=endpoint, secret="n3w-s3cret", name="Ops team"
    )
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.UPDATE
    assert event.changes == {
        "name": {"before": "Ops", "after": "Ops team"},
        "secret": {"before": "(set)", "after": "(changed)"},
    }
    assert "s3cret" not in str(event.changes)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "n3w-s3cret"


def test_the_same_secret_and_values_record_nothing(admin_user, endpoint):
    services.webhook_endpoint_update(
        actor=admin_user, endpoint=endpoint, secret="s3cret", events=[Event.REVIEW_DUE]
    )
    assert not AuditEvent.objects.exists()


def test_fields_it_does_not_keep_are_ignored(admin_user, endpoint):
    services.webhook_endpoint_update(actor=admin_user, endpoint=endpoint, created_by=None)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).created_by == admin_user
    assert not AuditEvent.objects.exists()
