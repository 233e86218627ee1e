"""Writes of SCIM provisioning. Users are written through the accounts services and get
their roles through the identity mapping (``identity_roles_apply``, source ``"scim"``); this
app stores only the SCIM link of a user and the provider's groups with their members.

The SCIM views run these inside ``context.acting_as(credential.actor_name)``, so every audit
event they cause (the account's own, its roles, its revoked tokens) names the credential.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from hmac import compare_digest

from django.conf import settings
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.services import user_create, user_sessions_end, user_update
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import require_perm
from apps.identity.selectors import identity_find
from apps.identity.services import identity_link, identity_roles_apply
from apps.provisioning.models import ScimCredential, ScimGroup, ScimUser
from apps.provisioning.protocol import ScimError
from apps.provisioning.resources import GroupValues, UserValues

SECRET_PREFIX = "mlgov_scim_"  # noqa: S105 - a label, not a secret
PREFIX_LENGTH = len(SECRET_PREFIX) + 8
MAX_CREDENTIAL_DAYS = 730
LAST_USED_RESOLUTION = timedelta(minutes=1)

# The accounts services' field names as SCIM names them, for error messages.
SCIM_NAMES = {
    "username": "userName",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "email": "emails.value",
    "job_title": "title",
    "is_active": "active",
    "subject": "externalId",
}


def _digest(secret: str) -> str:
    return hashlib.sha512(secret.encode()).hexdigest()


def scim_error_of(exc: ApplicationError) -> ScimError:
    """An accounts or identity refusal as a SCIM error naming the SCIM attribute."""
    fields = exc.field_errors or {}
    if fields:
        detail = "; ".join(
            f"{SCIM_NAMES.get(f, f)}: {' '.join(messages)}" for f, messages in fields.items()
        )
    else:
        detail = exc.message
    unique = "already" in exc.message
    return ScimError(409 if unique else 400, detail, "uniqueness" if unique else "invalidValue")


# --- credentials -------------------------------------------------------------------------------


@transaction.atomic
def scim_credential_create(*, actor, name: str, days: int) -> tuple[ScimCredential, str]:
    """Make a credential for an identity provider; returns it and its secret, which is shown
    once and never stored (only its SHA-512 digest is). Administrators, or the operator's
    command (``actor=None``)."""
    if actor is not None:
        require_perm(actor, "provisioning.add_scimcredential")
    name = (name or "").strip()
    if not name:
        message = "Name the credential after the provider that will use it, e.g. “Entra ID”."
        raise ApplicationError(message, field_errors={"name": [message]})
    if len(name) > 100:
        message = "A credential's name has at most 100 characters."
        raise ApplicationError(message, field_errors={"name": [message]})
    if ScimCredential.objects.filter(name__iexact=name).exists():
        message = f"A SCIM credential named {name!r} already exists."
        raise ApplicationError(message, field_errors={"name": [message]})
    if not 1 <= days <= MAX_CREDENTIAL_DAYS:
        message = f"A SCIM credential lasts between 1 and {MAX_CREDENTIAL_DAYS} days."
        raise ApplicationError(message, field_errors={"days": [message]})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    credential = ScimCredential.objects.create(
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=_digest(secret),
        created_at=now,
        created_by=actor,
        expires_at=now + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=credential,
        changes=diff.created({"name": name, "prefix": credential.prefix, "days": days}),
        message=f"SCIM credential “{name}” made, "
        f"expires {credential.expires_at:%Y-%m-%d %H:%M} UTC",
    )
    return credential, secret


@transaction.atomic
def scim_credential_revoke(*, actor, credential: ScimCredential) -> ScimCredential:
    """Revoke a credential at once; it stays listed, named by the events it caused."""
    if actor is not None:
        require_perm(actor, "provisioning.change_scimcredential", credential)
    credential = ScimCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is not None:
        return credential
    credential.revoked_at = clock.now()
    credential.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.REVOKE,
        obj=credential,
        changes={"revoked_at": {"before": None, "after": credential.revoked_at.isoformat()}},
        message=f"SCIM credential “{credential.name}” revoked",
    )
    return credential


def scim_credential_authenticate(*, secret: str) -> ScimCredential:
    """The credential whose secret this is, usable now; notes its use (at most once a
    minute, not audited). Refusals say why without telling which part was wrong."""
    from apps.provisioning.selectors import scim_credential_by_prefix

    refused = ScimError(401, "The SCIM credential is not valid.")
    if not secret.startswith(SECRET_PREFIX) or len(secret) < PREFIX_LENGTH + 16:
        raise refused
    credential = scim_credential_by_prefix(secret[:PREFIX_LENGTH])
    if credential is None or not compare_digest(credential.digest, _digest(secret)):
        raise refused
    now = clock.now()
    if credential.revoked_at is not None:
        raise ScimError(401, f"The SCIM credential “{credential.name}” was revoked.")
    if credential.expires_at <= now:
        raise ScimError(
            401,
            f"The SCIM credential “{credential.name}” expired on "
            f"{credential.expires_at:%Y-%m-%d %H:%M} UTC; an administrator makes a new one.",
        )
    if credential.last_used_at is None or now - credential.last_used_at >= LAST_USED_RESOLUTION:
        ScimCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        credential.last_used_at = now
    return credential


# --- users -------------------------------------------------------------------------------------


def _roles_apply(links: Iterable[ScimUser]) -> None:
    """Set each user's roles from all the provider groups they are in (two queries a user:
    a handful of users per call)."""
    for link in links:
        names = [
            name
            for group in ScimGroup.objects.filter(members=link).order_by("pk")
            for name in group.mapping_names
        ]
        identity_roles_apply(user=link.user, groups=names, source="scim")


def _link_subject(user: User, external_id: str | None) -> None:
    """Let the user's first sign-in find them: the externalId is their OIDC subject."""
    issuer = getattr(settings, "MLGOV_OIDC_ISSUER", "")
    if issuer and external_id:
        identity_link(user=user, issuer=issuer, subject=external_id)


