"""The approver's inbox: what waits, what changes, deciding in place, the navigation badge."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.approvals.choices import RequestStatus
from apps.approvals.models import ApprovalRequest, Decision
from apps.inventory.choices import VersionStage
from tests.approvals import ui_world
from tests.approvals.ui_world import PASSWORD, promotable_model, request_promotion

INBOX = "approvals:inbox"
HX = {"HTTP_HX_REQUEST": "true"}

# Fixtures shared by the approvals page and API tests.
promotable = ui_world.promotable
promotion = ui_world.promotion


def _decide_url(approval) -> str:
    return reverse("approvals:request_decide", args=[approval.pk])


def _sign(client, approval, verdict="approve", password=PASSWORD, comment="", **headers):
    prefix = f"r{approval.pk}"
    data = {
        f"{prefix}-verdict": verdict,
        f"{prefix}-password": password,
        f"{prefix}-comment": comment,
    }
    return client.post(_decide_url(approval), data, **headers)


def test_it_lists_what_waits_for_the_business_owner(client, business_owner, promotion):
    client.force_login(business_owner)
    response = client.get(reverse(INBOX))
    assert response.status_code == 200
    body = response.content.decode()
    assert promotion.title in body
    assert "you sign as <strong>Named business owner</strong>" in body
    assert "Electronic signature." in body
    assert promotion.content_sha256 in body
    assert reverse("approvals:request_compare", args=[promotion.pk]) in body


def test_it_shows_old_and_new_version_metrics(client, business_owner, promotion):
    client.force_login(business_owner)
    response = client.get(reverse("approvals:request_compare", args=[promotion.pk]))
    body = response.content.decode()
    assert "Metric: auc" in body
    assert "0.81" in body and "0.84" in body
    assert "1.0.0" in body and "2.0.0" in body


def test_the_requester_has_nothing_waiting(client, model_owner, promotion):
    client.force_login(model_owner)
    response = client.get(reverse(INBOX))
    assert promotion.title not in response.content.decode()
    assert "Nothing waits for you." in response.content.decode()


def test_a_validator_is_not_asked_for_a_tier_3_promotion(client, validator, promotion):
    client.force_login(validator)
    assert promotion.title not in client.get(reverse(INBOX)).content.decode()


def test_it_approves_in_place(client, business_owner, promotion):
    client.force_login(business_owner)
    response = _sign(client, promotion, **HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="request-{promotion.pk}"' in body
    assert "has been signed" in body and "quorum is met" in body
    assert 'id="approvals-badge" hx-swap-oob="true"' in body
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.APPROVED
    assert promotion.model.versions.get(version="2.0.0").stage == VersionStage.PRODUCTION


def test_a_plain_post_signs_and_returns_to_the_inbox(client, business_owner, promotion):
    client.force_login(business_owner)
    response = _sign(client, promotion)
    assert response.status_code == 302
    assert response["Location"] == reverse(INBOX)
    assert Decision.objects.filter(request=promotion, approver=business_owner).exists()


def test_a_wrong_password_signs_nothing(client, business_owner, promotion):
    client.force_login(business_owner)
    response = _sign(client, promotion, password="not-my-password", **HX)
    assert response.status_code == 200
    assert "The password is not correct" in response.content.decode()
    assert not Decision.objects.exists()
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.PENDING


def test_a_rejection_needs_a_comment(client, business_owner, promotion):
    client.force_login(business_owner)
    response = _sign(client, promotion, verdict="reject", **HX)
    assert "a comment is required" in response.content.decode()
    assert not Decision.objects.exists()
    response = _sign(client, promotion, verdict="reject", comment="AUC gain too small.", **HX)
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.REJECTED


def test_it_requests_changes_with_a_comment(client, business_owner, promotion):
    client.force_login(business_owner)
    _sign(client, promotion, verdict="request_changes", comment="Add the fairness metrics.")
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.CHANGES_REQUESTED


def test_the_navigation_shows_the_waiting_count(client, business_owner, promotion):
    client.force_login(business_owner)
    body = client.get(reverse("dashboard:home")).content.decode()
    assert 'aria-label="1 waiting"' in body
    _sign(client, promotion)
    body = client.get(reverse("dashboard:home")).content.decode()
    assert 'waiting">' not in body
    assert "My approvals" in body


def test_a_viewer_has_no_badge_but_the_link(client, viewer, promotion):
    client.force_login(viewer)
    body = client.get(reverse(INBOX)).content.decode()
    assert "My approvals" in body and "Nothing waits for you." in body


@pytest.mark.parametrize("count", [3, 30])
def test_the_inbox_takes_constant_queries(
    client, business_owner, model_owner, django_assert_max_num_queries, count
):
    for i in range(count):
        request_promotion(promotable_model(model_owner, business_owner, f"m-{i}"), model_owner)
    client.force_login(business_owner)
    client.get(reverse(INBOX))  # warm the session and content types
    with django_assert_max_num_queries(12):
        response = client.get(reverse(INBOX))
    # A page holds 25 requests at most; the count and the badge tell how many wait in all.
    body = response.content.decode()
    assert body.count('class="card inbox-item"') == min(count, 25)
    assert f"{count} requests waiting for your signature" in body
    assert f'aria-label="{count} waiting"' in body
    assert ApprovalRequest.objects.count() == count


def test_the_inbox_is_paginated_oldest_first(client, business_owner, model_owner):
    made = [
        request_promotion(promotable_model(model_owner, business_owner, f"m-{i}"), model_owner)
        for i in range(27)
    ]
    client.force_login(business_owner)
    first = client.get(reverse(INBOX)).content.decode()
    assert made[0].title in first and made[24].title in first
    assert made[25].title not in first
    assert "Page 1 of 2" in first and "?page=2" in first
    second = client.get(reverse(INBOX), {"page": 2}).content.decode()
    assert second.count('class="card inbox-item"') == 2
    assert made[25].title in second and made[26].title in second
    assert made[0].title not in second


def test_the_inbox_filters_by_kind_and_model_name(client, business_owner, model_owner):
    fraud = request_promotion(promotable_model(model_owner, business_owner, "fraud"), model_owner)
    churn = request_promotion(promotable_model(model_owner, business_owner, "churn"), model_owner)
    client.force_login(business_owner)
    body = client.get(reverse(INBOX), {"q": fraud.model.name[:-1]}).content.decode()
    assert fraud.title in body and churn.title not in body
    assert "1 request matching your filters waiting" in body
    assert 'aria-label="2 waiting"' in body  # the badge still counts everything
    body = client.get(reverse(INBOX), {"kind": "retirement"}).content.decode()
    assert fraud.title not in body and churn.title not in body
    assert "Nothing waiting for you matches these filters." in body
    body = client.get(reverse(INBOX), {"kind": "promotion"}).content.decode()
    assert fraud.title in body and churn.title in body


def test_the_inbox_filter_lists_no_models(client, business_owner, model_owner):
    for i in range(3):
        request_promotion(promotable_model(model_owner, business_owner, f"m-{i}"), model_owner)
    client.force_login(business_owner)
    body = client.get(reverse(INBOX)).content.decode()
    assert 'name="q"' in body
    assert "<option" in body and 'name="model"' not in body


def test_the_dashboard_lists_my_pending_approvals(
    client, business_owner, promotion, django_assert_max_num_queries
):
    client.force_login(business_owner)
    client.get(reverse("dashboard:home"))
    # 14, and 3 for the monitoring figures (models in breach, incidents, deadlines).
    with django_assert_max_num_queries(17):
        body = client.get(reverse("dashboard:home")).content.decode()
    assert "My pending approvals" in body
    assert promotion.title in body
    assert 'aria-label="1 waiting"' in body


def test_the_dashboard_lists_the_oldest_five_and_counts_all(
    client, business_owner, model_owner, django_assert_max_num_queries
):
    made = [
        request_promotion(promotable_model(model_owner, business_owner, f"d-{i}"), model_owner)
        for i in range(7)
    ]
    client.force_login(business_owner)
    client.get(reverse("dashboard:home"))
    with django_assert_max_num_queries(17):
        body = client.get(reverse("dashboard:home")).content.decode()
    assert 'My pending approvals <span class="badge badge--warn">7</span>' in body
    assert 'aria-label="7 waiting"' in body
    assert made[0].title in body and made[4].title in body
    assert made[5].title not in body


def test_the_badge_counts_up_to_its_cap_and_the_inbox_gives_the_exact_number(
    client, business_owner, model_owner, monkeypatch
):
    from apps.core import navigation

    monkeypatch.setattr(navigation, "NAV_COUNT_CAP", 3)
    for i in range(5):
        request_promotion(promotable_model(model_owner, business_owner, f"c-{i}"), model_owner)
    client.force_login(business_owner)
    body = client.get(reverse("dashboard:home")).content.decode()
    assert 'aria-label="2+ waiting">2+</span>' in body
    assert 'My pending approvals <span class="badge badge--warn">2+</span>' in body
    body = client.get(reverse(INBOX)).content.decode()
    assert "5 requests waiting for your signature" in body
