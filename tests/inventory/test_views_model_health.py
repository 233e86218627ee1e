"""Health on the inventory's pages: the column and filter of the list, and the banner on
every tab of the model page, saying what is wrong with links to it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import RegisteredModelFactory
from tests.inventory.health_data import (
    add_breach,
    add_incident,
    add_overdue_finding,
    make_overdue_review,
    model_in,
)

ROLES = ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"]
MODEL_TABS = [
    "inventory:model_detail",
    "inventory:model_versions",
    "inventory:model_lineage",
    "inventory:model_risk",
    "monitoring:model_monitoring",
    "monitoring:threshold_list",
    "incidents:model_incidents",
    "reviews:model_reviews",
]
LIST = reverse("inventory:model_list")


@pytest.fixture
def troubled(owned_model):
    """The failed-delivery story: a critical recall breach, an open serious incident, an
    overdue review and an overdue finding."""
    incident = add_incident(owned_model, serious=True, title="Failed deliveries missed")
    threshold = add_breach(owned_model, "critical", metric="recall")
    make_overdue_review(owned_model)
    finding = add_overdue_finding(owned_model, title="Stale labels")
    return incident, threshold, finding


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_banner_with_links(client, request, troubled, role):
    client.force_login(request.getfixturevalue(role))
    body = client.get(reverse("inventory:model_detail", args=["owned-model"])).content.decode()
    assert 'id="health-banner"' in body
    assert "Serious incident: what needs attention" in body
    assert 'href="/incidents/models/owned-model/">A serious incident is open' in body
    assert 'href="/monitoring/models/owned-model/">A signed threshold is critical.' in body
    assert 'href="/reviews/models/owned-model/">The periodic review was due on' in body
    assert 'href="/reviews/models/owned-model/">An open finding is past its due date.' in body


@pytest.mark.parametrize("name", MODEL_TABS)
def test_the_banner_is_on_every_tab(client, validator, troubled, name):
    client.force_login(validator)
    response = client.get(reverse(name, kwargs={"slug": "owned-model"}))
    assert response.status_code == 200
    assert 'id="health-banner"' in response.content.decode()


def test_the_banner_costs_no_query(client, validator, troubled, django_assert_max_num_queries):
    """The banner is made of the facts the model was read with: a troubled model's page
    makes no more queries than a healthy one's."""
    RegisteredModelFactory(slug="healthy")
    client.force_login(validator)
    with django_assert_max_num_queries(12) as healthy:
        body = client.get(reverse("inventory:model_risk", args=["healthy"])).content.decode()
    assert 'id="health-banner"' not in body
    with django_assert_max_num_queries(len(healthy.captured_queries)):
        body = client.get(reverse("inventory:model_risk", args=["owned-model"])).content.decode()
    assert 'id="health-banner"' in body


def test_a_healthy_model_has_no_banner(client, viewer, owned_model):
    client.force_login(viewer)
    body = client.get(reverse("inventory:model_detail", args=["owned-model"])).content.decode()
    assert 'id="health-banner"' not in body
    assert 'id="model-health">OK<' in body


def test_the_banner_escapes_what_users_typed(client, viewer, owned_model):
    add_incident(owned_model, title='<img src=x onerror="alert(1)">')
    client.force_login(viewer)
    body = client.get(reverse("inventory:model_detail", args=["owned-model"])).content.decode()
    assert "<img src=x" not in body
    assert 'id="health-banner"' in body


@pytest.mark.parametrize("rows", [3, 30])
def test_the_troubled_model_page_stays_within_budget(
    client, validator, troubled, owned_model, rows, django_assert_max_num_queries
):
    for i in range(rows):
        add_incident(owned_model, title=f"Incident {i}")
        add_overdue_finding(owned_model, title=f"Finding {i}")
    client.force_login(validator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("inventory:model_detail", args=["owned-model"]))
    assert response.status_code == 200


# --- the list ---------------------------------------------------------------------------


def test_the_list_shows_each_models_health(client, validator):
    model_in("incident", name="Broken model")
    model_in("ok", name="Fine model")
    overdue = model_in("overdue", name="Late model")
    add_breach(overdue, "warning")
    client.force_login(validator)
    body = client.get(LIST).content.decode()
    assert '<th scope="col">Health</th>' in body
    assert "Open incident" in body
    assert 'badge--warn health-badge">Warning</span>' in body
    assert '<span class="health-also small muted">also Review or finding overdue' in body


def test_the_list_filters_by_health(client, validator):
    model_in("incident", name="Broken model")
    model_in("ok", name="Fine model")
    client.force_login(validator)
    body = client.get(LIST, {"health": "incident"}).content.decode()
    assert "Broken model" in body and "Fine model" not in body
    assert 'name="health" value="incident"' in body and "checked" in body


def test_the_csv_export_follows_the_health_filter(client, validator):
    model_in("incident", slug="broken")
    model_in("ok", slug="fine")
    client.force_login(validator)
    response = client.get(reverse("inventory:model_export_csv"), {"health": "ok"})
    text = b"".join(response.streaming_content).decode()
    assert "fine" in text and "broken" not in text


@pytest.mark.parametrize("data", [3, 30])
def test_the_list_reads_health_in_a_constant_number_of_queries(
    client, validator, data, django_assert_max_num_queries
):
    for i in range(data):
        model = model_in(["incident", "critical", "warning", "expired", "overdue", "ok"][i % 6])
        add_incident(model, title="Another")
    client.force_login(validator)
    with django_assert_max_num_queries(12):
        assert client.get(LIST, {"health": ["incident", "ok"]}).status_code == 200


def test_every_filter_a_link_applies_is_shown_and_removable(client, validator):
    """The dashboard links to review dates and unassessed tiers: the form shows them."""
    RegisteredModelFactory(risk_tier=None, name="New model")
    client.force_login(validator)
    body = client.get(
        LIST, {"review_due_before": "2026-01-31", "unassessed": "true", "risk_tier": "none"}
    ).content.decode()
    assert 'type="date" name="review_due_before" value="2026-01-31"' in body
    assert 'name="unassessed"' in body and "Only models not yet assessed" in body
    assert 'name="risk_tier" value="none"' in body and "Not assessed" in body
    assert 'type="hidden" name="review_due_before"' not in body
    # Without the parameter the unassessed choice is not shown (the tier list has it).
    assert 'name="unassessed"' not in client.get(LIST).content.decode()
