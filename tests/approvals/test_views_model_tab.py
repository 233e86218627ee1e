"""The model's Approvals tab: requests about the model, asking for sign-off (gates answer on
the form), the policy page, and the administrator's gate lifting."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest, GateOverride
from apps.audit.models import AuditEvent
from apps.inventory.choices import LifecycleStatus
from tests.approvals import ui_world
from tests.approvals.ui_world import promotable_model, request_promotion
from tests.factories import ModelVersionFactory, RegisteredModelFactory

promotable = ui_world.promotable
promotion = ui_world.promotion


def _tab(model) -> str:
    return reverse("approvals:model_approvals", args=[model.slug])


def test_the_model_page_has_an_approvals_tab(client, viewer, promotion):
    client.force_login(viewer)
    body = client.get(reverse("inventory:model_detail", args=["churn-scorer"])).content.decode()
    assert _tab(promotion.model) in body
    body = client.get(_tab(promotion.model)).content.decode()
    assert promotion.title in body and "Pending" in body
    assert "Request sign-off" not in body  # viewers ask for nothing


def test_the_model_owner_requests_a_promotion(client, model_owner, promotable):
    client.force_login(model_owner)
    assert "Request sign-off" in client.get(_tab(promotable)).content.decode()
    response = client.post(
        reverse("approvals:request_create", args=[promotable.slug]),
        {"kind": ApprovalKind.PROMOTION, "version": "2.0.0"},
    )
    approval = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == approval.get_absolute_url()
    assert approval.required_slots == ["business_owner"]


def test_a_gate_refusal_is_shown_on_the_form(client, model_owner, business_owner):
    model = RegisteredModelFactory(
        slug="tier-two",
        owner=model_owner,
        business_owner=business_owner,
        risk_tier=2,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.APPROVED,
    )
    ModelVersionFactory(model=model, version="1.0.0")
    client.force_login(model_owner)
    response = client.post(
        reverse("approvals:request_create", args=[model.slug]),
        {"kind": ApprovalKind.PROMOTION, "version": "1.0.0"},
    )
    assert response.status_code == 200
    assert "need an approved validation of 1.0.0" in response.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_a_version_kind_needs_a_version(client, model_owner, promotable):
    client.force_login(model_owner)
    response = client.post(
        reverse("approvals:request_create", args=[promotable.slug]),
        {"kind": ApprovalKind.PROMOTION},
    )
    assert "Choose the version to sign off." in response.content.decode()


def test_a_retirement_needs_a_justification(client, model_owner, promotable):
    client.force_login(model_owner)
    url = reverse("approvals:request_create", args=[promotable.slug])
    response = client.post(url, {"kind": ApprovalKind.RETIREMENT})
    assert "Say why this is requested." in response.content.decode()
    client.post(url, {"kind": ApprovalKind.RETIREMENT, "justification": "Replaced by v3."})
    assert ApprovalRequest.objects.get().kind == ApprovalKind.RETIREMENT


def test_a_business_owner_cannot_request(client, business_owner, promotable):
    client.force_login(business_owner)
    response = client.post(
        reverse("approvals:request_create", args=[promotable.slug]),
        {"kind": ApprovalKind.PROMOTION, "version": "2.0.0"},
    )
    assert response.status_code == 403


def test_an_overdue_review_blocks_promotion_until_an_admin_lifts_the_gate(
    client, model_owner, business_owner, admin_user
):
    model = promotable_model(
        model_owner, business_owner, "overdue", next_review_date=dt.date(2020, 1, 1)
    )
    client.force_login(model_owner)
    body = client.get(_tab(model)).content.decode()
    assert "gate-refusal" in body and "overdue" in body
    assert reverse("approvals:gate_lift", args=[model.slug]) not in body
    assert client.get(reverse("approvals:gate_lift", args=[model.slug])).status_code == 403

    client.force_login(admin_user)
    assert (
        reverse("approvals:gate_lift", args=[model.slug])
        in client.get(_tab(model)).content.decode()
    )
    response = client.post(
        reverse("approvals:gate_lift", args=[model.slug]),
        {"gate": GateOverride.Gate.OVERDUE_REVIEW, "reason": "Review under way.", "days": 14},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(model_ref=model.pk, message="Review under way.").get()
    assert event.actor_username == admin_user.username
    approval = request_promotion(model, model_owner)
    assert approval.status == RequestStatus.PENDING


def test_lifting_a_gate_needs_a_reason(client, admin_user, promotable):
    client.force_login(admin_user)
    response = client.post(
        reverse("approvals:gate_lift", args=[promotable.slug]),
        {"gate": GateOverride.Gate.OVERDUE_REVIEW, "reason": "", "days": 14},
    )
    assert response.status_code == 200
    assert not GateOverride.objects.exists()


@pytest.mark.parametrize("persona", ["viewer", "auditor", "business_owner", "model_owner"])
def test_the_policy_is_visible_to_every_role(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    body = client.get(reverse("approvals:policy")).content.decode()
    assert "Promotion to production" in body
    assert "Named business owner + Validator" in body


@pytest.mark.parametrize("count", [3, 30])
def test_the_tab_takes_constant_queries(
    client, model_owner, business_owner, django_assert_max_num_queries, count
):
    model = promotable_model(model_owner, business_owner, "busy")
    for i in range(count):
        version = ModelVersionFactory(model=model, version=f"3.{i}.0")
        request_promotion(model, model_owner, version=version.version)
        ApprovalRequest.objects.filter(status=RequestStatus.PENDING).update(
            status=RequestStatus.WITHDRAWN
        )
    client.force_login(model_owner)
    client.get(_tab(model))
    with django_assert_max_num_queries(25):
        response = client.get(_tab(model))
    # Newest first, 25 a page; the page links reach the rest.
    body = response.content.decode()
    assert body.count("Withdrawn") == min(count, 25)
    if count > 25:
        assert f"of {count}" in body and "?page=2" in body
        older = client.get(_tab(model), {"page": 2}).content.decode()
        assert older.count("Withdrawn") == count - 25


def test_a_version_page_offers_to_request_sign_off(client, model_owner, business_owner, promotable):
    version_url = reverse("inventory:version_detail", args=[promotable.slug, "2.0.0"])
    client.force_login(business_owner)
    assert "Request promotion" not in client.get(version_url).content.decode()
    client.force_login(model_owner)
    body = client.get(version_url).content.decode()
    assert "Request validation sign-off" in body and "Request promotion" in body
    response = client.get(_tab(promotable), {"kind": "promotion", "version": "2.0.0"})
    form = response.context["request_form"]
    assert form.initial == {"kind": "promotion", "version": "2.0.0"}
    assert 'value="2.0.0" selected' in response.content.decode()