def _signed_in_before(external_id: str | None) -> User | None:
    """The account a single sign-on made for this subject before SCIM provisioned it."""
    issuer = getattr(settings, "MLGOV_OIDC_ISSUER", "")
    if not (issuer and external_id):
        return None
    identity = identity_find(issuer=issuer, subject=external_id)
    return identity.user if identity is not None else None


def _check_external_id(external_id: str | None, *, model, exclude_pk=None) -> None:
    if external_id is None:
        return
    clash = model.objects.filter(external_id=external_id)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ScimError(409, f"externalId {external_id!r} is already provisioned.", "uniqueness")


def _end_access(user: User, reason: str) -> None:
    """A deactivated account's sessions end now; its API tokens were revoked by the save
    (``User.save``)."""
    user_sessions_end(user=user, reason=reason)


def _link_audit(link: ScimUser, *, action: str, message: str) -> None:
    """Audit a user's SCIM link made or removed (the account's own changes audit themselves)."""
    state = {"user": link.user_id, "scim_id": str(link.scim_id), "external_id": link.external_id}
    audit_record(
        actor=None,
        action=action,
        obj=link,
        object_repr=f"SCIM user {link.user.get_username()}",
        changes=diff.created(state) if action == AuditEvent.Action.CREATE else diff.deleted(state),
        message=message,
    )


def _link_snapshot(link: ScimUser) -> dict:
    return {
        "external_id": link.external_id,
        "email_type": link.email_type,
        "email_primary": link.email_primary,
    }


@transaction.atomic
def scim_user_create(*, values: UserValues) -> ScimUser:
    """Provision an account. An existing account that no provider manages yet is taken
    over: the one a single sign-on made for this externalId (the OIDC subject), else the one
    with this userName (any case), e.g. a local account from before SCIM was switched on; it
    keeps its history. One already provisioned is a conflict."""
    _check_external_id(values.external_id, model=ScimUser)
    existing = _signed_in_before(values.external_id) or (
        User.objects.filter(username__iexact=values.username).first()
    )
    try:
        if existing is None:
            user = user_create(
                actor=None,
                username=values.username,
                message="Provisioned by SCIM",
                **values.profile(),
            )
        elif ScimUser.objects.filter(user=existing).exists():
            raise ScimError(
                409, f"userName {values.username!r} is already provisioned.", "uniqueness"
            )
        else:
            user = user_update(
                actor=None, user=existing, username=values.username, **values.profile()
            )
        _link_subject(user, values.external_id)
    except ApplicationError as exc:
        raise scim_error_of(exc) from exc
    now = clock.now()
    link = ScimUser.objects.create(
        user=user,
        external_id=values.external_id,
        email_type=values.email_type,
        email_primary=values.email_primary,
        created=now,
        modified=now,
    )
    _link_audit(
        link,
        action=AuditEvent.Action.CREATE,
        message=f"{user.get_username()} "
        + (
            "provisioned by SCIM"
            if existing is None
            else "(an existing account) now provisioned by SCIM"
        ),
    )
    if values.is_active is False:
        _end_access(user, "deactivated by SCIM")
    _roles_apply([link])
    return link


@transaction.atomic
def scim_user_update(*, link: ScimUser, values: UserValues) -> ScimUser:
    """Replace a provisioned account's attributes (PUT, or PATCH after its operations).
    ``active: false`` deactivates it: sessions end, API tokens are revoked, at once."""
    link = ScimUser.objects.select_for_update().select_related("user").get(pk=link.pk)
    _check_external_id(values.external_id, model=ScimUser, exclude_pk=link.pk)
    clash = User.objects.filter(username__iexact=values.username).exclude(pk=link.user_id)
    if clash.exists():
        raise ScimError(409, f"userName {values.username!r} is already taken.", "uniqueness")
    try:
        user = user_update(
            actor=None,
            user=link.user,
            deactivated_by="SCIM",
            username=values.username,
            **values.profile(),
        )
        _link_subject(user, values.external_id)
    except ApplicationError as exc:
        raise scim_error_of(exc) from exc
    before = _link_snapshot(link)
    link.external_id = values.external_id
    link.email_type = values.email_type
    link.email_primary = values.email_primary
    link.modified = clock.now()
    link.user = user
    link.save()
    changes = diff.diff(before, _link_snapshot(link))
    if changes:
        audit_record(actor=None, action=AuditEvent.Action.UPDATE, obj=link, changes=changes)
    return link


