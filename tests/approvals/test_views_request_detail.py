"""A request's page: frozen content and hash, slots, decisions, staleness, four-eyes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.approvals import services
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import Decision
from apps.core import clock
from apps.inventory.choices import LifecycleStatus
from tests.approvals import ui_world
from tests.approvals.helpers import sign, validate
from tests.approvals.ui_world import PASSWORD
from tests.factories import (
    DatasetFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

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


ROLES = ("validator", "business_owner", "model_owner", "auditor")


def _trained_on(version, *datasets) -> None:
    for dataset in datasets:
        version.dataset_links.create(dataset=dataset, role="training")
        version.dataset_links.create(dataset=dataset, role="evaluation")


@pytest.fixture
def signed_promotion(model_owner, business_owner):
    """A pending promotion of a Tier 2 model's validated 2.0.0 (business owner and validator
    slots), both versions trained on datasets, the validator's slot filled by a second
    validator's approval with a comment, and a developer on the model."""
    model = ui_world.promotable_model(model_owner, business_owner, "two-slots")
    model.risk_tier = 2
    model.save(update_fields=["risk_tier"])
    model.developers.add(UserFactory(username="dev.developer", roles=["model_owner"]))
    old, new = model.versions.get(version="1.0.0"), model.versions.get(version="2.0.0")
    _trained_on(old, DatasetFactory())
    _trained_on(new, DatasetFactory(), DatasetFactory())
    second = UserFactory(username="val.second", roles=["validator"])
    validate(new, model_owner, second)
    approval = ui_world.request_promotion(model, model_owner)
    assert approval.required_slots == ["business_owner", "validator"]
    sign(approval, second, comment="The holdout metrics hold.")
    approval.refresh_from_db()
    assert approval.status == RequestStatus.PENDING
    return approval


def _more_of_everything(approval, n: int = 6) -> None:
    """More decisions with comments (recorded directly: the policy has two slots at most),
    and more datasets behind the versions compared."""
    for i in range(n):
        Decision.objects.create(
            request=approval,
            approver=UserFactory(username=f"val.more{i}", roles=["validator"]),
            slot="validator",
            verdict="approve",
            comment=f"Comment {i}",
            content_sha256=approval.content_sha256,
            meaning="test",
            signed_at=clock.now(),
        )
    for version in approval.model.versions.all():
        _trained_on(version, *(DatasetFactory() for _ in range(n)))


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ROLES)
def test_the_detail_page_takes_few_queries(
    client, request, role, signed_promotion, django_assert_max_num_queries
):
    """At most 12 queries per role, with the decision form (validator, business owner) or
    the reason why not (requester, auditor)."""
    client.force_login(request.getfixturevalue(role))
    url = _url(signed_promotion)
    body = client.get(url).content.decode()
    assert "The holdout metrics hold." in body and "val.second" in body
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_the_detail_page_query_count_does_not_grow(client, request, role, signed_promotion):
    client.force_login(request.getfixturevalue(role))
    url = _url(signed_promotion)
    client.get(url)
    before = _queries(client, url)
    _more_of_everything(signed_promotion)
    assert "Comment 5" in client.get(url).content.decode()
    assert _queries(client, url) == before


def test_the_detail_page_shows_what_each_role_may_do(
    client, validator, business_owner, model_owner, auditor, signed_promotion
):
    """The decision form for those who may still decide, the reason for the others."""
    url = _url(signed_promotion)
    expected = {
        validator: "Sign decision",
        business_owner: "Sign decision",
        model_owner: "You made this request; someone else must decide it.",
        auditor: "You are not one of the approvers of this request.",
    }
    for user, text in expected.items():
        client.force_login(user)
        body = client.get(url).content.decode()
        assert text in body, user
        assert "stale-indicator" not in body
        assert 'Validator: <span class="badge badge--ok">approved</span> by' in body


def test_a_developer_of_the_model_is_told_they_cannot_decide(client, signed_promotion):
    """Four-eyes on the page: a validator who develops the model gets no decision form."""
    developer = UserFactory(username="val.dev", roles=["validator"])
    signed_promotion.model.developers.add(developer)
    client.force_login(developer)
    body = client.get(_url(signed_promotion)).content.decode()
    assert "You own or develop this model, so you cannot approve requests about it." in body
    assert "Sign decision" not in body
    response = client.post(
        _url(signed_promotion, "approvals:request_decide"),
        {
            f"r{signed_promotion.pk}-verdict": "reject",
            f"r{signed_promotion.pk}-password": PASSWORD,
            f"r{signed_promotion.pk}-comment": "No.",
        },
    )
    assert "You own or develop this model" in response.content.decode()
    signed_promotion.refresh_from_db()
    assert signed_promotion.status == RequestStatus.PENDING


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
