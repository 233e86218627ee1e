"""Drift pages: the model's runs with the upload form, a run's results, the progress partial."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.monitoring.models import DriftRun, Observation
from tests.monitoring.drift.factories import csv_upload, make_run, samples

pytestmark = pytest.mark.django_db


def list_url(model):
    return reverse("monitoring:drift_list", args=[model.slug])


def detail_url(run):
    return reverse("monitoring:drift_detail", args=[run.version.model.slug, run.pk])


def test_it_uploads_two_samples_and_shows_the_results(
    client, model_owner, owned_model, version, django_capture_on_commit_callbacks
):
    client.force_login(model_owner)
    ref, cur = samples()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            list_url(owned_model),
            {
                "version": version.pk,
                "reference": csv_upload(ref, "ref.csv"),
                "current": csv_upload(cur, "cur.csv"),
            },
        )
    run = DriftRun.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(run)
    page = client.get(detail_url(run)).content.decode()
    assert "Succeeded" in page and "1 of 2 columns drifted" in page
    assert 'id="drift-columns-' in page and "<svg" in page and "Wasserstein" in page
    assert "hx-trigger" not in page  # finished: no polling
    assert Observation.objects.count() == 5
    listing = client.get(list_url(owned_model)).content.decode()
    assert f'id="drift-run-{run.pk}"' in listing and "1 / 2" in listing


def test_it_shows_the_services_refusal_on_the_form(client, model_owner, owned_model, version):
    client.force_login(model_owner)
    ref, cur = samples(20)
    cur.columns = ["x", "y"]
    response = client.post(
        list_url(owned_model),
        {"version": version.pk, "reference": csv_upload(ref), "current": csv_upload(cur)},
    )
    assert response.status_code == 400
    assert "no column in common" in response.content.decode()
    assert not DriftRun.objects.exists()


def test_it_names_the_file_that_cannot_be_read(client, model_owner, owned_model, version):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(model_owner)
    _, cur = samples(20)
    response = client.post(
        list_url(owned_model),
        {
            "version": version.pk,
            "reference": SimpleUploadedFile("ref.csv", b"\x00\xff\x00garbage"),
            "current": csv_upload(cur),
        },
    )
    assert response.status_code == 400
    assert "The reference file is neither Parquet nor UTF-8 CSV" in response.content.decode()


def test_it_polls_while_the_run_is_queued(client, viewer, owned_model, version, model_owner):
    run = make_run(version, model_owner, status="queued")
    client.force_login(viewer)
    page = client.get(detail_url(run)).content.decode()
    progress = reverse("monitoring:drift_progress", args=[owned_model.slug, run.pk])
    assert f'hx-get="{progress}"' in page and 'hx-trigger="every 2s"' in page
    partial = client.get(progress).content.decode()
    assert "<html" not in partial and "Waiting for a worker" in partial


def test_it_shows_why_a_run_failed(client, viewer, version, model_owner):
    run = make_run(version, model_owner, status="failed", error="Column 'age' has no values.")
    client.force_login(viewer)
    page = client.get(detail_url(run)).content.decode()
    assert "Column &#x27;age&#x27; has no values." in page


def test_it_hides_the_form_from_readers(client, viewer, owned_model, version):
    client.force_login(viewer)
    page = client.get(list_url(owned_model)).content.decode()
    assert "Run drift analysis" not in page
    assert client.post(list_url(owned_model), {"version": version.pk}).status_code == 403


def test_it_hides_runs_of_models_out_of_reach(
    client, model_owner, foreign_model, other_model_owner
):
    from tests.factories import ModelVersionFactory

    version = ModelVersionFactory(model=foreign_model, created_by=other_model_owner)
    run = make_run(version, other_model_owner, columns=2)
    client.force_login(model_owner)
    assert client.get(detail_url(run)).status_code == 404
    assert client.get(list_url(foreign_model)).status_code == 404


def test_it_answers_404_for_a_run_of_another_model(client, admin_user, owned_model, foreign_model):
    from tests.factories import ModelVersionFactory

    version = ModelVersionFactory(model=foreign_model, created_by=admin_user)
    run = make_run(version, admin_user, columns=2)
    client.force_login(admin_user)
    url = reverse("monitoring:drift_detail", args=[owned_model.slug, run.pk])
    assert client.get(url).status_code == 404


def test_it_escapes_column_names(client, viewer, version, model_owner):
    run = make_run(version, model_owner, columns=1)
    run.columns.update(column="<script>alert(1)</script>")
    client.force_login(viewer)
    page = client.get(detail_url(run)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_runs_in_constant_queries(
    client, model_owner, owned_model, version, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        make_run(version, model_owner, columns=2)
    client.force_login(model_owner)
    with django_assert_max_num_queries(14):
        response = client.get(list_url(owned_model))
    assert response.status_code == 200
    assert response.content.decode().count('id="drift-run-') == min(rows, 25)


@pytest.mark.parametrize("rows", [3, 30])
def test_it_shows_a_run_in_constant_queries(
    client, viewer, version, model_owner, rows, django_assert_max_num_queries
):
    run = make_run(version, model_owner, columns=rows)
    client.force_login(viewer)
    with django_assert_max_num_queries(12):
        response = client.get(detail_url(run))
    assert response.content.decode().count('id="drift-column-') == rows
