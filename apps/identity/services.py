"""Writes for the identity provider: linking a provider's subject to an mlgov user, applying
the roles the provider's groups give, and the group-to-role table. Keyword-only, atomic,
audited in the same transaction.

OpenID Connect sign-in (``source="oidc:<issuer>"``) and SCIM provisioning (``source="scim"``)
both come through ``identity_roles_apply``, so a role is granted or withdrawn the same way
whichever told mlgov, and the audit trail names which one did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.accounts.services import user_create, user_set_roles, user_update
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_create, audited_update
from apps.core import clock, roles
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm
from apps.identity import oidc, selectors
from apps.identity.mapping import roles_for_groups
from apps.identity.models import GroupRoleMapping, ProviderIdentity


@transaction.atomic
def identity_roles_apply(*, user: User, groups: Iterable[str], source: str) -> User:
    """Give ``user`` exactly the roles their provider ``groups`` map to: a mapped role is
    added, a role no group gives any more is removed. Every change is one audit event naming
    ``source`` (``"oidc:<issuer>"``, ``"scim"``); nothing is written when nothing changed."""
    if not source:
        raise ValueError("identity_roles_apply needs the source of the groups")
    mapped = roles_for_groups(groups)
    return user_set_roles(
        actor=None,
        user=user,
        role_names=mapped,
        message=f"Roles set from the identity provider's groups ({source})",
    )


def _clean(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        message = f"The {field} of a provider identity cannot be empty."
        raise ApplicationError(message, field_errors={field: [message]})
    limit = ProviderIdentity._meta.get_field(field).max_length
    if len(value) > limit:
        message = f"The {field} is longer than {limit} characters."
        raise ApplicationError(message, field_errors={field: [message]})
    return value


@transaction.atomic
def identity_link(*, user: User, issuer: str, subject: str) -> ProviderIdentity:
    """Link the provider's ``subject`` at ``issuer`` to ``user``, so that a sign-in carrying
    it finds that user. Idempotent; refuses a subject already linked to another user."""
    issuer, subject = _clean(issuer, "issuer"), _clean(subject, "subject")
    existing = (
        ProviderIdentity.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if existing is not None:
        if existing.user_id == user.pk:
            return existing
        message = (
            f"The subject {subject!r} of {issuer} is already linked to "
            f"{existing.user.get_username()}; one person at the provider is one mlgov user."
        )
        raise ApplicationError(message, field_errors={"subject": [message]})
    identity = ProviderIdentity(user=user, issuer=issuer, subject=subject, created_at=clock.now())
    try:
        with transaction.atomic():
            identity.save()
    except IntegrityError as exc:  # linked by a concurrent request in the meantime
        message = f"The subject {subject!r} of {issuer} was linked by another request."
        raise ApplicationError(message, field_errors={"subject": [message]}) from exc
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=identity,
        changes=diff.created({"user": user.pk, "issuer": issuer, "subject": subject}),
        message=f"{user.get_username()} linked to subject {subject!r} at {issuer}",
    )
    return identity


def identity_login_touch(*, identity: ProviderIdentity) -> None:
    """Note when the identity last signed in (not audited: the sign-in event records it)."""
    ProviderIdentity.objects.filter(pk=identity.pk).update(last_login_at=clock.now())


# --- signing in through the provider ---------------------------------------------------------


def _free_username(profile: oidc.Profile) -> str:
    for candidate in oidc.username_candidates(profile):
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    raise ApplicationError("No free username could be made for this person.")


def _profile_changes(user: User, profile: oidc.Profile) -> dict[str, str]:
    """Name and e-mail as the provider now has them (what it leaves out is kept)."""
    wanted = {
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "email": profile.email,
    }
    return {k: v for k, v in wanted.items() if v and getattr(user, k) != v}


@transaction.atomic
def oidc_sign_in(*, claims: dict[str, Any], issuer: str) -> User:
    """The mlgov user for a verified ID token's claims, found by issuer and subject, created
    at their first sign-in (name and e-mail from the claims, no password), with exactly the
    roles their groups map to. A deactivated account is refused; the sign-in is audited."""
    profile = oidc.profile_from_claims(
        claims,
        subject_claim=settings.MLGOV_OIDC_SUBJECT_CLAIM,
        groups_claim=settings.MLGOV_OIDC_GROUPS_CLAIM,
    )
    source = f"oidc:{issuer}"
    identity = selectors.identity_find(issuer=issuer, subject=profile.subject)
    if identity is None:
        user = user_create(
            actor=None,
            username=_free_username(profile),
            message=f"Created at the first sign-in through {source}",
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            timezone=settings.MLGOV_DEFAULT_USER_TIMEZONE,
        )
        identity = identity_link(user=user, issuer=issuer, subject=profile.subject)
    else:
        user = identity.user
        if not user.is_active:
            raise ApplicationError(
                f"The account {user.get_username()} is deactivated in mlgov; an administrator "
                "must reactivate it."
            )
        changes = _profile_changes(user, profile)
        if changes:
            user = user_update(actor=None, user=user, **changes)
    user = identity_roles_apply(user=user, groups=profile.groups, source=source)
    identity_login_touch(identity=identity)
    audit_record(
        actor=user,
        action=AuditEvent.Action.LOGIN,
        obj=user,
        message=f"Signed in through {issuer} as subject {profile.subject!r}",
    )
    return user


@transaction.atomic
def oidc_sign_in_refused(*, issuer: str, reason: str) -> None:
    """Audit a sign-in through the provider that mlgov refused (a token that failed a check,
    a deactivated account, the provider unreachable); nothing else was written."""
    audit_record(
        actor=None,
        action=AuditEvent.Action.LOGIN_FAILED,
        object_type="accounts.user",
        object_repr=issuer[:300],
        message=f"Sign-in through {issuer} refused: {reason}",
    )


# --- the group-to-role table (admin site) ----------------------------------------------------

MAPPING_FIELDS = ("group", "role")


def _mapping_snapshot(mapping: GroupRoleMapping) -> dict[str, Any]:
    return diff.snapshot(mapping, MAPPING_FIELDS)


def _check_role(role: str) -> None:
    if role not in roles.ALL_ROLES:
        message = f"{role!r} is not an mlgov role ({', '.join(roles.ALL_ROLES)})."
        raise ApplicationError(message, field_errors={"role": [message]})


@transaction.atomic
def group_role_mapping_create(*, actor, group: str, role: str) -> GroupRoleMapping:
    """Map a provider group to a role. It applies from each member's next sign-in (or SCIM
    update): roles are set from the groups then, not here."""
    require_perm(actor, "identity.add_grouprolemapping")
    group = (group or "").strip()
    _check_role(role)
    if GroupRoleMapping.objects.filter(group=group).exists():
        message = f"The group {group!r} is already mapped; change its row instead."
        raise ApplicationError(message, field_errors={"group": [message]})
    return audited_create(
        GroupRoleMapping(group=group, role=role),
        actor=actor,
        fields=_mapping_snapshot,
        message=f"Provider group {group!r} now gives the role {role}",
    )


@transaction.atomic
def group_role_mapping_update(*, actor, mapping: GroupRoleMapping, **data: Any) -> GroupRoleMapping:
    require_perm(actor, "identity.change_grouprolemapping", mapping)
    reject_unknown_fields(data, MAPPING_FIELDS)
    if "group" in data:
        data["group"] = (data["group"] or "").strip()
    if "role" in data:
        _check_role(data["role"])
    mapping, _ = audited_update(
        mapping,
        actor=actor,
        data=data,
        fields=MAPPING_FIELDS,
        message="Provider group mapping changed",
    )
    return mapping


@transaction.atomic
def group_role_mapping_delete(*, actor, mapping: GroupRoleMapping) -> None:
    require_perm(actor, "identity.delete_grouprolemapping", mapping)
    mapping = GroupRoleMapping.objects.select_for_update(of=("self",)).get(pk=mapping.pk)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        obj=mapping,
        changes=diff.deleted(_mapping_snapshot(mapping)),
        message=f"Provider group {mapping.group!r} no longer gives the role {mapping.role}",
    )
    mapping.delete()
