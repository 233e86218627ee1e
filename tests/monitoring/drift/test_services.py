"""Drift runs: upload checks, the job storing columns and observations, idempotency."""

from __future__ import annotations

import datetime
import gzip

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.monitoring.drift import services, stats
from apps.monitoring.drift.tasks import run_drift
from apps.monitoring.models import (
    DriftColumn,
    DriftRun,
    IngestionBatch,
    MetricDefinition,
    Observation,
)
from tests.monitoring.drift.factories import csv_upload, parquet_upload, samples

pytestmark = pytest.mark.django_db


def create(user, version, ref, cur, capture, **kw):
    with capture(execute=True):
        run = services.drift_run_create(
            user=user, version=version, reference=ref, current=cur, **kw
        )
    run.refresh_from_db()
    return run


def test_it_computes_stores_columns_and_records_observations(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples()
    observed = timezone.now() - datetime.timedelta(hours=1)
    run = create(
        model_owner,
        version,
        csv_upload(ref, "train.csv"),
        parquet_upload(cur),
        django_capture_on_commit_callbacks,
        observed_at=observed,
    )
    expected = stats.dataset_drift(ref, cur)
    assert run.status == "succeeded", run.error
    assert (run.columns_total, run.columns_drifted) == (2, 1)
    assert run.drift_share == 0.5 and run.dataset_drift is True
    assert (run.reference_rows, run.current_rows) == (1500, 1500)
    assert run.reference_name == "train.csv" and run.task_id
    columns = {c.column: c for c in run.columns.all()}
    assert set(columns) == {"age", "Region"}
    for want in expected.columns:
        got = columns[want.column]
        assert (got.kind, got.method, got.drifted) == (want.kind, want.method, want.drifted)
        assert got.score == pytest.approx(want.score) and got.psi == pytest.approx(want.psi)
    observations = {
        o.metric.name: o
        for o in Observation.objects.filter(batch=run.batch).select_related("metric", "batch")
    }
    assert set(observations) == {
        "drift.share",
        "drift.psi.age",
        "drift.score.age",
        "drift.psi.region",
        "drift.score.region",
    }
    assert observations["drift.psi.age"].value == pytest.approx(columns["age"].psi)
    assert observations["drift.score.region"].value == pytest.approx(columns["Region"].score)
    assert observations["drift.share"].value == 0.5
    assert all(
        o.timestamp == observed and o.version_id == version.pk for o in observations.values()
    )
    batch = run.batch
    assert (batch.source, batch.status, batch.scope_model_id) == (
        "drift",
        "succeeded",
        version.model_id,
    )
    assert batch.rows_loaded == 5 and batch.created_by == model_owner
    assert MetricDefinition.objects.get(name="drift.psi.age").direction == "lower_is_better"
    # Wasserstein is a distance; a p-value metric would be higher-is-better.
    assert MetricDefinition.objects.get(name="drift.score.age").direction == "lower_is_better"
    actions = set(
        AuditEvent.objects.filter(
            object_type="monitoring.driftrun", object_id=str(run.pk)
        ).values_list("action", flat=True)
    )
    assert actions == {"create", "transition"}


def test_it_is_idempotent_when_the_task_runs_twice(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples()
    run = create(
        model_owner, version, csv_upload(ref), csv_upload(cur), django_capture_on_commit_callbacks
    )
    finished_at = run.finished_at
    assert run_drift.delay(run.pk).get() == "succeeded"
    services.drift_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.finished_at == finished_at
    assert DriftColumn.objects.filter(run=run).count() == 2
    assert IngestionBatch.objects.filter(source="drift").count() == 1
    assert Observation.objects.count() == 5


def test_it_recomputes_a_run_left_running_by_a_lost_worker(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples()
    with django_capture_on_commit_callbacks(execute=False):
        run = services.drift_run_create(
            user=model_owner, version=version, reference=csv_upload(ref), current=csv_upload(cur)
        )
    DriftRun.objects.filter(pk=run.pk).update(status="running")
    assert services.drift_run_execute(run_id=run.pk).status == "succeeded"
    assert Observation.objects.count() == 5


def test_it_reuses_metric_definitions_across_runs(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples()
    for hours in (2, 1):
        create(
            model_owner,
            version,
            csv_upload(ref),
            csv_upload(cur),
            django_capture_on_commit_callbacks,
            observed_at=timezone.now() - datetime.timedelta(hours=hours),
        )
    assert MetricDefinition.objects.filter(name__startswith="drift.").count() == 5
    assert Observation.objects.count() == 10


def test_it_reads_gzip_csv_and_semicolons(model_owner, version, django_capture_on_commit_callbacks):
    ref, cur = samples(800)
    semicolons = SimpleUploadedFile("cur.csv", cur.to_csv(index=False, sep=";").encode())
    run = create(
        model_owner,
        version,
        csv_upload(ref, "ref.csv.gz", gz=True),
        semicolons,
        django_capture_on_commit_callbacks,
    )
    assert run.status == "succeeded", run.error
    assert {c.method for c in run.columns.all()} == {"ks", "z"}


def test_it_normalises_column_names_to_metric_names(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples()
    ref.columns = cur.columns = ["Postcode Area (UK)", "Région"]
    run = create(
        model_owner, version, csv_upload(ref), csv_upload(cur), django_capture_on_commit_callbacks
    )
    assert run.status == "succeeded", run.error
    names = set(Observation.objects.values_list("metric__name", flat=True))
    assert {"drift.psi.postcode_area_uk", "drift.score.region"} <= names


# --- refusals: clear message, nothing written ----------------------------------------------


def nothing_written():
    return (
        DriftRun.objects.count(),
        IngestionBatch.objects.count(),
        Observation.objects.count(),
        AuditEvent.objects.filter(object_type="monitoring.driftrun").count(),
    ) == (0, 0, 0, 0)


def refuse(user, version, ref, cur, match, **kw):
    with pytest.raises(ApplicationError, match=match):
        services.drift_run_create(user=user, version=version, reference=ref, current=cur, **kw)
    assert nothing_written()


def test_it_refuses_files_without_a_shared_column(model_owner, version):
    ref, cur = samples()
    cur.columns = ["x", "y"]
    refuse(model_owner, version, csv_upload(ref), csv_upload(cur), "no column in common")


def test_it_refuses_a_column_with_numbers_in_one_file_and_text_in_the_other(model_owner, version):
    ref, cur = samples()
    cur["age"] = "old"
    refuse(model_owner, version, csv_upload(ref), csv_upload(cur), "Column 'age' holds numbers")


def test_it_refuses_columns_giving_the_same_metric_name(model_owner, version):
    ref = pd.DataFrame({"Age": [1.0, 2.0], "age ": [1.0, 2.0], "a-g-e": [3.0, 4.0]})
    ref.columns = ["Age", "AGE!", "other"]
    refuse(model_owner, version, csv_upload(ref), csv_upload(ref), "'Age' and 'AGE!' both give")


def test_it_refuses_a_column_without_letters_or_digits(model_owner, version):
    ref = pd.DataFrame({"%%": [1.0, 2.0]})
    refuse(model_owner, version, csv_upload(ref), csv_upload(ref), "no letter or digit")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "reference file is empty"),
        (b"\x00\x01\x02\xff\xfe binary", "neither Parquet nor UTF-8 CSV"),
        (b"age,region\n", "header but no rows"),
        ("âge,région\n1,nord\n".encode("latin-1"), "neither Parquet nor UTF-8 CSV"),
        (b"\x1f\x8b\x08\x00not really gzip", "not valid gzip"),
        (b"PAR1garbagePAR1", "not a readable Parquet file"),
        (b"a,a\n1,2\n", "repeats the column"),
    ],
)
def test_it_refuses_unreadable_reference_files(model_owner, version, data, match):
    _, cur = samples(10)
    ref = SimpleUploadedFile("ref.csv", data)
    refuse(model_owner, version, ref, csv_upload(cur), match)


def test_it_refuses_oversize_files(model_owner, version, settings):
    settings.MLGOV_DRIFT_MAX_BYTES = 1024
    ref, cur = samples(200)
    refuse(model_owner, version, csv_upload(ref), csv_upload(cur), "the limit is 0 MB")


def test_it_refuses_a_gzip_that_inflates_past_the_limit(model_owner, version, settings):
    settings.MLGOV_DRIFT_MAX_DECOMPRESSED_BYTES = 100_000
    bomb = SimpleUploadedFile("ref.csv.gz", gzip.compress(b"a\n" + b"1\n" * 200_000))
    _, cur = samples(10)
    refuse(
        model_owner,
        version,
        bomb,
        csv_upload(cur),
        r"reference file is larger than 100,000 bytes once decompressed "
        r"\(MLGOV_DRIFT_MAX_DECOMPRESSED",
    )


def test_it_refuses_a_second_run_at_the_same_time(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples(100)
    when = timezone.now() - datetime.timedelta(days=1)
    create(
        model_owner,
        version,
        csv_upload(ref),
        csv_upload(cur),
        django_capture_on_commit_callbacks,
        observed_at=when,
    )
    with pytest.raises(ApplicationError, match="already recorded at that time"):
        services.drift_run_create(
            user=model_owner,
            version=version,
            reference=csv_upload(ref),
            current=csv_upload(cur),
            observed_at=when,
        )


def test_it_refuses_future_and_naive_times(model_owner, version):
    ref, cur = samples(10)
    refuse(
        model_owner,
        version,
        csv_upload(ref),
        csv_upload(cur),
        "in the future",
        observed_at=timezone.now() + datetime.timedelta(days=1),
    )
    refuse(
        model_owner,
        version,
        csv_upload(ref),
        csv_upload(cur),
        "time zone",
        observed_at=datetime.datetime(2025, 1, 1),
    )


def test_it_fails_the_run_with_a_clear_error_when_a_column_is_empty_beyond_the_preview(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples(1200)
    cur["age"] = np.nan
    run = create(
        model_owner, version, csv_upload(ref), csv_upload(cur), django_capture_on_commit_callbacks
    )
    assert run.status == "failed"
    assert run.error == "Column 'age' has no values in the current file."
    assert not DriftColumn.objects.exists() and not Observation.objects.exists()
    assert not IngestionBatch.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "auditor", "business_owner", "other_model_owner"])
def test_it_refuses_users_who_may_not_run_drift(request, who, version):
    ref, cur = samples(10)
    with pytest.raises(PermissionDenied):
        services.drift_run_create(
            user=request.getfixturevalue(who),
            version=version,
            reference=csv_upload(ref),
            current=csv_upload(cur),
        )
    assert nothing_written()


@pytest.mark.parametrize("who", ["admin_user", "validator", "model_owner"])
def test_it_lets_owners_validators_and_admins_run_drift(
    request, who, version, django_capture_on_commit_callbacks
):
    ref, cur = samples(50)
    run = create(
        request.getfixturevalue(who),
        version,
        csv_upload(ref),
        csv_upload(cur),
        django_capture_on_commit_callbacks,
    )
    assert run.status == "succeeded"


def test_it_applies_thresholds_to_drift_metrics(
    model_owner, owned_model, version, activate, review_by, django_capture_on_commit_callbacks
):
    from apps.monitoring import services as monitoring_services
    from apps.monitoring.models import Breach, ThresholdState
    from tests.monitoring.factories import MetricFactory

    metric = MetricFactory(
        name="drift.psi.age", direction="lower_is_better", created_by=model_owner
    )
    threshold = activate(
        monitoring_services.threshold_create(
            actor=model_owner,
            model=owned_model,
            metric=metric,
            warning_bound=0.1,
            critical_bound=0.25,
            rationale="A PSI above 0.25 is a major shift of the age distribution.",
            review_by=review_by,
        )
    )
    ref, cur = samples()
    run = create(
        model_owner, version, csv_upload(ref), csv_upload(cur), django_capture_on_commit_callbacks
    )
    assert run.status == "succeeded"
    state = ThresholdState.objects.get(threshold=threshold, version=version)
    assert state.state == "critical"
    assert state.value == pytest.approx(run.columns.get(column="age").psi)
    assert Breach.objects.filter(threshold=threshold, state="critical").exists()


def test_it_skips_date_columns_and_refuses_samples_with_nothing_to_test(
    model_owner, version, django_capture_on_commit_callbacks
):
    ref, cur = samples(300)
    ref["day"] = cur["day"] = pd.Timestamp("2025-01-01")
    run = create(
        model_owner,
        version,
        parquet_upload(ref),
        parquet_upload(cur),
        django_capture_on_commit_callbacks,
    )
    assert sorted(run.columns.values_list("column", flat=True)) == ["Region", "age"]
    dates = pd.DataFrame({"day": pd.to_datetime(["2025-01-01", "2025-01-02"])})
    refuse_more = pytest.raises(ApplicationError, match="None of the shared columns")
    with refuse_more:
        services.drift_run_create(
            user=model_owner,
            version=version,
            reference=parquet_upload(dates),
            current=parquet_upload(dates),
        )


def test_it_marks_the_run_failed_when_the_task_crashes(
    model_owner, version, django_capture_on_commit_callbacks, monkeypatch
):
    def boom(run):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "_compute", boom)
    ref, cur = samples(50)
    with pytest.raises(RuntimeError):
        create(
            model_owner,
            version,
            csv_upload(ref),
            csv_upload(cur),
            django_capture_on_commit_callbacks,
        )
    run = DriftRun.objects.get()
    assert run.status == "failed" and "failed unexpectedly" in run.error
