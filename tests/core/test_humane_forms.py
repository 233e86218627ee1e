"""Every form page, and every list's or tab's filter form, reads as a product, not as raw
Django widgets: no "---------" empty choice, no "Unknown" meaning "any", no Ctrl-click
multi-select (every multiple select is a searchable tag box), and at most 12 queries however
many people and models there are."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.core import roles
from apps.incidents import services as incident_services
from apps.reviews import services as review_services
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db

MULTIPLE_SELECT = re.compile(r"<select[^>]*\bmultiple\b[^>]*>")


@pytest.fixture
def world(admin_user, model_owner, business_owner, validator, owned_model):
    for n in range(15):
        UserFactory(username=f"person{n}", roles=[roles.MODEL_OWNER])
        UserFactory(username=f"reader{n}", roles=[roles.AUDITOR])
        RegisteredModelFactory(owner=model_owner, business_owner=business_owner)
    ModelVersionFactory(model=owned_model, version="1.0.0")
    incident = incident_services.incident_create(
        actor=validator, model=owned_model, title="Flat scores", severity="sev3"
    )
    finding = review_services.finding_create(
        actor=validator,
        model=owned_model,
        title="Gap",
        severity="high",
        description="No drift alerting.",
        owner=model_owner,
        due_date="2030-01-01",
    )
    return {"incident": incident, "finding": finding}


def _pages(world) -> list[str]:
    slug = "owned-model"
    return [
        reverse("inventory:model_create"),
        reverse("inventory:model_edit", args=[slug]),
        reverse("inventory:model_detail", args=[slug]),
        reverse("inventory:version_create", args=[slug]),
        reverse("inventory:dataset_create"),
        reverse("incidents:incident_create"),
        reverse("incidents:incident_edit", args=[world["incident"].reference]),
        reverse("incidents:incident_list"),
        reverse("reviews:review_create"),
        reverse("reviews:finding_create"),
        reverse("reviews:finding_edit", args=[world["finding"].pk]),
        reverse("monitoring:threshold_create", args=[slug]),
        # Lists and model tabs: their filter forms.
        reverse("inventory:model_list"),
        reverse("inventory:dataset_list"),
        reverse("reports:report_list"),
        reverse("audit:event_list"),
        reverse("approvals:inbox"),
        reverse("approvals:my_requests"),
        reverse("reviews:review_list"),
        reverse("reviews:finding_list"),
        reverse("notifications:list"),
        reverse("inventory:model_versions", args=[slug]),
        reverse("inventory:model_history", args=[slug]),
        reverse("monitoring:model_monitoring", args=[slug]),
        reverse("monitoring:threshold_list", args=[slug]),
        reverse("incidents:model_incidents", args=[slug]),
        reverse("approvals:model_approvals", args=[slug]),
        reverse("reviews:model_reviews", args=[slug]),
        reverse("reports:model_reports", args=[slug]),
    ]


def test_form_pages_are_humane_and_constant_in_queries(
    client, admin_user, world, django_assert_max_num_queries
):
    client.force_login(admin_user)
    problems = []
    for url in _pages(world):
        with django_assert_max_num_queries(12):
            response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        if "---------" in page:
            problems.append((url, "a '---------' choice"))
        if ">Unknown</option>" in page:
            problems.append((url, "'Unknown' meaning any"))
        problems += [
            (url, select)
            for select in MULTIPLE_SELECT.findall(page)
            if "data-choices=" not in select
        ]
        if "/incidents/" in url or "/reviews/" in url:  # people who act, never readers
            assert "aud.auditor" not in page and "reader1" not in page, url
    assert problems == [], "\n".join(map(str, problems))
