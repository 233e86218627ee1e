"""Browser pages: upload, batch list and page, live progress partial."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.monitoring.choices import BatchStage, BatchStatus
from apps.monitoring.models import IngestionBatch, Observation
from tests.monitoring.ingestion.conftest import csv_bytes, good_rows, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, model_owner, auc, recall, versions):
    client.force_login(model_owner)
    return client


def test_the_form_preselects_the_model_and_links_the_example_and_template(owner_client):
    page = owner_client.get(reverse("monitoring:batch_create") + "?model=owned-model")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'type="search" name="model" value="owned-model"' in html
    assert "foreign-model" not in html
    assert "monitoring/metrics-example.csv" in html and "monitoring/metrics-template.csv" in html


def test_uploading_redirects_to_the_batch_page_with_its_outcome(
    owner_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile(
        "m.csv", csv_bytes(*good_rows(2), row(value="?", timestamp="2025-03-01T00:00:00Z"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("monitoring:batch_create"),
            {"file": upload, "model": "owned-model", "accept_partial": "on"},
        )
    batch = IngestionBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert batch.source == "upload" and batch.status == BatchStatus.PARTIAL
    page = owner_client.get(batch.get_absolute_url()).content.decode()
    assert 'id="rows-loaded">2<' in page and "Not a number." in page
    assert "hx-trigger" not in page  # done: no more polling


def test_the_progress_partial_polls_until_the_batch_is_done(owner_client, model_owner):
    batch = IngestionBatch.objects.create(
        source="upload",
        file_format="csv",
        sha256="a" * 64,
        status=BatchStatus.RUNNING,
        stage=BatchStage.LOADING,
        progress=60,
        created_by=model_owner,
    )
    partial = owner_client.get(reverse("monitoring:batch_progress", args=[batch.pk]))
    html = partial.content.decode()
    assert 'hx-trigger="every 1s"' in html and 'value="60"' in html and "<html" not in html
    IngestionBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.SUCCEEDED, stage=BatchStage.DONE, progress=100
    )
    assert (
        "hx-trigger"
        not in owner_client.get(
            reverse("monitoring:batch_progress", args=[batch.pk])
        ).content.decode()
    )


def test_a_bad_upload_shows_the_reason_and_nothing_is_written(
    owner_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("m.csv", b"model;version;metric;value;timestamp\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("monitoring:batch_create"), {"file": upload})
    assert "use commas" in owner_client.get(response["Location"]).content.decode()
    assert Observation.objects.count() == 0


def test_values_from_the_file_are_escaped(owner_client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("m.csv", csv_bytes(row(segment="<script>alert(1)</script>")))
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("monitoring:batch_create"), {"file": upload})
    page = owner_client.get(IngestionBatch.objects.get().get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_others_batches_are_hidden(client, other_model_owner, model_owner, foreign_model):
    batch = IngestionBatch.objects.create(
        source="upload",
        file_format="csv",
        sha256="b" * 64,
        scope_model=foreign_model,
        created_by=other_model_owner,
    )
    client.force_login(model_owner)
    assert client.get(batch.get_absolute_url()).status_code == 404
    assert client.get(reverse("monitoring:batch_progress", args=[batch.pk])).status_code == 404
    assert f"#{batch.pk}<" not in client.get(reverse("monitoring:batch_list")).content.decode()


def test_the_pages_take_constant_queries(
    client, validator, model_owner, owned_model, django_assert_max_num_queries
):
    client.force_login(validator)

    def make(n):
        for i in range(n):
            IngestionBatch.objects.create(
                source="upload",
                file_format="csv",
                sha256=f"{IngestionBatch.objects.count():064d}",
                status="failed",
                scope_model=owned_model if i % 2 else None,
                created_by=model_owner,
                row_errors=[
                    {"row": r, "column": "value", "value": "x", "reason": "Not a number."}
                    for r in range(i)
                ],
            )

    make(3)
    urls = lambda: [  # noqa: E731
        reverse("monitoring:batch_list"),
        IngestionBatch.objects.order_by("-pk").first().get_absolute_url(),
        reverse(
            "monitoring:batch_progress", args=[IngestionBatch.objects.order_by("-pk").first().pk]
        ),
    ]
    counts = []
    for url in urls():
        with django_assert_max_num_queries(15) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    make(30)
    for url, count in zip(urls(), counts, strict=True):
        with django_assert_max_num_queries(count):
            assert client.get(url).status_code == 200
