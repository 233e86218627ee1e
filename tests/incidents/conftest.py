"""Fixtures of the incident tests: a manual incident, and a model with a production history."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.incidents import services
from apps.inventory.services import promote_version
from tests.factories import ModelVersionFactory
from tests.monitoring.evaluation.fixtures import auc, make_threshold, v1, v2

__all__ = ["auc", "make_threshold", "v1", "v2"]


@pytest.fixture
def incident(owned_model, model_owner):
    return services.incident_create(
        actor=model_owner,
        model=owned_model,
        title="Scores went flat",
        severity="sev3",
        description="Every score is 0.5 since the deploy.",
    )


@pytest.fixture
def production_history(owned_model, admin_user):
    """``owned_model`` (Tier 1, approved) where 1.0.0 went to production, then 2.0.0."""
    owned_model.risk_tier = 1
    owned_model.eu_ai_act_class = "minimal"
    owned_model.status = "approved"
    owned_model.save()
    old = ModelVersionFactory(model=owned_model, version="1.0.0")
    new = ModelVersionFactory(model=owned_model, version="2.0.0")
    with transaction.atomic():
        promote_version(actor=admin_user, version=old, message="First release.")
        promote_version(actor=admin_user, version=new, message="Retrained.")
    old.refresh_from_db()
    new.refresh_from_db()
    return old, new
