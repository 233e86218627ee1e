"""Writes to user accounts, their roles, API tokens and lockouts. Keyword-only, atomic,
audited in the same transaction.

``actor=None`` means the system itself (a management command run by the operator, such as
``seed_demo``); it is recorded as "system". Views and the admin always pass the request's
user, which the rules check like any other actor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest

from apps.accounts.choices import TokenScope
from apps.accounts.models import AuthToken, User
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_update
from apps.core import clock, context, roles
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm, validate_instance

# Fields an administrator may set on an account. ``is_staff`` follows the admin role and
# ``is_superuser`` is never set: the admin site is gated by role, not by superuser status.
USER_EDITABLE_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "job_title",
    "timezone",
    "is_active",
)
USER_AUDITED_FIELDS = (*USER_EDITABLE_FIELDS, "is_staff")


def _require(actor, perm: str, obj=None) -> None:
    if actor is not None:
        require_perm(actor, perm, obj)


def _snapshot(user: User) -> dict[str, Any]:
    return diff.snapshot(user, USER_AUDITED_FIELDS)


def _role_groups(names: Iterable[str]) -> list[Group]:
    names = sorted(set(names))
    unknown = [n for n in names if n not in roles.ALL_ROLES]
    if unknown:
        message = f"Unknown role(s): {', '.join(unknown)}."
        raise ApplicationError(message, field_errors={"roles": [message]})
    return list(Group.objects.filter(name__in=names))


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    password: str | None = None,
    role_names: Iterable[str] = (),
    message: str = "",
    **data: Any,
) -> User:
    """Create an account with the given roles. Without a password the account cannot log in
    until one is set. ``message`` says in the audit event how the account came to be (e.g.
    at a first sign-in through the identity provider)."""
    _require(actor, "accounts.add_user")
    reject_unknown_fields(data, USER_EDITABLE_FIELDS)
    if User.objects.filter(username__iexact=username).exists():
        message = f"A user named {username!r} already exists."
        raise ApplicationError(message, field_errors={"username": [message]})
    groups = _role_groups(role_names)
    user = User(username=username, **data)
    user.is_staff = roles.ADMIN in {g.name for g in groups}
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    validate_instance(user, exclude=["password"])
    user.save()
    user.groups.set(groups)
    changes = diff.created(_snapshot(user))
    changes["roles"] = {"before": None, "after": sorted(g.name for g in groups)}
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=user,
        changes=changes,
        message="; ".join(m for m in (message, "Password set" if password else "") if m),
    )
    return user


@transaction.atomic
def user_update(*, actor, user: User, deactivated_by: str = "", **data: Any) -> User:
    """Edit an account's profile fields and active flag. A deactivation ends the account's
    browser sessions at once (its API tokens are revoked by ``User.save``), whoever made it:
    the admin site, SCIM or the API (``deactivated_by`` names it in the sessions' audit
    event when the actor does not, e.g. "SCIM")."""
    _require(actor, "accounts.change_user", user)
    reject_unknown_fields(data, USER_EDITABLE_FIELDS)
    user, changes = audited_update(
        user,
        actor=actor,
        data=data,
        fields=USER_AUDITED_FIELDS,
        check=lambda _, user: _refuse_own_deactivation(actor, user),
        exclude=["password"],
    )
    if changes.get("is_active", {}).get("after") is False:
        reason = f"deactivated by {deactivated_by}" if deactivated_by else "account deactivated"
        user_sessions_end(user=user, reason=reason, actor=actor)
    return user


def _refuse_own_deactivation(actor, user: User) -> None:
    if actor is not None and user.pk == actor.pk and not user.is_active:
        message = "You cannot deactivate your own account."
        raise ApplicationError(message, field_errors={"is_active": [message]})


@transaction.atomic
def user_set_roles(
    *, actor, user: User, role_names: Iterable[str], message: str = "Roles changed"
) -> User:
    """Replace a user's roles. ``is_staff`` follows the admin role (it opens the admin site).
    ``message`` says in the audit event who or what changed them (e.g. the identity provider's
    groups) when that is not the actor."""
    _require(actor, "accounts.change_user", user)
    user = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
    groups = _role_groups(role_names)
    new_names = sorted(g.name for g in groups)
    old_names = sorted(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True))
    removes_own_admin = roles.ADMIN in old_names and roles.ADMIN not in new_names
    if actor is not None and user.pk == actor.pk and removes_own_admin:
        message = "You cannot remove your own administrator role."
        raise ApplicationError(message, field_errors={"roles": [message]})
    is_staff = roles.ADMIN in new_names
    if new_names == old_names and user.is_staff == is_staff:
        return user
    changes: dict[str, Any] = {}
    if new_names != old_names:
        changes["roles"] = {"before": old_names, "after": new_names}
        other_groups = user.groups.exclude(name__in=roles.ALL_ROLES)
        user.groups.set([*other_groups, *groups])
    if user.is_staff != is_staff:
        changes["is_staff"] = {"before": user.is_staff, "after": is_staff}
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_mlgov_roles", None)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=user,
        changes=changes,
        message=message,
    )
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str | None) -> User:
    """Set a user's password (an administrator's reset); ``None`` disables password login.
    The password itself is never recorded."""
    _require(actor, "accounts.change_user", user)
    if password is not None and not password:
        raise ApplicationError(
            "Enter a password.", field_errors={"password": ["Enter a password."]}
        )
    return _store_password(
        actor=actor,
        user=user,
        password=password,
        message="Password set" if password is not None else "Password login disabled",
    )


def _store_password(*, actor, user: User, password: str | None, message: str) -> User:
    """Set (``None``: disable) and save ``user``'s password and audit it without the password;
    saving revokes the user's API tokens (``User.save``)."""
    user = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=user,
        changes={"password": {"before": "(hidden)", "after": "(changed)"}},
        message=message,
    )
    return user


