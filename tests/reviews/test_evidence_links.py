"""Evidence links of a finding: web addresses only at input, never a live script link."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.reviews.models import Finding

pytestmark = pytest.mark.django_db

SCRIPT_LINK = "javascript:fetch('/admin/').then(r=>r.text())"


@pytest.fixture
def finding(validator, model_owner, tier2_model):
    return Finding.objects.create(
        model=tier2_model,
        title="Calibration drift",
        severity="medium",
        description="d",
        owner=model_owner,
        due_date=timezone.localdate(),
        created_by=validator,
    )


def test_the_owner_cannot_save_a_script_link_in_the_form(client, model_owner, finding):
    client.force_login(model_owner)
    response = client.post(
        reverse("reviews:finding_edit", args=[finding.pk]),
        {"evidence": "Fixed", "evidence_links": f"https://ci.example.org/run/7\n{SCRIPT_LINK}"},
    )

    assert response.status_code in (200, 400)
    errors = response.context["form"].errors["evidence_links"]
    assert any("Line 2" in e and "http:// or https://" in e for e in errors)
    finding.refresh_from_db()
    assert finding.evidence_links == ""


def test_the_owner_cannot_save_a_script_link_through_the_api(model_owner, finding):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(model_owner)
    response = api.patch(
        f"/api/v1/findings/{finding.pk}/", {"evidence_links": SCRIPT_LINK}, format="json"
    )

    assert response.status_code == 400
    assert "evidence_links" in response.json()
    finding.refresh_from_db()
    assert finding.evidence_links == ""


def test_web_links_are_saved_and_rendered_as_safe_links(client, model_owner, validator, finding):
    client.force_login(model_owner)
    client.post(
        reverse("reviews:finding_edit", args=[finding.pk]),
        {"evidence": "Fixed", "evidence_links": "https://ci.example.org/run/7"},
    )
    finding.refresh_from_db()
    assert finding.evidence_links == "https://ci.example.org/run/7"

    client.force_login(validator)
    page = client.get(finding.get_absolute_url()).content.decode()
    assert '<a href="https://ci.example.org/run/7" rel="noopener noreferrer nofollow">' in page


@pytest.mark.parametrize("viewer_fixture", ["validator", "auditor", "admin_user"])
def test_a_stored_script_link_is_shown_as_text(client, request, finding, viewer_fixture):
    # Rows saved before input was checked may hold anything: rendering must not trust them.
    Finding.objects.filter(pk=finding.pk).update(
        evidence_links=f"{SCRIPT_LINK}\n JaVaScRiPt:alert(1)\ndata:text/html,x"
    )
    client.force_login(request.getfixturevalue(viewer_fixture))

    page = client.get(finding.get_absolute_url()).content.decode()

    assert 'href="javascript' not in page.lower()
    assert 'href="data:' not in page
    assert "javascript:fetch(&#x27;/admin/&#x27;)" in page
