"""Risk-tier changes in the approver's inbox: proposed on the Risk tab by one validator,
listed, compared and signed in place by another."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.approvals.choices import RequestStatus
from apps.core import roles
from apps.inventory import services
from apps.inventory.choices import EUAIActClass
from apps.inventory.models import RegisteredModel
from tests.approvals.helpers import PASSWORD
from tests.factories import UserFactory

ANSWERS = {
    "financial_exposure": "medium",
    "customer_impact": "high",
    "regulatory_use": "low",
    "automation": "low",
    "complexity": "medium",
}


@pytest.fixture
def validator2(db):
    return UserFactory(username="val.second", roles=[roles.VALIDATOR])


@pytest.fixture
def proposal(model_owner, validator, owned_model):
    """A Tier 2 proposal by ``validator`` on the owner's questionnaire; the model is Tier 3."""
    RegisteredModel.objects.filter(pk=owned_model.pk).update(
        risk_tier=3, eu_ai_act_class=EUAIActClass.MINIMAL
    )
    assessment = services.risk_assessment_submit(
        actor=model_owner,
        model=owned_model,
        answers=ANSWERS,
        eu_ai_act_class=EUAIActClass.LIMITED,
    )
    return services.risk_assessment_decide(
        actor=validator, assessment=assessment, tier=2
    ).approval_request


def test_the_second_validator_finds_the_tier_change_in_the_inbox(client, validator2, proposal):
    client.force_login(validator2)
    body = client.get(reverse("approvals:inbox")).content.decode()
    assert "Risk tier of Owned model: Tier 2" in body
    assert "you sign as <strong>Validator</strong>" in body
    assert proposal.content_sha256 in body


def test_the_proposer_has_nothing_waiting(client, validator, proposal):
    client.force_login(validator)
    body = client.get(reverse("approvals:inbox")).content.decode()
    assert proposal.title not in body


def test_it_compares_the_tier_and_class_in_force_with_the_proposal(client, validator2, proposal):
    client.force_login(validator2)
    response = client.get(reverse("approvals:request_compare", args=[proposal.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Risk tier" in body and "Tier 3" in body and "Tier 2" in body
    assert "EU AI Act class" in body and "Minimal risk" in body and "Limited risk" in body


def test_the_request_page_shows_the_frozen_proposal(client, auditor, proposal):
    client.force_login(auditor)
    response = client.get(reverse("approvals:request_detail", args=[proposal.pk]))
    assert response.status_code == 200
    assert "Risk tier of Owned model: Tier 2" in response.content.decode()


def test_signing_in_the_inbox_changes_the_tier(client, validator2, proposal, owned_model):
    client.force_login(validator2)
    prefix = f"r{proposal.pk}"
    response = client.post(
        reverse("approvals:request_decide", args=[proposal.pk]),
        {f"{prefix}-verdict": "approve", f"{prefix}-password": PASSWORD, f"{prefix}-comment": ""},
    )
    assert response.status_code in (200, 302)
    proposal.refresh_from_db()
    assert proposal.status == RequestStatus.APPROVED
    owned_model.refresh_from_db()
    assert (owned_model.risk_tier, owned_model.eu_ai_act_class) == (2, EUAIActClass.LIMITED)


def test_the_risk_tab_links_the_waiting_proposal(client, viewer, proposal, owned_model):
    client.force_login(viewer)
    response = client.get(reverse("inventory:model_risk", kwargs={"slug": owned_model.slug}))
    body = response.content.decode()
    assert "Tier proposed, awaiting approval" in body
    assert reverse("approvals:request_detail", args=[proposal.pk]) in body
