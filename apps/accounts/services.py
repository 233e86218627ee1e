"""Writes to user accounts and their roles. Keyword-only, atomic, audited in the same transaction.

``actor=None`` means the system itself (a management command run by the operator, such as
``seed_demo``); it is recorded as "system". Views and the admin always pass the request's
user, which the rules check like any other actor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts import roles
from apps.accounts.models import User
from apps.audit import diff
from apps.audit.services import audit_record
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
    **data: Any,
) -> User:
    """Create an account with the given roles. Without a password the account cannot log in
    until one is set."""
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
        action="create",
        obj=user,
        changes=changes,
        message="Password set" if password else "",
    )
    return user


@transaction.atomic
def user_update(*, actor, user: User, **data: Any) -> User:
    """Edit an account's profile fields and active flag."""
    _require(actor, "accounts.change_user", user)
    reject_unknown_fields(data, USER_EDITABLE_FIELDS)
    user = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
    before = _snapshot(user)
    for name, value in data.items():
        setattr(user, name, value)
    if actor is not None and user.pk == actor.pk and not user.is_active:
        message = "You cannot deactivate your own account."
        raise ApplicationError(message, field_errors={"is_active": [message]})
    validate_instance(user, exclude=["password"])
    user.save()
    changes = diff.diff(before, _snapshot(user))
    if changes:
        audit_record(actor=actor, action="update", obj=user, changes=changes)
    return user


@transaction.atomic
def user_set_roles(*, actor, user: User, role_names: Iterable[str]) -> User:
    """Replace a user's roles. ``is_staff`` follows the admin role (it opens the admin site)."""
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
    audit_record(actor=actor, action="update", obj=user, changes=changes, message="Roles changed")
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
    user = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        action="update",
        obj=user,
        changes={"password": {"before": "(hidden)", "after": "(changed)"}},
        message="Password set" if password is not None else "Password login disabled",
    )
    return user
