"""The dashboard: figures restricted to the user's models, charts, constant query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.dashboard.selectors import inventory_figures
from apps.inventory.choices import EUAIActClass, LifecycleStatus
from tests.factories import RegisteredModelFactory

HOME = "/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factories hash a password per user; the slow production hasher adds nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_anonymous_users_go_to_login(client, db):
    response = client.get(HOME)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_users_without_a_role_are_refused(client, outsider):
    client.force_login(outsider)
    assert client.get(HOME).status_code == 403


@pytest.mark.parametrize(
    "persona", ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"]
)
def test_every_role_sees_the_dashboard(client, request, persona, owned_model):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(HOME)
    assert response.status_code == 200
    assert b"<svg" in response.content
    assert b"By risk tier" in response.content


def test_it_counts_tiers_statuses_classes_and_reviews(viewer, owned_model):
    today = timezone.localdate()
    RegisteredModelFactory(
        risk_tier=1,
        eu_ai_act_class=EUAIActClass.HIGH_RISK,
        eu_annex_iii_point="5(b)",
        next_review_date=today - dt.timedelta(days=1),
    )
    RegisteredModelFactory(risk_tier=2, next_review_date=today + dt.timedelta(days=10))
    RegisteredModelFactory(risk_tier=3, next_review_date=today + dt.timedelta(days=60))
    RegisteredModelFactory(
        status=LifecycleStatus.RETIRED, next_review_date=today - dt.timedelta(days=5)
    )
    figures = inventory_figures(user=viewer, today=today)
    assert figures.total == 5
    tiers = {f.key: f.count for f in figures.by_tier}
    assert tiers == {"1": 1, "2": 1, "3": 1, "": 2}
    statuses = {f.key: f.count for f in figures.by_status}
    assert statuses["development"] == 4 and statuses["retired"] == 1
    assert {f.key: f.count for f in figures.by_eu_class}["high_risk"] == 1
    assert (figures.overdue, figures.due_soon, figures.due_later) == (1, 1, 2)
    assert [m.risk_tier for m in figures.upcoming] == [1, 2, 3]


def test_a_model_owner_sees_only_their_models(model_owner, owned_model, foreign_model):
    figures = inventory_figures(user=model_owner)
    assert figures.total == 1


def test_html_is_escaped(client, viewer):
    RegisteredModelFactory(name="<script>alert(1)</script>", next_review_date=timezone.localdate())
    client.force_login(viewer)
    content = client.get(HOME).content
    assert b"<script>alert(1)</script>" not in content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in content


@pytest.mark.parametrize("rows", [3, 30])
def test_the_query_count_does_not_grow_with_the_inventory(
    client, viewer, rows, django_assert_max_num_queries
):
    today = timezone.localdate()
    for i in range(rows):
        RegisteredModelFactory(risk_tier=1 + i % 3, next_review_date=today + dt.timedelta(days=i))
    client.force_login(viewer)
    # The page's budget (issue 15): 12 whatever the inventory's size.
    with django_assert_max_num_queries(12):
        assert client.get(HOME).status_code == 200


def test_it_flags_models_with_expired_thresholds(client, viewer, owned_model, foreign_model):
    from tests.monitoring.factories import ThresholdFactory

    ThresholdFactory(model=owned_model, status="expired")
    client.force_login(viewer)
    content = client.get(HOME).content.decode()
    assert "Expired thresholds" in content
    assert owned_model.name in content
    assert foreign_model.name not in content.split("Expired thresholds")[1].split("</section>")[0]