@transaction.atomic
def scim_user_delete(*, link: ScimUser) -> None:
    """A SCIM DELETE: the account is deactivated (sessions end, tokens are revoked) and no
    longer provisioned; it, its history and its signatures stay. Its groups' roles go."""
    link = ScimUser.objects.select_for_update().select_related("user").get(pk=link.pk)
    user = link.user
    if user.is_active:
        user = user_update(actor=None, user=user, deactivated_by="a SCIM delete", is_active=False)
    _end_access(user, "deleted by SCIM")
    _link_audit(
        link,
        action=AuditEvent.Action.DELETE,
        message=f"{user.get_username()} deleted by SCIM: deactivated, history and signatures kept",
    )
    link.groups.clear()
    link.delete()
    identity_roles_apply(user=user, groups=(), source="scim")


# --- groups ------------------------------------------------------------------------------------


def _members(member_ids: tuple[str, ...]) -> list[ScimUser]:
    from apps.provisioning.selectors import scim_users_by_ids

    found = scim_users_by_ids(member_ids)
    missing = [m for m in member_ids if m not in found]
    if missing:
        raise ScimError(
            400, f"members: no provisioned user has the id {missing[0]!r}.", "invalidValue"
        )
    return [found[m] for m in member_ids]


def _check_group_name(values: GroupValues, *, exclude_pk=None) -> None:
    clash = ScimGroup.objects.filter(display_name__iexact=values.display_name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ScimError(
            409, f"displayName {values.display_name!r} is already a group.", "uniqueness"
        )
    _check_external_id(values.external_id, model=ScimGroup, exclude_pk=exclude_pk)


def _group_snapshot(group: ScimGroup, members: Iterable[ScimUser]) -> dict:
    """What the audit trail records of a group: its names and its members' usernames."""
    return {
        "display_name": group.display_name,
        "external_id": group.external_id,
        "members": sorted(link.user.get_username() for link in members),
    }


@transaction.atomic
def scim_group_create(*, values: GroupValues) -> ScimGroup:
    _check_group_name(values)
    members = _members(values.member_ids or ())
    now = clock.now()
    group = ScimGroup.objects.create(
        display_name=values.display_name,
        external_id=values.external_id,
        created=now,
        modified=now,
    )
    group.members.set(members)
    audit_record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=group,
        changes=diff.created(_group_snapshot(group, members)),
        message=f"Provider group “{group.display_name}” provisioned by SCIM",
    )
    _roles_apply(members)
    return group


@transaction.atomic
def scim_group_update(*, group: ScimGroup, values: GroupValues) -> ScimGroup:
    """Replace a group's name, externalId and (when given) members; the roles of everyone
    who joined or left, and of every member when the name changed, follow."""
    group = ScimGroup.objects.select_for_update().get(pk=group.pk)
    _check_group_name(values, exclude_pk=group.pk)
    old_members = list(group.members.select_related("user"))
    new_members = old_members if values.member_ids is None else _members(values.member_ids)
    before = _group_snapshot(group, old_members)
    renamed = (group.display_name, group.external_id) != (values.display_name, values.external_id)
    group.display_name = values.display_name
    group.external_id = values.external_id
    group.modified = clock.now()
    group.save()
    if values.member_ids is not None:
        group.members.set(new_members)
    changes = diff.diff(
        before,
        _group_snapshot(group, new_members),
    )
    if not changes:
        return group
    audit_record(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        obj=group,
        changes=changes,
        message=f"Provider group “{group.display_name}” changed by SCIM",
    )
    old_ids = {m.pk for m in old_members}
    new_ids = {m.pk for m in new_members}
    touched = {
        m.pk: m
        for m in [*old_members, *new_members]
        if renamed or (m.pk in old_ids) != (m.pk in new_ids)
    }
    _roles_apply(sorted(touched.values(), key=lambda m: m.pk))
    return group


@transaction.atomic
def scim_group_delete(*, group: ScimGroup) -> None:
    """The provider deleted the group: its members lose the roles it gave them."""
    group = ScimGroup.objects.select_for_update().get(pk=group.pk)
    members = list(group.members.select_related("user"))
    audit_record(
        actor=None,
        action=AuditEvent.Action.DELETE,
        obj=group,
        changes=diff.deleted(_group_snapshot(group, members)),
        message=f"Provider group “{group.display_name}” deleted by SCIM",
    )
    group.delete()
    _roles_apply(members)
