"""The header on every page: the section a page belongs to, the links each role is offered,
and the Menu button that folds the navigation on narrow screens."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


def _current(body: str) -> list[str]:
    """The labels of the main navigation's links marked as the current page."""
    main = body.split('<nav class="main-nav"', 1)[1].split("</nav>", 1)[0]
    return [label.strip() for label in re.findall(r'aria-current="page">([^<]+)<', main)]


@pytest.mark.parametrize(
    "url_name",
    [
        "inventory:model_detail",
        "inventory:model_versions",
        "monitoring:model_monitoring",
        "approvals:model_approvals",
        "reviews:model_reviews",
        "reports:model_reports",
    ],
)
def test_every_tab_of_a_model_keeps_models_current(client, validator, url_name):
    model = RegisteredModelFactory()
    client.force_login(validator)
    response = client.get(reverse(url_name, args=[model.slug]))
    assert response.status_code == 200
    assert _current(response.content.decode()) == ["Models"]


def test_the_dataset_catalogue_and_the_inbox_are_their_own_sections(client, validator):
    client.force_login(validator)
    datasets = client.get(reverse("inventory:dataset_list")).content.decode()
    assert _current(datasets) == ["Datasets"]
    inbox = client.get(reverse("approvals:inbox")).content.decode()
    assert _current(inbox) == ["My approvals"]


@pytest.mark.parametrize("persona", ["auditor", "viewer"])
def test_it_offers_no_approvals_inbox_to_roles_that_neither_request_nor_decide(
    client, request, persona
):
    client.force_login(request.getfixturevalue(persona))
    body = client.get(reverse("dashboard:home")).content.decode()
    assert "My approvals" not in body
    assert reverse("approvals:inbox") + '"' not in body


@pytest.mark.parametrize("persona", ["admin_user", "validator", "business_owner", "model_owner"])
def test_it_offers_the_approvals_inbox_to_those_who_request_or_decide(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    body = client.get(reverse("dashboard:home")).content.decode()
    assert "My approvals" in body


def test_administrators_get_a_link_to_the_admin_site(client, admin_user, validator):
    admin_link = f'href="{reverse("admin:index")}"'
    client.force_login(admin_user)
    assert admin_link in client.get(reverse("dashboard:home")).content.decode()
    client.force_login(validator)
    assert admin_link not in client.get(reverse("dashboard:home")).content.decode()


def test_the_header_folds_behind_a_menu_button_and_the_account_menu(
    client, validator, django_assert_max_num_queries
):
    client.force_login(validator)
    with django_assert_max_num_queries(12):
        body = client.get(reverse("accounts:password_change")).content.decode()
    # Open in the markup (usable without JavaScript); static/js/mlgov.js folds them.
    assert re.search(r'<button type="button" class="nav-toggle" aria-expanded="true"', body)
    assert 'aria-controls="site-menu"' in body and 'id="site-menu"' in body
    assert 'aria-controls="account-menu"' in body and 'id="account-menu"' in body
    account = body.split('id="account-menu"', 1)[1].split("</ul>", 1)[0]
    for link in ("accounts:password_change", "accounts:token_list", "api-docs"):
        assert reverse(link) in account
    # Signing out stays one click away, outside the folded account menu.
    assert body.index("Sign out") > body.index("</ul>", body.index('id="account-menu"'))


@pytest.mark.parametrize(
    ("count", "shown"), [(None, ""), (0, ""), (1, "1"), (99, "99"), (100, "99+"), (5000, "99+")]
)
def test_a_badge_shows_up_to_99_and_then_99_plus(count, shown):
    from apps.core.navigation import badge_count

    assert badge_count(count) == shown
