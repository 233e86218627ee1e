"""API: /api/v1/models/{slug}/risk-assessments/ — questionnaire, the validator's proposal and
its approval by a second validator."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.approvals.models import ApprovalRequest
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.inventory.models import RiskAssessment
from tests.approvals.helpers import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ANSWERS = {
    "financial_exposure": "medium",
    "customer_impact": "high",
    "regulatory_use": "low",
    "automation": "low",
    "complexity": "medium",
}


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def list_url(slug: str = "owned-model") -> str:
    return reverse("api:model-risk-assessment-list", kwargs={"model_slug": slug})


def detail_url(pk: int, slug: str = "owned-model") -> str:
    return reverse("api:model-risk-assessment-detail", kwargs={"model_slug": slug, "pk": pk})


def decide_url(pk: int, slug: str = "owned-model") -> str:
    return reverse("api:model-risk-assessment-decide", kwargs={"model_slug": slug, "pk": pk})


def _submit(user, **extra):
    payload = {**ANSWERS, "eu_ai_act_class": "minimal", **extra}
    return api(user).post(list_url(), payload, format="json")


@pytest.mark.parametrize("persona", ["admin_user", "validator", "model_owner"])
def test_owners_validators_and_admins_submit_the_questionnaire(request, persona, owned_model):
    response = _submit(request.getfixturevalue(persona))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["suggested_tier"] == 2
    assert body["suggested_tier_label"] == "Tier 2 (medium)"
    assert "Suggested Tier 2" in body["suggested_rationale"]
    assert body["status"] == "pending"
    assert body["answers"]["customer_impact"] == "high"
    assert AuditEvent.objects.get().object_type == "inventory.riskassessment"


@pytest.mark.parametrize("persona", ["business_owner", "auditor", "viewer"])
def test_other_roles_may_not_submit(request, persona, owned_model):
    assert _submit(request.getfixturevalue(persona)).status_code == 403
    assert not RiskAssessment.objects.exists()


def test_a_model_outside_reach_answers_404(other_model_owner, owned_model):
    assert _submit(other_model_owner).status_code == 404
    assert api(other_model_owner).get(list_url()).status_code == 404


def test_a_missing_answer_is_named(model_owner, owned_model):
    payload = {**ANSWERS, "eu_ai_act_class": "minimal"}
    del payload["automation"]
    response = api(model_owner).post(list_url(), payload, format="json")
    assert response.status_code == 400
    assert "automation" in response.json()
    assert not RiskAssessment.objects.exists()


def test_high_risk_needs_the_annex_iii_point(model_owner, owned_model):
    response = _submit(model_owner, eu_ai_act_class="high_risk")
    assert response.status_code == 400
    assert "Annex III" in response.json()["eu_annex_iii_point"][0]
    assert not AuditEvent.objects.exists()


def test_everyone_who_sees_the_model_reads_its_assessments(model_owner, viewer, owned_model):
    pk = _submit(model_owner).json()["id"]
    client = api(viewer)
    assert [row["id"] for row in client.get(list_url()).json()["results"]] == [pk]
    assert client.get(detail_url(pk)).json()["assessed_by"] == "mo.owner"


def test_a_validators_decision_is_a_proposal_awaiting_approval(model_owner, validator, owned_model):
    pk = _submit(model_owner).json()["id"]
    response = api(validator).post(decide_url(pk), {"tier": 2, "reason": "x"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "awaiting_approval"
    assert (body["decided_tier"], body["decided_by"]) == (2, "val.validator")
    assert (body["approved_by"], body["approved_at"]) == (None, None)
    request = ApprovalRequest.objects.get(kind="risk_tier_change", subject_id=str(pk))
    assert (body["approval_request"], body["approval_request_status"]) == (request.pk, "pending")
    owned_model.refresh_from_db()
    assert owned_model.risk_tier is None


def test_the_model_takes_the_tier_when_a_second_validator_approves(
    model_owner, validator, owned_model
):
    second = UserFactory(username="val.second", roles=[roles.VALIDATOR])
    pk = _submit(model_owner).json()["id"]
    request_id = (
        api(validator).post(decide_url(pk), {"tier": 2}, format="json").json()["approval_request"]
    )
    refused = api(validator).post(
        f"/api/v1/approvals/{request_id}/decide/",
        {"verdict": "approve", "password": PASSWORD},
        format="json",
    )
    assert refused.status_code == 400
    approved = api(second).post(
        f"/api/v1/approvals/{request_id}/decide/",
        {"verdict": "approve", "password": PASSWORD},
        format="json",
    )
    assert approved.status_code in (200, 201), approved.json()
    body = api(validator).get(detail_url(pk)).json()
    assert (body["status"], body["approved_by"]) == ("confirmed", "val.second")
    assert body["approval_request_status"] == "approved"
    owned_model.refresh_from_db()
    assert owned_model.risk_tier == 2
    assert owned_model.eu_ai_act_class == "minimal"


def test_an_override_needs_a_reason(model_owner, validator, owned_model):
    pk = _submit(model_owner).json()["id"]
    response = api(validator).post(decide_url(pk), {"tier": 1}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    owned_model.refresh_from_db()
    assert owned_model.risk_tier is None


def test_an_eu_high_risk_model_cannot_be_put_below_tier_1(model_owner, validator, owned_model):
    pk = _submit(model_owner, eu_ai_act_class="high_risk", eu_annex_iii_point="5(b)").json()["id"]
    response = api(validator).post(decide_url(pk), {"tier": 3, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert "Tier 1" in response.json()["tier"][0]


@pytest.mark.parametrize("persona", ["model_owner", "business_owner", "auditor", "viewer"])
def test_only_validators_and_admins_decide(request, persona, model_owner, owned_model):
    pk = _submit(model_owner).json()["id"]
    response = api(request.getfixturevalue(persona)).post(decide_url(pk), {"tier": 2})
    assert response.status_code == 403


def test_the_list_costs_a_constant_number_of_queries(
    django_assert_max_num_queries, model_owner, validator, owned_model
):
    client = api(validator)
    _submit(model_owner)
    with CaptureQueriesContext(connection) as one:
        client.get(list_url())
    # Read the count now: every request clears Django's query log.
    one_row = len(one)
    for _ in range(5):
        _submit(model_owner)
    with django_assert_max_num_queries(one_row):
        assert client.get(list_url()).json()["count"] == 6
    assert one_row <= 10


def test_the_detail_costs_a_constant_number_of_queries(
    django_assert_max_num_queries, model_owner, validator, owned_model
):
    pk = _submit(model_owner).json()["id"]
    client = api(validator)
    with django_assert_max_num_queries(10):
        assert client.get(detail_url(pk)).status_code == 200