@transaction.atomic
def user_change_own_password(*, user: User, password: str) -> User:
    """A signed-in user's own password change (the old one was checked by the form). Like an
    administrator's reset it is audited, without the password, and revokes the user's API
    tokens (``User.save``)."""
    return _store_password(actor=user, user=user, password=password, message="Own password changed")


# --- API tokens ------------------------------------------------------------------------------

TOKEN_AUDITED_FIELDS = ("name", "user", "token_key", "scope", "expiry", "created_by")


def _token_snapshot(token: AuthToken) -> dict[str, Any]:
    return diff.snapshot(token, TOKEN_AUDITED_FIELDS)


@transaction.atomic
def auth_token_create(
    *,
    actor,
    user: User,
    name: str,
    expires_days: int | None = None,
    scope: str = TokenScope.API,
) -> tuple[AuthToken, str]:
    """Make a named API token for ``user``; returns the row and the key, which is shown once
    and never stored (only its SHA-512 digest is). Users make their own tokens; the operator's
    command (``actor=None``) makes them for anyone. Nobody makes a key for someone else in the
    browser, where they could then act as that person. ``scope`` (``TokenScope``) limits
    what the key opens: ``lineage`` keys reach only the OpenLineage intake."""
    if actor is not None:
        require_perm(actor, "accounts.add_authtoken")
        if actor.pk != user.pk:
            raise ApplicationError("API tokens are made by their owner.")
    name = (name or "").strip()
    if not name:
        message = "Name the token after what will use it, e.g. “CI pipeline”."
        raise ApplicationError(message, field_errors={"name": [message]})
    if not user.is_active:
        raise ApplicationError(f"{user.get_username()} is deactivated and cannot have tokens.")
    if scope not in TokenScope.values:
        message = f"Unknown scope {scope!r}; choose one of: {', '.join(TokenScope.values)}."
        raise ApplicationError(message, field_errors={"scope": [message]})
    days = settings.MLGOV_TOKEN_TTL_DAYS if expires_days is None else expires_days
    if not 1 <= days <= settings.MLGOV_TOKEN_MAX_TTL_DAYS:
        message = f"A token lasts between 1 and {settings.MLGOV_TOKEN_MAX_TTL_DAYS} days."
        raise ApplicationError(message, field_errors={"expires_days": [message]})
    token, key = AuthToken.objects.create(
        user=user,
        expiry=timedelta(days=days),
        name=name[:100],
        created_by=actor,
        scope=scope,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=token,
        object_repr=str(token),
        changes=diff.created(_token_snapshot(token)),
        message=f"API token “{token.name}” made for {user.get_username()}, scope "
        f"{token.scope}, expires {token.expiry:%Y-%m-%d %H:%M} UTC",
    )
    return token, key


def _revoke(*, actor, token: AuthToken, reason: str) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.REVOKE,
        obj=token,
        object_repr=str(token),
        changes=diff.deleted(_token_snapshot(token)),
        message=f"API token “{token.name}” of {token.user.get_username()} revoked: {reason}",
    )
    token.delete()


@transaction.atomic
def auth_token_revoke(*, actor, token: AuthToken) -> None:
    """Revoke one token: its owner or an administrator. The row goes; the audit event stays."""
    token = (
        AuthToken.objects.select_for_update(of=("self",)).select_related("user").get(pk=token.pk)
    )
    _require(actor, "accounts.delete_authtoken", token)
    who = "by its owner" if actor is not None and actor.pk == token.user_id else "by an admin"
    _revoke(actor=actor, token=token, reason=who if actor is not None else "by the operator")


