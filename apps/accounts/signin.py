"""Who may sign in how: local passwords, and sign-in through an external identity provider.

The provider's app (apps.identity, a higher layer) registers its sign-in here in its
``AppConfig.ready()``, so the sign-in page can offer it and signing out can end the session
at the provider too, without the accounts app importing it (the layers, ``.importlinter``).

Local passwords stay on by default. ``MLGOV_LOCAL_LOGIN=false`` switches them off for
everyone but the break-glass accounts named in ``MLGOV_BREAK_GLASS_USERS``: kept for the day
the provider is down, and every one of their sign-ins is audited as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest


@dataclass(frozen=True)
class ExternalSignIn:
    """An identity provider's sign-in, as the sign-in page and sign-out use it.

    - ``enabled()``: whether it is configured now;
    - ``label()``: the button's words, e.g. "Sign in with Okta";
    - ``url``: the URL name of the view that starts it;
    - ``end_session_url(request)``: where signing out continues to end the provider's session
      too (RP-initiated logout), read while the mlgov session still exists; None for none.
    """

    enabled: Callable[[], bool]
    label: Callable[[], str]
    url: str
    end_session_url: Callable[[HttpRequest], str | None]


_external: list[ExternalSignIn] = []


def register_external(entry: ExternalSignIn) -> None:
    """Register the provider's sign-in (once; a second registration replaces the first)."""
    _external[:] = [entry]


def external() -> ExternalSignIn | None:
    """The provider's sign-in when one is registered and configured."""
    for entry in _external:
        if entry.enabled():
            return entry
    return None


def local_login_enabled() -> bool:
    return bool(settings.MLGOV_LOCAL_LOGIN)


def is_break_glass(username: str) -> bool:
    """A break-glass account: signs in with a local password when passwords are off."""
    return bool(username) and username in settings.MLGOV_BREAK_GLASS_USERS


def local_login_allowed(username: str) -> bool:
    """Whether ``username`` may sign in (or sign) with a local password."""
    return local_login_enabled() or is_break_glass(username)
