"""An electronic signature is no password oracle: wrong passwords at sign-off (API and browser)
count toward the account's sign-in lockout and are audited as failed signatures; a locked
account cannot sign even with the right password, and nothing is recorded as a decision;
a lockout reached through signatures also blocks signing in."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.approvals.choices import RequestStatus
from apps.approvals.models import Decision
from apps.audit.models import AuditEvent
from tests.approvals import ui_world
from tests.approvals.ui_world import PASSWORD
from tests.factories import api_token_key

promotable = ui_world.promotable
promotion = ui_world.promotion
WRONG = "not-my-password-17"


@pytest.fixture(autouse=True)
def _default_rules(settings):
    settings.MLGOV_LOCKOUT_RULES = [
        (("username", "ip_address"), 5, 15),
        (("username",), 10, 15),
        (("ip_address",), 0, 15),
    ]


def api_decide(user, approval, password: str, ip: str = "203.0.113.20"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(user)}")
    return client.post(
        f"/api/v1/approvals/{approval.pk}/decide/",
        {"verdict": "approve", "password": password},
        format="json",
        REMOTE_ADDR=ip,
    )


def browser_decide(client, approval, password: str, ip: str = "203.0.113.30", **headers):
    prefix = f"r{approval.pk}"
    data = {f"{prefix}-verdict": "approve", f"{prefix}-password": password}
    url = reverse("approvals:request_decide", args=[approval.pk])
    return client.post(url, data, REMOTE_ADDR=ip, **headers)


def test_21_wrong_passwords_then_the_right_one_does_not_approve(business_owner, promotion):
    for n in range(21):
        response = api_decide(business_owner, promotion, WRONG, ip=f"203.0.113.{n}")
        assert response.status_code in (400, 429)
    response = api_decide(business_owner, promotion, PASSWORD)
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]
    assert int(response["Retry-After"]) == 15 * 60
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.PENDING
    assert not Decision.objects.exists()
    assert not AuditEvent.objects.filter(action="decide").exists()


def test_the_api_locks_after_the_per_address_limit(business_owner, promotion):
    for _ in range(4):
        assert api_decide(business_owner, promotion, WRONG).status_code == 400
    response = api_decide(business_owner, promotion, WRONG)  # the fifth locks
    assert response.status_code == 429
    assert api_decide(business_owner, promotion, PASSWORD).status_code == 429
    assert not Decision.objects.exists()


def test_a_wrong_password_is_audited_as_a_failed_signature(business_owner, promotion):
    response = api_decide(business_owner, promotion, WRONG)
    assert response.status_code == 400
    assert response.json()["password"] == [
        "The password is not correct; your signature was not recorded."
    ]
    (event,) = AuditEvent.objects.filter(action="signature_failed")
    assert event.actor == business_owner
    assert event.object_type == "approvals.approvalrequest"
    assert event.object_id == str(promotion.pk)
    assert event.model_ref == promotion.model_id
    assert event.client_ip == "203.0.113.20"
    assert WRONG not in f"{event.message} {event.changes}"
    assert not AuditEvent.objects.filter(action="login_failed").exists()


def test_the_lockout_reached_by_signatures_is_audited_and_blocks_sign_in(
    client, business_owner, promotion
):
    for n in range(10):
        api_decide(business_owner, promotion, WRONG, ip=f"203.0.113.{n}")
    (lockout,) = AuditEvent.objects.filter(action="lockout")
    assert lockout.actor == business_owner
    response = client.post(
        reverse("accounts:login"),
        {"username": business_owner.username, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.1",
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failed_sign_ins_count_toward_the_signature_lockout(client, business_owner, promotion):
    for n in range(10):
        client.post(
            reverse("accounts:login"),
            {"username": business_owner.username, "password": WRONG},
            REMOTE_ADDR=f"192.0.2.{n}",
        )
    assert api_decide(business_owner, promotion, PASSWORD).status_code == 429
    assert not Decision.objects.exists()


def test_the_browser_refuses_a_locked_signature_with_a_message(client, business_owner, promotion):
    client.force_login(business_owner)
    for _ in range(4):
        response = browser_decide(client, promotion, WRONG)
        assert "The password is not correct" in response.content.decode()
    response = browser_decide(client, promotion, WRONG)
    body = response.content.decode()
    assert "Too many wrong passwords" in body
    response = browser_decide(client, promotion, PASSWORD, HTTP_HX_REQUEST="true")
    assert "Too many wrong passwords" in response.content.decode()
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.PENDING
    assert not Decision.objects.exists()
    assert AuditEvent.objects.filter(action="signature_failed").count() == 6
    assert AuditEvent.objects.filter(action="lockout").count() == 1
    # The signing page stays; the user is not thrown onto the sign-in lockout page.
    assert "Too many failed sign-in attempts" not in body


def test_an_empty_password_is_refused_without_counting(business_owner, promotion):
    for _ in range(12):
        assert api_decide(business_owner, promotion, "").status_code == 400
    assert not AuditEvent.objects.filter(action="signature_failed").exists()
    assert api_decide(business_owner, promotion, PASSWORD).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_failure_stays_counted_when_the_decision_is_rolled_back(business_owner, promotion):
    """Outside the test's transaction (as in production): the refusal rolls back the decision,
    never the failure's count or its audit event."""
    for n in range(10):
        api_decide(business_owner, promotion, WRONG, ip=f"203.0.113.{n}")
    assert AuditEvent.objects.filter(action="signature_failed").count() == 10
    assert api_decide(business_owner, promotion, PASSWORD).status_code == 429
