"""The model page's tabs as the apps register them: order, labels, links and templates."""

from __future__ import annotations

import re

import pytest
from django.template.loader import get_template
from django.urls import reverse

from apps.core.tabs import registry
from apps.inventory.tabs import MODEL_PAGE

EXPECTED = [
    ("overview", "Overview", "inventory:model_detail", None),
    ("versions", "Versions", "inventory:model_versions", None),
    ("lineage", "Datasets and lineage", "inventory:model_lineage", None),
    ("risk", "Risk", "inventory:model_risk", None),
    ("monitoring", "Monitoring", "monitoring:model_monitoring", None),
    ("incidents", "Incidents", "incidents:model_incidents", "incidents.view_incident"),
    ("thresholds", "Thresholds", "monitoring:threshold_list", None),
    ("approvals", "Approvals", "approvals:model_approvals", "approvals.view_approvalrequest"),
    ("reviews", "Reviews", "reviews:model_reviews", "reviews.view_review"),
    ("reports", "Reports", "reports:model_reports", "reports.view_model_reports"),
    ("history", "History", "inventory:model_history", "inventory.view_history_registeredmodel"),
]


def labels_in(body: str) -> list[str]:
    return re.findall(r'hx-push-url="true"[^>]*>([^<]+)</a>', body)


def test_the_apps_register_the_model_page_tabs_in_order():
    assert [
        (t.key, t.label, t.url_name, t.permission) for t in registry.tabs(MODEL_PAGE)
    ] == EXPECTED


@pytest.mark.parametrize("tab", registry.tabs(MODEL_PAGE), ids=lambda t: t.key)
def test_every_tab_links_to_a_page_of_the_model_and_has_its_panel(tab):
    assert reverse(tab.url_name, args=["some-model"]).count("/some-model/") == 1
    get_template(tab.template)


def test_the_model_page_is_registered_by_the_inventory():
    page = registry.page(MODEL_PAGE)
    assert page.template == "inventory/model_detail.html"
    assert page.object_name == "model"


@pytest.mark.django_db
def test_an_administrator_sees_every_tab_in_order(client, admin_user, owned_model):
    client.force_login(admin_user)
    response = client.get(reverse("inventory:model_detail", kwargs={"slug": owned_model.slug}))
    assert labels_in(response.content.decode()) == [label for _, label, _, _ in EXPECTED]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name", ["inventory:model_detail", "reviews:model_reviews", "reports:model_reports"]
)
def test_a_tab_switch_answers_with_the_tab_bar_and_marks_the_open_tab(
    client, admin_user, owned_model, url_name
):
    client.force_login(admin_user)
    response = client.get(reverse(url_name, args=[owned_model.slug]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" not in body  # the partial, not the whole page
    assert labels_in(body) == [label for _, label, _, _ in EXPECTED]
    [current] = re.findall(r'aria-current="page">([^<]+)</a>', body)
    assert current == {t[2]: t[1] for t in EXPECTED}[url_name]
