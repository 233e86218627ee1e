"""The approvals API: list with filters, read with decisions, request, decide (password
required), withdraw; the same rules as the pages, 404 before 403, errors named by field."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.approvals import services
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest, Decision
from apps.inventory.choices import LifecycleStatus, VersionStage
from tests.approvals import ui_world
from tests.approvals.ui_world import PASSWORD, promotable_model, request_promotion
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

LIST = "/api/v1/approvals/"

# Fixtures shared by the approvals page and API tests.
promotable = ui_world.promotable
promotion = ui_world.promotion


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _detail(approval, action: str = "") -> str:
    return f"{LIST}{approval.pk}/" + (f"{action}/" if action else "")


def test_it_lists_requests_with_filters(business_owner, model_owner, promotion, promotable):
    services.approval_request_create(
        actor=model_owner, kind=ApprovalKind.RETIREMENT, subject=promotable, justification="Old."
    )
    client = api(business_owner)
    assert client.get(LIST).json()["count"] == 2
    assert client.get(LIST, {"kind": "promotion"}).json()["count"] == 1
    assert client.get(LIST, {"status": "approved"}).json()["count"] == 0
    assert client.get(LIST, {"model": "churn-scorer"}).json()["count"] == 2
    assert client.get(LIST, {"model": "nope"}).json()["count"] == 0
    assert client.get(LIST, {"waiting_for_me": "true"}).json()["count"] == 2
    assert api(model_owner).get(LIST, {"waiting_for_me": "true"}).json()["count"] == 0


def test_it_reads_a_request_with_its_decisions(business_owner, promotion):
    client = api(business_owner)
    client.post(_detail(promotion, "decide"), {"verdict": "approve", "password": PASSWORD})
    body = client.get(_detail(promotion)).json()
    assert body["status"] == RequestStatus.APPROVED
    assert body["content_sha256"] == promotion.content_sha256
    assert body["model"] == "churn-scorer"
    [decision] = body["decisions"]
    assert decision["approver"] == "bea.business"
    assert decision["slot"] == "business_owner"
    assert decision["content_sha256"] == promotion.content_sha256
    assert "signs to approve" in decision["meaning"]


def test_a_model_owner_requests_a_promotion(model_owner, promotable):
    response = api(model_owner).post(
        LIST, {"kind": "promotion", "model": "churn-scorer", "version": "2.0.0"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "promotion"
    assert body["required_slots"] == ["business_owner"]
    assert body["requested_by"] == "mo.owner"


def test_a_version_kind_needs_the_version(model_owner, promotable):
    response = api(model_owner).post(LIST, {"kind": "promotion", "model": "churn-scorer"})
    assert response.status_code == 400
    assert "version" in response.json()


def test_a_gate_refusal_is_a_400_with_the_reason(model_owner, business_owner):
    model = RegisteredModelFactory(
        slug="tier-two",
        owner=model_owner,
        business_owner=business_owner,
        risk_tier=2,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.APPROVED,
    )
    ModelVersionFactory(model=model, version="1.0.0", stage=VersionStage.STAGING)
    response = api(model_owner).post(
        LIST, {"kind": "promotion", "model": "tier-two", "version": "1.0.0"}
    )
    assert response.status_code == 400
    assert "approved validation" in response.json()["detail"]
    assert not ApprovalRequest.objects.exists()


def test_a_request_about_an_invisible_model_is_404(other_model_owner, model_owner, promotable):
    response = api(other_model_owner).post(
        LIST, {"kind": "promotion", "model": "churn-scorer", "version": "2.0.0"}
    )
    assert response.status_code == 404


def test_read_only_roles_cannot_request(auditor, promotable):
    response = api(auditor).post(
        LIST, {"kind": "promotion", "model": "churn-scorer", "version": "2.0.0"}
    )
    assert response.status_code == 403


def test_deciding_requires_the_password(business_owner, promotion):
    response = api(business_owner).post(_detail(promotion, "decide"), {"verdict": "approve"})
    assert response.status_code == 400
    assert "password" in response.json()
    assert not Decision.objects.exists()


def test_a_wrong_password_is_refused_by_field(business_owner, promotion):
    response = api(business_owner).post(
        _detail(promotion, "decide"), {"verdict": "approve", "password": "wrong"}
    )
    assert response.status_code == 400
    assert response.json()["password"] == [
        "The password is not correct; your signature was not recorded."
    ]


def test_a_rejection_needs_a_comment(business_owner, promotion):
    response = api(business_owner).post(
        _detail(promotion, "decide"), {"verdict": "reject", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "comment" in response.json()


def test_the_business_owner_approves_and_the_version_is_promoted(business_owner, promotion):
    response = api(business_owner).post(
        _detail(promotion, "decide"), {"verdict": "approve", "password": PASSWORD}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == RequestStatus.APPROVED
    version = promotion.model.versions.get(version="2.0.0")
    assert version.stage == VersionStage.PRODUCTION


def test_the_requester_cannot_approve_through_the_api(model_owner, promotion):
    response = api(model_owner).post(
        _detail(promotion, "decide"), {"verdict": "approve", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_it_rejects_self_approval_by_a_validator(validator, model_owner, business_owner):
    model = RegisteredModelFactory(
        slug="validated",
        owner=model_owner,
        business_owner=business_owner,
        risk_tier=2,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.VALIDATION,
    )
    ModelVersionFactory(model=model, version="1.0.0")
    client = api(validator)
    created = client.post(
        LIST, {"kind": "validation_signoff", "model": "validated", "version": "1.0.0"}
    )
    assert created.status_code == 201
    response = client.post(
        f"{LIST}{created.json()['id']}/decide/", {"verdict": "approve", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "You made this request; someone else must decide it."


def test_an_invisible_request_is_404_before_403(promotion):
    stranger = UserFactory(username="bo.other", roles=["business_owner"])
    client = api(stranger)
    assert client.get(_detail(promotion)).status_code == 404
    response = client.post(_detail(promotion, "decide"), {"verdict": "approve"})
    assert response.status_code == 404


def test_the_requester_withdraws(model_owner, business_owner, promotion):
    assert api(business_owner).post(_detail(promotion, "withdraw")).status_code == 403
    response = api(model_owner).post(_detail(promotion, "withdraw"), {"reason": "Not yet."})
    assert response.status_code == 200
    assert response.json()["status"] == RequestStatus.WITHDRAWN
    again = api(model_owner).post(_detail(promotion, "withdraw"))
    assert again.status_code == 400


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_takes_constant_queries(
    business_owner, model_owner, django_assert_max_num_queries, count
):
    for i in range(count):
        approval = request_promotion(
            promotable_model(model_owner, business_owner, f"m-{i}"), model_owner
        )
        services.approval_decide(
            actor=business_owner, request=approval, verdict="approve", password=PASSWORD
        )
    client = api(business_owner)
    with django_assert_max_num_queries(8):
        body = client.get(LIST, {"waiting_for_me": "false"}).json()
    assert body["count"] == count
    with django_assert_max_num_queries(10):
        client.get(LIST, {"waiting_for_me": "true"})
