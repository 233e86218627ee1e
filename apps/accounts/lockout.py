"""Lockout after repeated wrong passwords, on top of django-axes.

Axes records each failure per (username, address, user agent) and locks when the failures
counted under one of its parameter sets reach a single limit. mlgov counts under several
rules, each with its own limit and cool-off (``settings.MLGOV_LOCKOUT_RULES``):

* a username from one address (few guesses: a user's own typos);
* a username from every address together, so a new source address buys no more guesses;
* optionally an address across all usernames (password spraying), off unless configured,
  because staff behind one proxy or NAT share an address.

Failures come from the sign-in pages and from electronic signatures (``password_reauthenticate``
in services), which go through ``django.contrib.auth.authenticate`` like a sign-in, so both
count toward the same lockout and either one locked blocks the other. Every failure, every
lockout and every lift is written to the audit trail from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_parameters, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

from apps.core import clock

PARAMETER_LABELS = {
    ("username", "ip_address"): "username from one address",
    ("username",): "username from any address",
    ("ip_address",): "address, any username",
}


@dataclass(frozen=True)
class LockoutRule:
    """Lock when ``limit`` failures matching ``parameters`` fall within ``cooloff`` of each
    other (axes keeps one row per username, address and user agent with the time of its
    latest failure; a row counts while that time is within the cool-off)."""

    parameters: tuple[str, ...]
    limit: int
    cooloff: timedelta

    @property
    def label(self) -> str:
        return PARAMETER_LABELS.get(self.parameters, " + ".join(self.parameters))


def lockout_rules() -> list[LockoutRule]:
    """The active rules, in the order of ``AXES_LOCKOUT_PARAMETERS``."""
    return [
        LockoutRule(tuple(params), limit, timedelta(minutes=minutes))
        for params, limit, minutes in settings.MLGOV_LOCKOUT_RULES
        if limit > 0
    ]


def axes_lockout_parameters(request=None, credentials=None) -> list[list[str]]:
    """``AXES_LOCKOUT_PARAMETERS``: one parameter set per active rule."""
    return [list(rule.parameters) for rule in lockout_rules()]


def axes_failure_limit(request=None, credentials=None) -> int:
    """``AXES_FAILURE_LIMIT``: the first rule's limit, the scale of ``get_failures``."""
    return lockout_rules()[0].limit


def axes_cooloff(request=None) -> timedelta:
    """``AXES_COOLOFF_TIME``: axes keeps failures for the longest cool-off; each rule then
    counts only those within its own."""
    return max(rule.cooloff for rule in lockout_rules())


def _rule_counts(request, credentials: dict | None) -> list[tuple[LockoutRule, int]]:
    """Each active rule with the failures it counts for this request's username and address."""
    username = get_client_username(request, credentials)
    filters = get_client_parameters(
        username, request.axes_ip_address, request.axes_user_agent, request, credentials
    )
    at = request.axes_attempt_time or clock.now()
    counts = []
    for rule, filter_kwargs in zip(lockout_rules(), filters, strict=True):
        attempts = AccessAttempt.objects.filter(
            **filter_kwargs, attempt_time__gte=at - rule.cooloff
        )
        counts.append((rule, attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0))
    return counts


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit and cool-off per rule, and the audit trail."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """Failures on axes' single scale: ``AXES_FAILURE_LIMIT`` or more means locked.

        Each rule's count is shifted by the difference between its limit and axes' limit, so
        that the result reaches axes' limit exactly when some rule reaches its own. For the
        first rule (whose limit is axes' limit) it is the plain count.
        """
        base = axes_failure_limit()
        shifted = [count - rule.limit + base for rule, count in _rule_counts(request, credentials)]
        return max([0, *shifted])

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """After a successful sign-in, forget only that user's failures from that address.

        Axes would also clear the username's failures from every address and the address's
        failures on every username, so an attacker could reset the counters by signing in to
        an account of their own.
        """
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return count

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        """Count the failure (axes), then audit it, and the lockout if this one started it."""
        if request is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        was_locked = self.is_locked(request, credentials)
        super().user_login_failed(sender, credentials, request, **kwargs)
        if getattr(request, "mlgov_failure_audited", False):
            # Audited with its reason by whatever refused it (a sign-in through the
            # identity provider), which had no username or password to record here.
            return
        from apps.accounts import services

        username = get_client_username(request, credentials) or ""
        services.login_failure_record(
            username=username,
            signature=getattr(request, "mlgov_signature", None),
            locked=was_locked,
        )
        if request.axes_locked_out and not was_locked:
            services.lockout_record(
                username=username,
                ip_address=request.axes_ip_address or "",
                rules=self.rules_reached(request, credentials),
            )

    def rules_reached(self, request, credentials: dict | None = None) -> list[LockoutRule]:
        return [rule for rule, count in _rule_counts(request, credentials) if count >= rule.limit]

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """The operator's ``axes_reset*`` commands: cleared failures are audited as lifts."""
        count = super().reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )
        if count:
            from apps.accounts import services

            services.lockout_lift_recorded(
                actor=None, username=username or "", ip_address=ip_address or "", count=count
            )
        return count
