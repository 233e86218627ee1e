"""Fixtures for the approvals pages and API: a Tier 3 model ready to promote a version,
whose named business owner alone approves a promotion (policy)."""

from __future__ import annotations

import pytest

from apps.approvals import services
from apps.approvals.choices import ApprovalKind
from apps.inventory.choices import LifecycleStatus, VersionStage
from tests.factories import ModelVersionFactory, RegisteredModelFactory

PASSWORD = "correct-horse-battery"


def promotable_model(owner, business_owner, slug: str, **kwargs):
    """An approved Tier 3 model with a staging version ``2.0.0`` and production ``1.0.0``."""
    model = RegisteredModelFactory(
        slug=slug,
        name=slug.replace("-", " ").capitalize(),
        owner=owner,
        business_owner=business_owner,
        risk_tier=3,
        eu_ai_act_class="minimal",
        status=LifecycleStatus.APPROVED,
        **kwargs,
    )
    ModelVersionFactory(
        model=model,
        version="1.0.0",
        stage=VersionStage.PRODUCTION,
        evaluation_metrics={"auc": 0.81},
        created_by=owner,
    )
    ModelVersionFactory(
        model=model,
        version="2.0.0",
        stage=VersionStage.STAGING,
        evaluation_metrics={"auc": 0.84},
        created_by=owner,
    )
    return model


def request_promotion(model, requester, version: str = "2.0.0"):
    return services.approval_request_create(
        actor=requester,
        kind=ApprovalKind.PROMOTION,
        subject=model.versions.get(version=version),
    )


@pytest.fixture
def promotable(db, model_owner, business_owner):
    return promotable_model(model_owner, business_owner, "churn-scorer")


@pytest.fixture
def promotion(promotable, model_owner):
    """A pending promotion of churn-scorer 2.0.0, asked by its model owner."""
    return request_promotion(promotable, model_owner)
