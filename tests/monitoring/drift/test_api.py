"""Drift runs API: multipart upload answered 202, list and detail restricted to the user."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from apps.monitoring.models import DriftRun
from tests.factories import ModelVersionFactory
from tests.monitoring.drift.factories import csv_upload, make_run, samples

pytestmark = pytest.mark.django_db
LIST = "/api/v1/drift-runs/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_queues_a_run_from_a_multipart_upload(
    model_owner, owned_model, version, django_capture_on_commit_callbacks
):
    ref, cur = samples()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(model_owner).post(
            LIST,
            {
                "model": owned_model.slug,
                "version": version.version,
                "reference": csv_upload(ref),
                "current": csv_upload(cur),
                "observed_at": "2025-06-01T12:00:00+02:00",
            },
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["model"], body["version"], body["status"]) == (owned_model.slug, "2.0.0", "queued")
    assert body["observed_at"] == "2025-06-01T10:00:00Z"
    detail = api(model_owner).get(f"{LIST}{body['id']}/").json()
    assert detail["status"] == "succeeded" and detail["dataset_drift"] is True
    assert {c["column"]: c["method"] for c in detail["columns"]} == {
        "age": "wasserstein",
        "Region": "jensenshannon",
    }


def test_it_answers_400_naming_the_unreadable_file(model_owner, owned_model, version):
    _, cur = samples(10)
    response = api(model_owner).post(
        LIST,
        {
            "model": owned_model.slug,
            "version": version.version,
            "reference": csv_upload(cur),
            "current": SimpleUploadedFile("cur.csv", b""),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "current" in str(response.json())
    assert not DriftRun.objects.exists()


def test_it_answers_400_for_an_unknown_version(model_owner, owned_model):
    ref, cur = samples(10)
    response = api(model_owner).post(
        LIST,
        {
            "model": owned_model.slug,
            "version": "0.0.9",
            "reference": csv_upload(ref),
            "current": csv_upload(cur),
        },
        format="multipart",
    )
    assert response.status_code == 400 and "version" in response.json()


def test_it_hides_models_out_of_reach(model_owner, foreign_model, other_model_owner):
    ModelVersionFactory(model=foreign_model, version="1.0.0", created_by=other_model_owner)
    ref, cur = samples(10)
    response = api(model_owner).post(
        LIST,
        {
            "model": foreign_model.slug,
            "version": "1.0.0",
            "reference": csv_upload(ref),
            "current": csv_upload(cur),
        },
        format="multipart",
    )
    assert response.status_code == 404


def test_it_refuses_readers(viewer, owned_model, version):
    ref, cur = samples(10)
    response = api(viewer).post(
        LIST,
        {
            "model": owned_model.slug,
            "version": version.version,
            "reference": csv_upload(ref),
            "current": csv_upload(cur),
        },
        format="multipart",
    )
    assert response.status_code == 403


def test_it_filters_runs_by_model_and_lists_only_visible_ones(
    model_owner, version, foreign_model, other_model_owner
):
    mine = make_run(version, model_owner)
    other = ModelVersionFactory(model=foreign_model, created_by=other_model_owner)
    make_run(other, other_model_owner)
    ids = [r["id"] for r in api(model_owner).get(LIST).json()["results"]]
    assert ids == [mine.pk]
    assert api(model_owner).get(LIST, {"model": "nope"}).json()["results"] == []


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_in_constant_queries(model_owner, version, rows, django_assert_max_num_queries):
    for _ in range(rows):
        make_run(version, model_owner, columns=2)
    with django_assert_max_num_queries(6):
        response = api(model_owner).get(LIST)
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_it_reads_a_run_in_constant_queries(
    model_owner, version, rows, django_assert_max_num_queries
):
    run = make_run(version, model_owner, columns=rows)
    with django_assert_max_num_queries(6):
        response = api(model_owner).get(reverse("api:drift-run-detail", args=[run.pk]))
    assert len(response.json()["columns"]) == rows