@transaction.atomic
def auth_tokens_revoke_all(
    *, user: User, reason: str, actor=None, keep: AuthToken | None = None
) -> int:
    """Revoke every token of ``user`` (but ``keep``), e.g. on a password change or a
    deactivation, which revoke by themselves whoever caused them. Returns how many."""
    tokens = (
        AuthToken.objects.select_for_update(of=("self",)).filter(user=user).select_related("user")
    )
    if keep is not None:
        tokens = tokens.exclude(pk=keep.pk)
    revoked = 0
    for token in tokens:
        _revoke(actor=actor, token=token, reason=reason)
        revoked += 1
    return revoked


# --- failed sign-ins, signatures and lockouts -----------------------------------------------


class LockedOut(ApplicationError):
    """The account is locked after repeated wrong passwords; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignatureAttempt:
    """What a re-entered password was meant to sign, for the audit event of a failure."""

    obj: Any
    model_ref: int | None
    description: str


def _user_named(username: str) -> User | None:
    if not username:
        return None
    return User.objects.filter(username=username).first()


def _attempted(username: str) -> str:
    # The attempted username is recorded (it is what an investigator looks for); it is
    # cut short because a password typed into the username box would otherwise be kept whole.
    return repr(username[:150])


@transaction.atomic
def login_failure_record(
    *, username: str, signature: SignatureAttempt | None = None, locked: bool = False
) -> None:
    """Audit one failed sign-in (``login_failed``) or failed signature (``signature_failed``).

    The actor is the account when it exists, else the system with the attempted username in
    the message. The attempted password is never passed here; the client address is stamped
    by the audit context.
    """
    user = _user_named(username)
    if signature is not None:
        why = "the account is locked out" if locked else "wrong password"
        audit_record(
            actor=user,
            action=AuditEvent.Action.SIGNATURE_FAILED,
            obj=signature.obj,
            model_ref=signature.model_ref,
            message=f"Signature refused ({why}) for {signature.description}; nothing was signed",
        )
        return
    why = "the username is locked out" if locked else "wrong username or password"
    audit_record(
        actor=user,
        action=AuditEvent.Action.LOGIN_FAILED,
        obj=user,
        object_type="" if user else "accounts.user",
        object_repr="" if user else username[:150],
        message=f"Sign-in refused ({why}) for username {_attempted(username)}",
    )


@transaction.atomic
def signature_refused(*, user: User, signature: SignatureAttempt, reason: str) -> None:
    """Audit a signature refused for another reason than the password (a re-authentication
    at the identity provider that failed a check); nothing was signed."""
    audit_record(
        actor=user,
        action=AuditEvent.Action.SIGNATURE_FAILED,
        obj=signature.obj,
        model_ref=signature.model_ref,
        message=f"Signature refused ({reason.rstrip('.')}) for {signature.description}; "
        "nothing was signed",
    )


@transaction.atomic
def login_break_glass_record(*, user: User) -> None:
    """Audit a sign-in with a local password while passwords are switched off: only a
    break-glass account gets this far (``MLGOV_BREAK_GLASS_USERS``), and each use is looked at."""
    audit_record(
        actor=user,
        action=AuditEvent.Action.LOGIN,
        obj=user,
        message=f"Break-glass sign-in with a local password by {user.get_username()} "
        "(local passwords are switched off: MLGOV_LOCAL_LOGIN=false)",
    )


@transaction.atomic
def lockout_record(*, username: str, ip_address: str, rules: list) -> None:
    """Audit that repeated failures have just locked a username (and/or an address)."""
    user = _user_named(username)
    reached = "; ".join(
        f"{rule.limit} failures by {rule.label} within {int(rule.cooloff.total_seconds() // 60)}"
        " min"
        for rule in rules
    )
    audit_record(
        actor=user,
        action=AuditEvent.Action.LOCKOUT,
        obj=user,
        object_type="" if user else "accounts.user",
        object_repr="" if user else username[:150],
        changes={"locked": {"before": False, "after": True}},
        message=f"Sign-in and signing locked for username {_attempted(username)}"
        f" (address {ip_address or 'unknown'}): {reached or 'limit reached'}",
    )


@transaction.atomic
def lockout_lift_recorded(*, actor, username: str, ip_address: str, count: int) -> None:
    """Audit failures cleared, whether by an administrator's lift or the operator's command."""
    user = _user_named(username)
    parts = [f"username {_attempted(username)}" if username else "", ip_address]
    what = " from address ".join(p for p in parts if p) or "every username and address"
    via = "" if actor is not None else " by the operator (manage.py axes_reset*)"
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UNLOCK,
        obj=user,
        object_type="" if user else "accounts.user",
        object_repr="" if user else (username or ip_address or "all")[:150],
        changes={"failures_cleared": {"before": count, "after": 0}},
        message=f"Lockout lifted{via} for {what}",
    )


@transaction.atomic
def lockout_lift(*, actor, username: str = "", ip_address: str = "") -> int:
    """An administrator lifts a lockout: the username's failures from every address, an
    address's failures on every username, or the pair. Returns the rows cleared."""
    from axes.models import AccessAttempt

    require_perm(actor, "accounts.lift_lockout")
    if not username and not ip_address:
        raise ApplicationError("Name the username or the address to unlock.")
    attempts = AccessAttempt.objects.all()
    if username:
        attempts = attempts.filter(username=username)
    if ip_address:
        attempts = attempts.filter(ip_address=ip_address)
    count = attempts.count()
    if not count:
        raise ApplicationError("There is no lockout or failure to lift for that.")
    attempts.delete()
    lockout_lift_recorded(actor=actor, username=username, ip_address=ip_address, count=count)
    return count


