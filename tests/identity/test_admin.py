"""The group-to-role table and the provider identities in the admin site: administrators
only, edits audited, pages whose query count does not grow with their rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.identity.models import GroupRoleMapping, ProviderIdentity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MAPPINGS = reverse("admin:identity_grouprolemapping_changelist")
IDENTITIES = reverse("admin:identity_provideridentity_changelist")


def test_an_administrator_maps_a_group_audited(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:identity_grouprolemapping_add"), {"group": "mlgov-risk", "role": "validator"}
    )
    assert response.status_code == 302
    mapping = GroupRoleMapping.objects.get(group="mlgov-risk")
    event = AuditEvent.objects.get(object_type="identity.grouprolemapping")
    assert (event.actor, event.action, event.object_id) == (admin_user, "create", str(mapping.pk))


@pytest.mark.parametrize("persona", ["validator", "auditor", "viewer"])
def test_others_do_not_reach_the_identity_admin(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    for url in (MAPPINGS, IDENTITIES):
        assert client.get(url).status_code in (302, 403)


@pytest.mark.parametrize("rows", [2, 40])
def test_the_lists_cost_the_same_whatever_their_length(
    client, admin_user, rows, django_assert_max_num_queries
):
    for n in range(rows):
        GroupRoleMapping.objects.create(group=f"group-{n}", role="viewer")
        ProviderIdentity.objects.create(
            user=UserFactory(),
            issuer="https://login.bank.example",
            subject=f"s-{n}",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    client.force_login(admin_user)
    for url in (MAPPINGS, IDENTITIES):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200
