"""Linking provider subjects to users, applying roles from groups (the interface SCIM uses
too), the administrators' group table, and what a verified ID token's claims make."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.identity import services
from apps.identity.models import GroupRoleMapping, ProviderIdentity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ISSUER = "https://login.bank.example/realms/staff"


@pytest.fixture(autouse=True)
def _mapping(settings):
    settings.MLGOV_OIDC_GROUP_ROLES = (
        ("risk", roles.VALIDATOR),
        ("audit", roles.AUDITOR),
        ("it-admins", roles.ADMIN),
    )


def _roles(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True)) & set(roles.ALL_ROLES)


def test_it_sets_exactly_the_mapped_roles_and_names_the_source():
    user = UserFactory(roles=[roles.VIEWER])
    services.identity_roles_apply(user=user, groups=["risk", "audit", "payroll"], source="scim")
    assert _roles(user) == {roles.VALIDATOR, roles.AUDITOR}
    event = AuditEvent.objects.filter(object_id=str(user.pk)).latest("sequence")
    assert event.changes["roles"] == {"before": ["viewer"], "after": ["auditor", "validator"]}
    assert event.message == "Roles set from the identity provider's groups (scim)"
    assert event.actor is None


def test_a_role_the_groups_no_longer_give_is_removed():
    user = UserFactory(roles=[roles.VALIDATOR, roles.ADMIN])
    user.is_staff = True
    user.save()
    services.identity_roles_apply(user=user, groups=["risk"], source=f"oidc:{ISSUER}")
    user.refresh_from_db()
    assert _roles(user) == {roles.VALIDATOR}
    assert not user.is_staff  # the admin site follows the admin role


def test_it_records_nothing_when_nothing_changed():
    user = UserFactory(roles=[roles.AUDITOR])
    before = AuditEvent.objects.count()
    services.identity_roles_apply(user=user, groups=["audit"], source="scim")
    assert AuditEvent.objects.count() == before


def test_it_links_a_subject_once_and_refuses_it_for_another_user():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    first = services.identity_link(user=alice, issuer=ISSUER, subject="00u1")
    again = services.identity_link(user=alice, issuer=ISSUER, subject="00u1")
    assert first.pk == again.pk
    assert AuditEvent.objects.filter(object_type="identity.provideridentity").count() == 1
    with pytest.raises(ApplicationError, match="already linked to alice") as refused:
        services.identity_link(user=bob, issuer=ISSUER, subject="00u1")
    assert "subject" in refused.value.field_errors
    # The same subject at another provider is another person.
    services.identity_link(user=bob, issuer="https://other.example", subject="00u1")


def test_it_refuses_an_empty_subject():
    with pytest.raises(ApplicationError, match="subject"):
        services.identity_link(user=UserFactory(), issuer=ISSUER, subject="  ")


def test_administrators_edit_the_group_table_audited(admin_user, validator):
    mapping = services.group_role_mapping_create(actor=admin_user, group="risk-2", role="viewer")
    services.group_role_mapping_update(actor=admin_user, mapping=mapping, role="validator")
    mapping.refresh_from_db()
    assert mapping.role == "validator"
    with pytest.raises(ApplicationError, match="already mapped"):
        services.group_role_mapping_create(actor=admin_user, group="risk-2", role="auditor")
    with pytest.raises(ApplicationError, match="not an mlgov role"):
        services.group_role_mapping_create(actor=admin_user, group="x", role="root")
    with pytest.raises(PermissionDenied):
        services.group_role_mapping_create(actor=validator, group="y", role="admin")
    services.group_role_mapping_delete(actor=admin_user, mapping=mapping)
    assert not GroupRoleMapping.objects.exists()
    actions = list(
        AuditEvent.objects.filter(object_type="identity.grouprolemapping")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def _claims(**extra):
    return {"iss": ISSUER, "sub": "s-1", "groups": ["risk"], **extra}


def test_a_first_sign_in_makes_a_user_with_a_safe_unique_username():
    UserFactory(username="j.doe-fr")
    user = services.oidc_sign_in(
        claims=_claims(preferred_username="J.Doé/FR", email="not an address"),
        issuer=ISSUER,
    )
    assert user.username == "J.Doe-FR-2"
    assert user.email == ""
    assert ProviderIdentity.objects.get(user=user).subject == "s-1"
    assert _roles(user) == {roles.VALIDATOR}


def test_the_subject_claim_can_be_another_claim(settings):
    settings.MLGOV_OIDC_SUBJECT_CLAIM = "oid"
    user = services.oidc_sign_in(claims=_claims(oid="entra-object-id"), issuer=ISSUER)
    assert ProviderIdentity.objects.get(user=user).subject == "entra-object-id"


def test_a_later_sign_in_updates_name_and_email_but_keeps_the_username():
    first = services.oidc_sign_in(claims=_claims(email="a@bank.example"), issuer=ISSUER)
    again = services.oidc_sign_in(
        claims=_claims(email="a.new@bank.example", given_name="Ann", preferred_username="zz"),
        issuer=ISSUER,
    )
    assert again.pk == first.pk and again.username == first.username
    assert (again.email, again.first_name) == ("a.new@bank.example", "Ann")
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": ""}, "no 'sub' claim"),
        ({"groups": None, "_claim_names": {"groups": "src1"}}, "overage"),
    ],
)
def test_it_refuses_claims_it_cannot_use(claims, reason):
    with pytest.raises(ApplicationError, match=reason):
        services.oidc_sign_in(claims=_claims(**claims), issuer=ISSUER)
    assert not User.objects.exists()
