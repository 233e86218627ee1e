"""The dashboard's health summary: models per state, each a link to the filtered inventory."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.dashboard.selectors import inventory_figures
from tests.inventory.health_data import add_incident, make_overdue_review, model_in

STATES = ["incident", "critical", "warning", "expired", "overdue", "ok"]


@pytest.mark.django_db
def test_each_model_is_counted_once_in_its_worst_state(validator):
    for state in STATES:
        model_in(state)
    worst = model_in("critical")
    make_overdue_review(worst)
    figures = inventory_figures(user=validator)
    counts = {f.key: f.count for f in figures.by_health}
    assert counts == {
        "incident": 1,
        "critical": 2,
        "warning": 1,
        "expired": 1,
        "overdue": 1,
        "ok": 1,
    }
    assert sum(counts.values()) == figures.total


@pytest.mark.django_db
def test_counts_cover_only_the_models_the_user_sees(model_owner, owned_model, foreign_model):
    add_incident(owned_model)
    add_incident(foreign_model)
    counts = {f.key: f.count for f in inventory_figures(user=model_owner).by_health}
    assert counts["incident"] == 1


def test_the_summary_links_to_the_inventory_filtered_alike(client, validator):
    for state in STATES:
        model_in(state)
    client.force_login(validator)
    body = client.get(reverse("dashboard:home")).content.decode()
    assert 'id="health-summary"' in body
    for state in STATES:
        assert f'href="/inventory/models/?health={state}"' in body
        listed = client.get(reverse("inventory:model_list"), {"health": state}).content.decode()
        assert "1 model found" in listed


def test_the_not_assessed_tier_links_to_the_tier_filter(client, validator):
    model_in("ok", risk_tier=None)
    client.force_login(validator)
    body = client.get(reverse("dashboard:home")).content.decode()
    assert "/inventory/models/?risk_tier=none" in body
    assert "unassessed=" not in body


@pytest.mark.parametrize("role", ["viewer", "validator"])
def test_the_dashboard_query_count_does_not_grow(
    client, db, request, role, django_assert_max_num_queries
):
    """The health counts ride on the inventory figures' one aggregate query."""
    for i in range(3):
        model_in(STATES[i % len(STATES)])
    client.force_login(request.getfixturevalue(role))
    with django_assert_max_num_queries(13) as few:
        assert client.get(reverse("dashboard:home")).status_code == 200
    queries = len(few.captured_queries)
    for i in range(30):
        model = model_in(STATES[i % len(STATES)])
        add_incident(model)
    with django_assert_max_num_queries(queries):
        assert client.get(reverse("dashboard:home")).status_code == 200
