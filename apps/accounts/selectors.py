"""Reads for accounts: API tokens and current lockouts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.db.models import Max, QuerySet, Sum

from apps.accounts.lockout import LockoutRule, lockout_rules
from apps.accounts.models import AuthToken, User
from apps.core import clock


def auth_tokens_of(*, user: User) -> QuerySet[AuthToken]:
    """A user's tokens, newest first (expired ones too, until revoked)."""
    return AuthToken.objects.filter(user=user).select_related("user", "created_by")


def auth_tokens_all() -> QuerySet[AuthToken]:
    """Everyone's tokens, for administrators: by user, newest first."""
    return (
        AuthToken.objects.select_related("user", "created_by")
        .order_by("user__username", "-created")
        .all()
    )


def auth_token_get(*, user: User, pk) -> AuthToken:
    """A token the user may act on (their own; any for an administrator), or 404."""
    tokens = AuthToken.objects.select_related("user")
    if not user.has_perm("accounts.view_all_authtokens"):
        tokens = tokens.filter(user=user)
    return tokens.get(pk=pk)


@dataclass(frozen=True)
class Lockout:
    """A username and/or address that is locked now, under one rule."""

    rule: LockoutRule
    username: str
    ip_address: str
    failures: int
    last_failure: datetime

    @property
    def until(self) -> datetime:
        return self.last_failure + self.rule.cooloff


def lockouts_active() -> list[Lockout]:
    """Every lockout in force: one aggregate query per rule, whatever the history's size."""
    now = clock.now()
    found: list[Lockout] = []
    for rule in lockout_rules():
        rows = (
            AccessAttempt.objects.filter(attempt_time__gte=now - rule.cooloff)
            .values(*rule.parameters)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=rule.limit)
            .order_by("-last")
        )
        for row in rows:
            found.append(
                Lockout(
                    rule=rule,
                    username=row.get("username") or "",
                    ip_address=row.get("ip_address") or "",
                    failures=row["failures"],
                    last_failure=row["last"],
                )
            )
    return sorted(found, key=lambda lock: lock.last_failure, reverse=True)