def _axes_request(source: HttpRequest | None, *, path: str) -> HttpRequest:
    """A private request for axes, with the caller's address, agent and path.

    Private so that axes' lockout flag does not reach the caller's response (its middleware
    would swap any flagged response for the sign-in lockout page); the caller answers itself.
    Without a request (a service called from a task or a test) the audit context's address
    is used.
    """
    probe = HttpRequest()
    probe.method = "POST"
    probe.path = probe.path_info = source.path if source is not None else path
    if source is not None:
        for name in ("REMOTE_ADDR", "HTTP_X_FORWARDED_FOR", "HTTP_USER_AGENT", "HTTP_ACCEPT"):
            if name in source.META:
                probe.META[name] = source.META[name]
    else:
        probe.META["REMOTE_ADDR"] = context.current().client_ip
    return probe


def password_reauthenticate(
    *,
    user: User,
    password: str,
    signature: SignatureAttempt,
    http_request: HttpRequest | None = None,
) -> None:
    """Check a re-entered password (an electronic signature) as a sign-in would.

    It goes through ``authenticate()``, so a wrong password counts toward the same lockout
    as failed sign-ins (and is audited as ``signature_failed``), and a locked account cannot
    sign even with the right password. Must not run inside the caller's transaction: a
    refusal rolls that back, and the failure must stay counted and audited.
    """
    message = "The password is not correct; your signature was not recorded."
    if not password:  # no guess was made: refused without counting
        raise ApplicationError(message, field_errors={"password": [message]})
    probe = _axes_request(http_request, path="/signature/")
    probe.mlgov_signature = signature
    # Axes' backend refuses a locked account before the password is checked; a refusal or a
    # wrong password fires user_login_failed, which axes counts and mlgov audits.
    signed = authenticate(request=probe, username=user.get_username(), password=password)
    if signed is not None and signed.pk == user.pk:
        return
    if getattr(probe, "axes_locked_out", False):
        raise _locked_out()
    raise ApplicationError(message, field_errors={"password": [message]})


def _locked_out() -> LockedOut:
    from apps.accounts.lockout import axes_cooloff

    cooloff = axes_cooloff()
    minutes = int(cooloff.total_seconds() // 60)
    return LockedOut(
        "Too many wrong passwords: signing and signing in are locked for this account for "
        f"{minutes} minutes after the last attempt, or until an administrator lifts the "
        "lockout. Nothing was signed.",
        retry_after=int(cooloff.total_seconds()),
    )


# --- sessions ----------------------------------------------------------------------------------


@transaction.atomic
def user_sessions_end(*, user: User, reason: str, actor=None) -> int:
    """End every browser session of ``user`` at once (e.g. on a deactivation by the identity
    provider): their next page asks them to sign in. Returns how many ended; audited when any.

    Sessions are found by reading the ones not yet expired (a session row does not index its
    user); deactivations are rare, and an expired session opens nothing anyway.
    """
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    from apps.accounts.sessions import SessionStore

    store = SessionStore()
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=clock.now()).iterator()
        if str(store.decode(session.session_data).get(SESSION_KEY)) == str(user.pk)
    ]
    if not ended:
        return 0
    Session.objects.filter(pk__in=ended).delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.REVOKE,
        obj=user,
        changes={"sessions": {"before": len(ended), "after": 0}},
        message=f"{len(ended)} session(s) of {user.get_username()} ended: {reason}",
    )
    return len(ended)
