"""API: /api/v1/models/?health=… and ?risk_tier=none, through the inventory's filterset."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.inventory.health_data import add_incident, model_in

pytestmark = pytest.mark.django_db


def _slugs(user, **params) -> list[str]:
    client = APIClient()
    client.force_login(user)
    response = client.get(reverse("api:model-list"), params)
    assert response.status_code == 200, response.content
    return sorted(row["slug"] for row in response.json()["results"])


def test_the_api_filters_by_health(validator):
    model_in("incident", slug="broken")
    model_in("overdue", slug="late")
    model_in("ok", slug="fine")
    assert _slugs(validator, health="incident") == ["broken"]
    assert _slugs(validator, health=["ok", "overdue"]) == ["fine", "late"]


def test_an_unknown_health_is_a_400_naming_the_filter(validator):
    client = APIClient()
    client.force_login(validator)
    response = client.get(reverse("api:model-list"), {"health": "fine"})
    assert response.status_code == 400
    assert "health" in response.json()


def test_the_api_keeps_to_the_models_the_user_sees(model_owner, owned_model, foreign_model):
    add_incident(owned_model)
    add_incident(foreign_model)
    assert _slugs(model_owner, health="incident") == [owned_model.slug]


def test_the_api_filters_models_not_yet_assessed(validator):
    model_in("ok", slug="tier-one", risk_tier=1)
    model_in("ok", slug="unassessed", risk_tier=None)
    assert _slugs(validator, risk_tier="none") == ["unassessed"]
    assert _slugs(validator, risk_tier=["none", "1"]) == ["tier-one", "unassessed"]
