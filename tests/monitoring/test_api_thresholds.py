"""The thresholds and metrics API."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from apps.monitoring.choices import ThresholdStatus
from tests.factories import ModelVersionFactory, RegisteredModelFactory
from tests.monitoring.factories import ThresholdFactory

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _body(model, **extra):
    return {
        "model": model.slug,
        "metric": "auc",
        "warning_bound": 0.75,
        "critical_bound": 0.7,
        "rationale": "Agreed with the business.",
        "review_by": (datetime.date.today() + datetime.timedelta(days=60)).isoformat(),
        **extra,
    }


def test_the_owner_drafts_through_the_api(model_owner, owned_model, auc):
    version = ModelVersionFactory(model=owned_model, version="2.0.0")
    response = _client(model_owner).post(
        "/api/v1/thresholds/", _body(owned_model, version="2.0.0"), format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "draft" and data["direction"] == "below"
    assert data["version"] == "2.0.0" and data["model"] == "owned-model"
    assert owned_model.thresholds.get().version == version


def test_bounds_errors_name_the_field(model_owner, owned_model, auc):
    response = _client(model_owner).post(
        "/api/v1/thresholds/", _body(owned_model, critical_bound=0.9), format="json"
    )
    assert response.status_code == 400, response.json()
    assert "must be below the warning bound" in response.json()["critical_bound"][0]


def test_an_unknown_version_is_refused(model_owner, owned_model, auc):
    response = _client(model_owner).post(
        "/api/v1/thresholds/", _body(owned_model, version="9.9.9"), format="json"
    )
    assert response.status_code == 400 and "version" in response.json()


def test_a_business_owner_cannot_draft(business_owner, owned_model, auc):
    response = _client(business_owner).post(
        "/api/v1/thresholds/", _body(owned_model), format="json"
    )
    assert response.status_code == 403


def test_an_invisible_model_is_not_found_as_a_choice(model_owner, auc):
    other = RegisteredModelFactory()
    response = _client(model_owner).post("/api/v1/thresholds/", _body(other), format="json")
    assert response.status_code == 400 and "model" in response.json()


def test_patch_submit_and_revise(model_owner, draft, activate):
    client = _client(model_owner)
    url = f"/api/v1/thresholds/{draft.pk}/"
    assert client.patch(url, {"warning_bound": 0.8}, format="json").json()["warning_bound"] == 0.8
    response = client.post(url + "submit/", {"justification": "Sign please."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "pending_signoff"
    assert response.json()["signoff_request"] is not None
    draft.refresh_from_db()
    from tests.monitoring.conftest import sign

    sign(draft.signoff_request, *_approvers(draft))
    active_patch = client.patch(url, {"warning_bound": 0.9}, format="json")
    assert active_patch.status_code == 400 and "revise" in active_patch.json()["detail"]
    revised = client.post(url + "revise/", format="json")
    assert revised.status_code == 201 and revised.json()["status"] == "draft"
    assert revised.json()["supersedes"] == draft.pk


def _approvers(threshold):
    from apps.accounts.models import User

    return [threshold.model.business_owner, User.objects.get(username="val.validator")]


def test_list_filters_and_constant_queries(
    viewer, validator, owned_model, auc, django_assert_max_num_queries
):
    ThresholdFactory.create_batch(3, model=owned_model, metric=auc)
    ThresholdFactory(model=owned_model, metric=auc, status=ThresholdStatus.EXPIRED)
    client = _client(viewer)
    with django_assert_max_num_queries(8) as few:
        client.get("/api/v1/thresholds/")
    ThresholdFactory.create_batch(30, model=owned_model, metric=auc)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/thresholds/")
    assert response.json()["count"] == 34
    expired = client.get("/api/v1/thresholds/?status=expired&model=owned-model&metric=auc")
    assert expired.json()["count"] == 1


def test_owners_list_only_their_models_thresholds(model_owner, owned_model, foreign_model, auc):
    mine = ThresholdFactory(model=owned_model, metric=auc)
    other = ThresholdFactory(model=foreign_model, metric=auc)
    client = _client(model_owner)
    assert [t["id"] for t in client.get("/api/v1/thresholds/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/v1/thresholds/{other.pk}/").status_code == 404


def test_metrics_are_defined_by_validators(validator, model_owner):
    body = {"name": "drift.psi.age", "direction": "lower_is_better", "unit": "PSI"}
    assert _client(model_owner).post("/api/v1/metrics/", body, format="json").status_code == 403
    response = _client(validator).post("/api/v1/metrics/", body, format="json")
    assert response.status_code == 201 and response.json()["created_by"] == "val.validator"
    again = _client(validator).post("/api/v1/metrics/", body, format="json")
    assert again.status_code == 400 and "name" in again.json()
    bad = _client(validator).post("/api/v1/metrics/", {**body, "name": "Bad Name"}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()
    assert _client(model_owner).get("/api/v1/metrics/").json()["count"] == 1
