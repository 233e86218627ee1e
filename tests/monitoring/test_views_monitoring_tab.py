"""The Monitoring tab of a model: charts with bands and breaches, time range and segment,
threshold states, batches, incidents; 404 outside reach; constant query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.incidents.models import Incident
from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory, ThresholdFactory
from tests.monitoring.observations import batch_for, breach, observe

pytestmark = pytest.mark.django_db

#: The most queries a page may run, whatever the role and the data size (the product's
#: target): the session, the user and their roles, the approval inbox badge (validators and
#: business owners), the model, the series overview, the chart series, the threshold states,
#: the breaches, the latest drift run, the open incidents and the batches.
QUERIES = 12


def url(slug: str = "owned-model", **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("monitoring:model_monitoring", kwargs={"slug": slug}) + (
        f"?{query}" if query else ""
    )


@pytest.fixture
def version(owned_model):
    return ModelVersionFactory(model=owned_model, version="1.0.0")


@pytest.fixture
def batch(owned_model, model_owner):
    return batch_for(owned_model, model_owner)


@pytest.fixture
def recall(admin_user):
    return MetricFactory(name="recall", unit="ratio", created_by=admin_user)


@pytest.fixture
def falling_recall(version, recall, batch, owned_model, activate):
    """30 days of recall falling from 0.9 to 0.6, a signed threshold and a critical breach."""
    values = [0.9 - 0.01 * i for i in range(30)]
    observe(version, recall, values, batch=batch)
    threshold = ThresholdFactory(
        model=owned_model, metric=recall, warning_bound=0.8, critical_bound=0.72
    )
    threshold = activate(threshold)
    at = timezone.now() - timedelta(days=5)
    breach(threshold, version, value=0.66, at=at)
    return threshold


def test_anonymous_users_go_to_login(client, owned_model):
    response = client.get(url())
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_hides_models_out_of_reach(client, model_owner, foreign_model):
    client.force_login(model_owner)
    assert client.get(url("foreign-model")).status_code == 404


def test_it_is_a_tab_of_the_model_page(client, viewer, owned_model):
    client.force_login(viewer)
    response = client.get(reverse("inventory:model_detail", kwargs={"slug": owned_model.slug}))
    assert url().encode() in response.content
    response = client.get(url())
    assert response.status_code == 200
    assert b'aria-current="page">Monitoring' in response.content
    assert b"No observations in this range." in response.content


def test_it_draws_a_chart_with_threshold_bands_and_breach_markers(client, viewer, falling_recall):
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    [svg] = re.findall(r'<svg class="metric-chart".*?</svg>', body, re.S)
    assert 'role="img"' in svg and '<title id="metric-' in svg
    assert 'class="band band--warning"' in svg and 'class="band band--critical"' in svg
    assert "Critical zone: below 0.72" in svg
    assert 'class="breach breach--critical"' in svg
    assert "Critical breach of recall 1.0.0: 0.66 (bound 0.72)" in svg
    assert "<polyline" in svg
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert len(points) == 30
    for label in ("Warning zone", "Critical zone", "Breach", "1.0.0"):
        assert f">{label}</text>" in svg
    assert f"threshold #{falling_recall.pk}" in body


def test_the_critical_zone_is_on_the_side_the_value_breaches(client, viewer, falling_recall):
    client.force_login(viewer)
    svg = client.get(url()).content.decode()
    band = {
        kind: float(y)
        for kind, y in re.findall(r'class="band band--(\w+)" x="[\d.]+" y="([\d.]+)"', svg)
    }
    # "below": the critical zone lies under the warning zone (larger y on screen).
    assert band["critical"] > band["warning"]


def test_the_time_range_selects_the_observations_shown(client, viewer, version, recall, batch):
    old = timezone.now() - timedelta(days=60)
    observe(version, recall, [0.5, 0.6], batch=batch, end=old)
    observe(version, recall, [0.7], batch=batch)
    client.force_login(viewer)
    assert b"3 observations" in client.get(url(range="90d")).content
    recent = client.get(url(range="7d")).content
    assert b"1 observation<" in recent or b"1 observation " in recent
    assert b"3 observations" in client.get(url(range="all")).content
    # Unknown ranges fall back to the default (90 days).
    assert b"3 observations" in client.get(url(range="junk")).content


def test_segments_are_charted_one_at_a_time(client, viewer, version, recall, batch):
    observe(version, recall, [0.8, 0.81], batch=batch)
    observe(version, recall, [0.4, 0.41, 0.42], batch=batch, segment="region=eu")
    client.force_login(viewer)
    whole = client.get(url()).content.decode()
    assert "2 observations" in whole and 'id="segment-select"' in whole
    eu = client.get(url(segment="region=eu")).content.decode()
    assert "3 observations" in eu
    # A segment the model has no observations of shows the whole population.
    assert "2 observations" in client.get(url(segment="nope")).content.decode()


def test_drift_metrics_come_after_the_others_collapsed(client, viewer, version, recall, batch):
    psi = MetricFactory(name="drift.psi.postcode", unit="PSI", direction="lower_is_better")
    observe(version, psi, [0.02, 0.3], batch=batch)
    observe(version, recall, [0.8, 0.81], batch=batch)
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    assert body.index('id="chart-recall"') < body.index('id="drift-charts"')
    assert body.index('id="drift-charts"') < body.index('id="chart-driftpsipostcode"')


def test_it_shows_threshold_states_incidents_and_batches(
    client, viewer, owned_model, falling_recall, batch, model_owner
):
    incident = Incident.objects.create(
        reference="INC-2026-0001",
        model=owned_model,
        title="Recall below the critical bound",
        severity="sev2",
        threshold=falling_recall,
        detected_at=timezone.now(),
    )
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    state = re.search(rf'<tr id="state-{falling_recall.pk}">.*?</tr>', body, re.S).group(0)
    assert "badge--danger" in state and "Critical" in state and "0.66" in state
    assert incident.reference in body and incident.get_absolute_url() in body
    assert f'href="{batch.get_absolute_url()}"' in body and "test.csv" in body


def test_only_those_who_may_push_metrics_see_the_upload_link(
    client, viewer, model_owner, owned_model
):
    client.force_login(viewer)
    assert b"Upload metrics" not in client.get(url()).content
    client.force_login(model_owner)
    body = client.get(url()).content.decode()
    link = reverse("monitoring:batch_create") + "?model=owned-model"
    assert f'href="{link}"' in body


def test_times_are_shown_in_the_users_zone(client, viewer, version, recall, batch):
    viewer.timezone = "Asia/Tokyo"
    viewer.save()
    observe(version, recall, [0.8, 0.81], batch=batch)
    client.force_login(viewer)
    assert b"Time (Asia/Tokyo)" in client.get(url()).content


def test_an_htmx_request_gets_the_tab_only(client, viewer, owned_model):
    client.force_login(viewer)
    response = client.get(url(range="30d"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content and b'id="monitoring"' in response.content


def _metrics_with_observations(owned_model, version, batch, n: int, first: int = 0):
    for i in range(first, first + n):
        metric = MetricFactory(name=f"m{i}")
        observe(version, metric, [0.1 * j for j in range(20)], batch=batch)
        if i % 3 == 0:
            ThresholdFactory(
                model=owned_model, metric=metric, status="active", created_by=owned_model.owner
            )


def test_query_count_is_constant_in_the_number_of_metrics(
    client, viewer, owned_model, version, batch, django_assert_max_num_queries
):
    _metrics_with_observations(owned_model, version, batch, 3)
    client.force_login(viewer)
    with django_assert_max_num_queries(QUERIES) as few:
        assert client.get(url()).status_code == 200
    other = ModelVersionFactory(model=owned_model)
    _metrics_with_observations(owned_model, other, batch, 27, first=3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url())
    assert response.content.count(b'<svg class="metric-chart"') == 30


def _drift_run(version, user, *, days_ago: int, columns: dict[str, bool]):
    """A succeeded drift run of ``version`` with a result per column (name: drifted)."""
    from apps.monitoring.models import DriftColumn, DriftRun

    run = DriftRun.objects.create(
        version=version,
        reference_file="drift/ref.csv",
        reference_name="ref.csv",
        reference_sha256="0" * 64,
        current_file="drift/cur.csv",
        current_name="cur.csv",
        current_sha256="1" * 64,
        observed_at=timezone.now() - timedelta(days=days_ago),
        status="succeeded",
        columns_total=len(columns),
        columns_drifted=sum(columns.values()),
        created_by=user,
    )
    for column, drifted in columns.items():
        DriftColumn.objects.create(
            run=run,
            column=column,
            kind="categorical",
            method="jensenshannon",
            score=0.8 if drifted else 0.01,
            threshold=0.1,
            drifted=drifted,
            psi=8.8 if drifted else 0.01,
        )
    return run


def test_it_shows_the_latest_drift_run_per_column(client, viewer, version, model_owner):
    _drift_run(version, model_owner, days_ago=14, columns={"postcode_district": False})
    run = _drift_run(version, model_owner, days_ago=1, columns={"postcode_district": True})
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    assert f'id="drift-columns-{run.pk}"' in body and "postcode_district" in body
    assert "1 of 1 columns drifted" in body
    assert reverse("monitoring:drift_detail", kwargs={"slug": "owned-model", "pk": run.pk}) in body


def test_drifted_columns_come_first_and_a_run_without_columns_shows(
    client, viewer, version, model_owner
):
    run = _drift_run(
        version, model_owner, days_ago=2, columns={"age": False, "zip": True, "city": False}
    )
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    table = re.search(rf'<table class="data" id="drift-columns-{run.pk}">.*?</table>', body, re.S)
    assert re.findall(r'<th scope="row" class="mono">(\w+)</th>', table.group(0)) == [
        "zip",
        "age",
        "city",
    ]
    empty = _drift_run(version, model_owner, days_ago=1, columns={})
    body = client.get(url()).content.decode()
    assert f'id="drift-columns-{empty.pk}"' in body and "No columns." in body


def test_batches_link_to_their_page(client, viewer, batch):
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    assert reverse("monitoring:batch_detail", kwargs={"pk": batch.pk}) in body


def test_range_links_keep_the_segment(client, viewer, version, recall, batch):
    observe(version, recall, [0.4], batch=batch, segment="region=eu")
    client.force_login(viewer)
    body = client.get(url(segment="region=eu")).content.decode()
    assert 'href="/monitoring/models/owned-model/?range=7d&amp;segment=region%3Deu"' in body


def test_unscoped_batches_with_rows_of_the_model_show_to_those_who_may_see_them(
    client, version, recall, model_owner, business_owner, viewer, foreign_model
):
    from apps.monitoring.models import IngestionBatch

    mixed = batch_for(owned := version.model, model_owner, name="several-models")
    IngestionBatch.objects.filter(pk=mixed.pk).update(scope_model=None)
    observe(version, recall, [0.8], batch=mixed)
    other = batch_for(foreign_model, model_owner, name="other-model")
    link = f'href="{mixed.get_absolute_url()}"'
    client.force_login(model_owner)  # the uploader
    body = client.get(url(owned.slug)).content.decode()
    assert link in body and f'href="{other.get_absolute_url()}"' not in body
    client.force_login(viewer)  # an oversight role
    assert link in client.get(url(owned.slug)).content.decode()
    client.force_login(business_owner)  # neither
    assert link not in client.get(url(owned.slug)).content.decode()


@pytest.mark.parametrize("range_key", ["7d", "30d", "1y", "all"])
def test_query_count_does_not_grow_with_observations_batches_or_history(
    client,
    viewer,
    owned_model,
    version,
    recall,
    model_owner,
    range_key,
    django_assert_max_num_queries,
):
    from apps.monitoring.models import IngestionBatch

    def load(n, name, step):
        batch = batch_for(owned_model, model_owner, name=name)
        observe(version, recall, [0.5 + (i % 7) / 100 for i in range(n)], batch=batch, step=step)
        unscoped = batch_for(owned_model, model_owner, name=f"{name}-unscoped")
        IngestionBatch.objects.filter(pk=unscoped.pk).update(scope_model=None)
        observe(version, recall, [0.4], batch=unscoped, end=timezone.now() - timedelta(minutes=1))

    load(20, "small", timedelta(days=1))
    client.force_login(viewer)
    with django_assert_max_num_queries(QUERIES) as few:
        assert client.get(url(range=range_key)).status_code == 200
    queries = len(few.captured_queries)  # read now: the next request clears the log
    for i in range(5):
        load(2000, f"big{i}", timedelta(minutes=10 + i))
    load(400, "long", timedelta(days=1))  # more than a year of history
    with django_assert_max_num_queries(queries):
        response = client.get(url(range=range_key))
    assert response.content.count(b'<svg class="metric-chart"') == 1


def _observed_model(model, uploader, *, tag: str, metrics: int, segments: int):
    """Two new versions of ``model`` observed for ``metrics`` new metrics over 30 days, the
    first metric also in ``segments`` new segments, with a batch scoped to the model and an
    unscoped one holding its rows; an active threshold per metric (one per version, one per
    segment) with a state and a breach; a drift run of ``metrics`` columns, an open incident
    and a pending sign-off, so every section of the tab has rows."""
    from apps.incidents.models import Incident
    from apps.monitoring import services
    from apps.monitoring.models import IngestionBatch

    old, new = (ModelVersionFactory(model=model, version=f"{tag}.{i}") for i in (1, 2))
    scoped = batch_for(model, uploader, name=f"{tag}-scoped")
    unscoped = batch_for(model, uploader, name=f"{tag}-unscoped")
    IngestionBatch.objects.filter(pk=unscoped.pk).update(scope_model=None)
    at = timezone.now() - timedelta(days=3)
    first = None
    for i in range(metrics):
        metric = MetricFactory(name=f"{tag}.m{i}")
        first = first or metric
        observe(old, metric, [0.9 - 0.01 * j for j in range(30)], batch=scoped)
        observe(new, metric, [0.8 - 0.01 * j for j in range(30)], batch=unscoped)
        threshold = ThresholdFactory(
            model=model,
            metric=metric,
            version=new if i % 2 else None,
            status="active",
            warning_bound=0.7,
            critical_bound=0.6,
        )
        breach(threshold, new, value=0.55, at=at)
        breach(threshold, old, value=0.65, at=at, state="warning")
    for i in range(segments):
        segment = f"{tag}=s{i}"
        observe(new, first, [0.5, 0.6, 0.7], batch=scoped, segment=segment)
        threshold = ThresholdFactory(model=model, metric=first, segment=segment, status="active")
        breach(threshold, new, value=0.5, at=at)
    _drift_run(
        new, uploader, days_ago=1, columns={f"{tag}c{i}": i % 2 == 0 for i in range(metrics)}
    )
    Incident.objects.create(
        reference=f"INC-{tag}",
        model=model,
        title=f"{tag} below the critical bound",
        severity="sev2",
        detected_at=timezone.now(),
    )
    draft = ThresholdFactory(model=model, metric=first, segment=f"{tag}=draft", status="draft")
    services.threshold_submit(actor=model.owner, threshold=draft)


ROLES = ("validator", "business_owner", "model_owner", "auditor", "viewer")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("params", [{}, {"range": "all"}, {"range": "7d", "segment": "a=s1"}])
def test_each_role_sees_a_full_tab_in_a_bounded_number_of_queries(
    client, request, owned_model, model_owner, role, params, django_assert_max_num_queries
):
    _observed_model(owned_model, model_owner, tag="a", metrics=3, segments=2)
    client.force_login(request.getfixturevalue(role))
    with django_assert_max_num_queries(QUERIES) as few:
        response = client.get(url(**params))
    assert response.status_code == 200
    body = response.content.decode()
    # Every section has rows: charts, states, incidents, drift columns, batches.
    charts = 1 if "segment" in params else 3
    assert body.count('<svg class="metric-chart"') == charts
    assert body.count('<tr id="state-') == 5
    assert "INC-a" in body and 'id="drift-columns-' in body and "a-scoped.csv" in body
    queries = len(few.captured_queries)  # read now: the next request clears the log

    # Three times the metrics, segments, versions, observations, thresholds, breaches,
    # batches, drift columns and incidents: not one query more.
    _observed_model(owned_model, model_owner, tag="b", metrics=9, segments=6)
    with django_assert_max_num_queries(queries):
        response = client.get(url(**params))
    body = response.content.decode()
    assert body.count('<svg class="metric-chart"') == (1 if "segment" in params else 12)
    assert body.count('<tr id="state-') == 5 + 15
    assert "INC-b" in body and "b-scoped.csv" in body
