"""A request's page: frozen content and hash, slots, decisions, staleness, four-eyes."""

from __future__ import annotations

from django.urls import reverse

from apps.approvals import services
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import Decision
from apps.inventory.choices import LifecycleStatus
from tests.approvals import ui_world
from tests.approvals.ui_world import PASSWORD
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

# Fixtures shared by the approvals page and API tests.
promotable = ui_world.promotable
promotion = ui_world.promotion


def _url(approval, name="approvals:request_detail") -> str:
    return reverse(name, args=[approval.pk])


def test_it_shows_the_frozen_content_its_hash_and_the_slots(client, business_owner, promotion):
    client.force_login(business_owner)
    body = client.get(_url(promotion)).content.decode()
    assert promotion.content_sha256 in body
    assert "&quot;version&quot;: &quot;2.0.0&quot;" in body or '"version": "2.0.0"' in body
    assert 'Named business owner: <span class="badge badge--none">open</span>' in body
    assert "Electronic signature." in body
    assert "stale-indicator" not in body


def test_it_lists_decisions_with_who_role_hash_and_meaning(client, business_owner, promotion):
    client.force_login(business_owner)
    client.post(
        _url(promotion, "approvals:request_decide"),
        {f"r{promotion.pk}-verdict": "approve", f"r{promotion.pk}-password": PASSWORD},
    )
    body = client.get(_url(promotion)).content.decode()
    decision = Decision.objects.get()
    assert "decisions-table" in body
    assert "bea.business" in body
    assert decision.content_sha256[:12] in body
    assert decision.meaning.split(",")[0] in body


def test_it_marks_a_request_stale_when_the_content_changed(client, business_owner, promotion):
    version = promotion.model.versions.get(version="2.0.0")
    version.evaluation_metrics = {"auc": 0.9}
    version.save()
    client.force_login(business_owner)
    body = client.get(_url(promotion)).content.decode()
    assert "stale-indicator" in body
    response = client.post(
        _url(promotion, "approvals:request_decide"),
        {f"r{promotion.pk}-verdict": "approve", f"r{promotion.pk}-password": PASSWORD},
    )
    assert "stale" in response.content.decode()
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.STALE


def test_the_requester_is_told_someone_else_decides(client, model_owner, promotion):
    client.force_login(model_owner)
    body = client.get(_url(promotion)).content.decode()
    assert "You made this request; someone else must decide it." in body
    assert "Sign decision" not in body


def test_the_model_owner_cannot_approve_their_own_request(client, model_owner, promotion):
    client.force_login(model_owner)
    response = client.post(
        _url(promotion, "approvals:request_decide"),
        {f"r{promotion.pk}-verdict": "approve", f"r{promotion.pk}-password": PASSWORD},
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_it_rejects_self_approval_by_a_validator(client, validator, model_owner, business_owner):
    model = RegisteredModelFactory(
        slug="tiered",
        owner=model_owner,
        business_owner=business_owner,
        risk_tier=2,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.VALIDATION,
    )
    version = ModelVersionFactory(model=model, version="1.0.0")
    approval = services.approval_request_create(
        actor=validator, kind=ApprovalKind.VALIDATION_SIGNOFF, subject=version
    )
    client.force_login(validator)
    assert "You made this request" in client.get(_url(approval)).content.decode()
    response = client.post(
        _url(approval, "approvals:request_decide"),
        {f"r{approval.pk}-verdict": "approve", f"r{approval.pk}-password": PASSWORD},
    )
    assert response.status_code == 200
    assert "You made this request; someone else must decide it." in response.content.decode()
    assert not Decision.objects.exists()


def test_another_business_owner_gets_404(client, promotion):
    stranger = UserFactory(username="bo.stranger", roles=["business_owner"])
    client.force_login(stranger)
    assert client.get(_url(promotion)).status_code == 404
    response = client.post(_url(promotion, "approvals:request_decide"), {})
    assert response.status_code == 404


def test_the_requester_withdraws(client, model_owner, promotion):
    client.force_login(model_owner)
    response = client.post(_url(promotion, "approvals:request_withdraw"), {"reason": "Oops"})
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert promotion.status == RequestStatus.WITHDRAWN


def test_my_requests_lists_the_state(client, model_owner, promotion, django_assert_max_num_queries):
    client.force_login(model_owner)
    client.get(reverse("approvals:my_requests"))
    with django_assert_max_num_queries(12):
        body = client.get(reverse("approvals:my_requests")).content.decode()
    assert promotion.title in body and "Pending" in body


def test_the_detail_page_takes_few_queries(
    client, business_owner, promotion, django_assert_max_num_queries
):
    client.force_login(business_owner)
    client.get(_url(promotion))
    with django_assert_max_num_queries(25):
        assert client.get(_url(promotion)).status_code == 200


def test_a_retirement_of_an_unvalidated_model_cannot_be_decided_twice(
    client, business_owner, model_owner
):
    model = RegisteredModelFactory(
        slug="retire-me", owner=model_owner, business_owner=business_owner, risk_tier=3
    )
    approval = services.approval_request_create(
        actor=model_owner, kind=ApprovalKind.RETIREMENT, subject=model, justification="Replaced."
    )
    client.force_login(business_owner)
    client.post(
        _url(approval, "approvals:request_decide"),
        {f"r{approval.pk}-verdict": "approve", f"r{approval.pk}-password": PASSWORD},
    )
    model.refresh_from_db()
    assert model.status == LifecycleStatus.RETIRED
    body = client.get(_url(approval)).content.decode()
    assert "Sign decision" not in body
