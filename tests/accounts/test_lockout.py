"""Lockout after repeated wrong passwords: per username from one address, per username from
every address together (a new address buys no more guesses), optionally per address across
usernames; each failure and each lockout in the audit trail, without the password."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
WRONG = "Tr0ub4dor&3-not-it"
LOGIN = reverse("accounts:login")


@pytest.fixture(autouse=True)
def _default_rules(settings):
    settings.MLGOV_LOCKOUT_RULES = [
        (("username", "ip_address"), 5, 15),
        (("username",), 10, 15),
        (("ip_address",), 0, 15),
    ]


def attempt(client, username: str, password: str, ip: str):
    client.logout()
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("dashboard:home")


def locked(response) -> bool:
    return response.status_code == 429 and b"Too many failed sign-in attempts" in response.content


def test_a_new_address_buys_no_more_guesses(client, validator):
    # Two guesses from each of five addresses: no address reaches its 5, the username its 10.
    for n in range(5):
        for _ in range(2):
            assert not signed_in(attempt(client, validator.username, WRONG, f"203.0.113.{n}"))
    assert locked(attempt(client, validator.username, PASSWORD, "198.51.100.77"))
    assert "_auth_user_id" not in client.session


def test_the_same_guesses_spread_thinner_still_count(client, validator):
    for n in range(9):
        attempt(client, validator.username, WRONG, f"203.0.113.{n}")
    # Nine failures: not yet locked; the owner signs in from their own address.
    assert signed_in(attempt(client, validator.username, PASSWORD, "198.51.100.77"))


def test_one_address_is_locked_after_its_own_limit(client, validator):
    for _ in range(5):
        attempt(client, validator.username, WRONG, "203.0.113.1")
    assert locked(attempt(client, validator.username, PASSWORD, "203.0.113.1"))
    # The username's own limit (10) is not reached: from elsewhere the owner still signs in.
    assert signed_in(attempt(client, validator.username, PASSWORD, "198.51.100.77"))


def test_a_success_clears_only_the_users_own_failures(client, validator):
    for n in range(4):
        attempt(client, validator.username, WRONG, f"203.0.113.{n}")  # an attacker, 4 addresses
    for _ in range(3):
        attempt(client, validator.username, WRONG, "198.51.100.77")  # the owner's typos
    assert signed_in(attempt(client, validator.username, PASSWORD, "198.51.100.77"))
    # The attacker's 4 still count: 6 more from anywhere lock the username.
    for n in range(6):
        attempt(client, validator.username, WRONG, f"192.0.2.{n}")
    assert locked(attempt(client, validator.username, PASSWORD, "198.51.100.77"))


def test_an_address_rule_stops_password_spraying_when_configured(client, settings, db):
    from tests.factories import UserFactory

    settings.MLGOV_LOCKOUT_RULES = [
        (("username", "ip_address"), 5, 15),
        (("username",), 10, 15),
        (("ip_address",), 3, 15),
    ]
    users = [UserFactory(username=f"staff{n}", roles=["viewer"]) for n in range(4)]
    for user in users[:3]:
        attempt(client, user.username, WRONG, "203.0.113.9")
    assert locked(attempt(client, users[3].username, PASSWORD, "203.0.113.9"))
    assert signed_in(attempt(client, users[3].username, PASSWORD, "198.51.100.77"))


def test_each_failed_sign_in_is_audited_without_the_password(client, validator):
    attempt(client, validator.username, WRONG, "203.0.113.5")
    (event,) = AuditEvent.objects.filter(action="login_failed")
    assert event.actor == validator
    assert event.object_type == "accounts.user" and event.object_id == str(validator.pk)
    assert event.client_ip == "203.0.113.5"
    assert validator.username in event.message
    assert WRONG not in f"{event.message} {event.changes} {event.object_repr}"


def test_a_failure_for_an_unknown_username_is_audited_as_system(client, db):
    attempt(client, "no.such.person", WRONG, "203.0.113.5")
    (event,) = AuditEvent.objects.filter(action="login_failed")
    assert event.actor is None and event.actor_username == "system"
    assert "'no.such.person'" in event.message
    assert WRONG not in f"{event.message} {event.changes} {event.object_repr}"


def test_the_lockout_is_audited_once_when_it_starts(client, validator):
    for n in range(10):
        attempt(client, validator.username, WRONG, f"203.0.113.{n}")
    attempt(client, validator.username, PASSWORD, "198.51.100.77")  # refused while locked
    assert AuditEvent.objects.filter(action="login_failed").count() == 11
    (lockout,) = AuditEvent.objects.filter(action="lockout")
    assert lockout.actor == validator
    assert "10 failures by username from any address within 15 min" in lockout.message
    assert lockout.client_ip == "203.0.113.9"
    last = AuditEvent.objects.filter(action="login_failed").order_by("-sequence").first()
    assert "locked out" in last.message
    for event in AuditEvent.objects.all():
        assert WRONG not in event.message and PASSWORD not in event.message


def test_a_forwarded_for_header_is_ignored_without_a_declared_proxy(client, validator):
    # Without DJANGO_BEHIND_PROXY the header is the client's own claim: new values buy nothing.
    for n in range(5):
        client.post(
            LOGIN,
            {"username": validator.username, "password": WRONG},
            REMOTE_ADDR="203.0.113.1",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        )
    assert locked(attempt(client, validator.username, PASSWORD, "203.0.113.1"))


def test_behind_a_declared_proxy_lockouts_and_audit_use_the_client_address(
    client, validator, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxy = "10.0.0.2"

    def via_proxy(password: str, client_address: str):
        client.logout()
        return client.post(
            LOGIN,
            {"username": validator.username, "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=client_address,
        )

    for _ in range(5):
        via_proxy(WRONG, "203.0.113.66")
    assert locked(via_proxy(PASSWORD, "203.0.113.66"))
    # The same username from another client behind the same proxy is not locked.
    assert signed_in(via_proxy(PASSWORD, "198.51.100.7"))
    addresses = set(
        AuditEvent.objects.filter(action="login_failed").values_list("client_ip", flat=True)
    )
    assert addresses == {"203.0.113.66"}


def test_behind_a_proxy_a_forged_forwarded_for_entry_buys_no_guesses(client, validator, settings):
    # The client writes a new left-most address each time; the proxy appends the real one.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(5):
        client.post(
            LOGIN,
            {"username": validator.username, "password": WRONG},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.66",
        )
    response = client.post(
        LOGIN,
        {"username": validator.username, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="10.9.9.99, 203.0.113.66",
    )
    assert locked(response)
    addresses = set(
        AuditEvent.objects.filter(action="login_failed").values_list("client_ip", flat=True)
    )
    assert addresses == {"203.0.113.66"}
