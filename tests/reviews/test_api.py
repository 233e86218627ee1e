"""/api/v1/reviews/ and /api/v1/findings/: same rules as the pages, constant query counts."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.reviews.models import Finding, Review
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_a_validator_records_a_finding_and_the_owner_adds_evidence(
    api, validator, model_owner, tier2_model
):
    api.force_authenticate(validator)
    response = api.post(
        "/api/v1/findings/",
        {
            "model": tier2_model.slug,
            "title": "Stale features",
            "severity": "medium",
            "description": "Feature store lags.",
            "owner": model_owner.username,
            "due_date": "2030-01-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    api.force_authenticate(model_owner)
    refused = api.patch(f"/api/v1/findings/{pk}/", {"severity": "low"}, format="json")
    assert refused.status_code == 400
    ok = api.patch(f"/api/v1/findings/{pk}/", {"evidence": "Backfilled."}, format="json")
    assert ok.status_code == 200 and ok.json()["evidence"] == "Backfilled."
    done = api.post(f"/api/v1/findings/{pk}/status/", {"status": "remediated"}, format="json")
    assert done.json()["status"] == "remediated"


def test_an_auditor_reads_but_cannot_write(api, auditor, tier2_model):
    api.force_authenticate(auditor)
    assert api.get("/api/v1/reviews/").status_code == 200
    created = api.post("/api/v1/reviews/", {"model": tier2_model.slug, "scope": "x"})
    assert created.status_code == 403


def test_submit_answers_202_with_the_approval_request(api, validator, tier2_model):
    review = Review.objects.create(
        model=tier2_model,
        reviewer=validator,
        scope="s",
        outcome="satisfactory",
        notes="n",
        created_by=validator,
    )
    api.force_authenticate(validator)
    response = api.post(f"/api/v1/reviews/{review.pk}/submit/", {}, format="json")
    assert response.status_code == 202
    assert response.json()["kind"] == "review_attestation"


@pytest.mark.parametrize("url", ["/api/v1/reviews/", "/api/v1/findings/?overdue=1"])
def test_lists_cost_the_same_queries_for_3_or_30_rows(
    url, api, validator, model_owner, django_assert_max_num_queries
):
    def add(n):
        for i in range(n):
            model = RegisteredModelFactory(owner=model_owner)
            Review.objects.create(model=model, reviewer=validator, scope="s", created_by=validator)
            Finding.objects.create(
                model=model,
                title=f"f{i}",
                severity="low",
                description="d",
                owner=model_owner,
                due_date=timezone.localdate() - dt.timedelta(days=1),
                created_by=validator,
            )

    api.force_authenticate(validator)
    add(3)
    with django_assert_max_num_queries(10) as few:
        assert len(api.get(url).json()["results"]) == 3
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get(url).status_code == 200
