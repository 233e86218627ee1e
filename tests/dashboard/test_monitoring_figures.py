"""The dashboard's monitoring figures: models in breach, open incidents by severity, and
serious-incident deadlines, restricted to the user's models, at a constant query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.core import roles
from apps.dashboard.selectors import inventory_figures, models_in_breach, monitoring_figures
from apps.incidents import services
from tests.factories import ModelVersionFactory, RegisteredModelFactory
from tests.monitoring.evaluation.helpers import day, ingest
from tests.monitoring.factories import ThresholdFactory

pytestmark = pytest.mark.django_db


def _breach(model, metric, value: float, segment: str = "") -> None:
    ThresholdFactory(model=model, metric=metric, status="active", segment=segment)
    version = ModelVersionFactory(model=model)
    ingest(version, metric, [(day(0), value)], segment=segment)


def test_models_in_breach_worst_first(viewer, owned_model, foreign_model, auc):
    _breach(owned_model, auc, 0.74)  # warning
    _breach(foreign_model, auc, 0.5)  # critical
    quiet = RegisteredModelFactory()
    _breach(quiet, auc, 0.9)  # ok
    figures = monitoring_figures(user=viewer)
    assert inventory_figures(user=viewer).in_breach == 2
    assert [(m.pk, m.critical_count, m.warning_count) for m in figures.in_breach] == [
        (foreign_model.pk, 1, 0),
        (owned_model.pk, 0, 1),
    ]


def test_a_superseded_threshold_no_longer_counts(viewer, owned_model, auc):
    _breach(owned_model, auc, 0.5)
    owned_model.thresholds.update(status="superseded")
    assert inventory_figures(user=viewer).in_breach == 0
    assert monitoring_figures(user=viewer).in_breach == []


def test_owners_see_their_models_only(model_owner, owned_model, foreign_model, auc):
    _breach(foreign_model, auc, 0.5)
    figures = monitoring_figures(user=model_owner)
    assert figures.in_breach == [] and figures.open_incidents == 0
    assert inventory_figures(user=model_owner).in_breach == 0


def test_open_incidents_by_severity_and_deadlines(viewer, validator, owned_model):
    now = timezone.now()

    def make(severity, **kw):
        return services.incident_create(
            actor=validator, model=owned_model, title=severity, severity=severity, **kw
        )

    make("sev1")
    make("sev1")
    later = make("sev2", serious_category="health", awareness_at=now - dt.timedelta(days=1))
    overdue = make(
        "sev3",
        serious_category="critical_infrastructure",
        awareness_at=now - dt.timedelta(days=3),
        detected_at=now - dt.timedelta(days=3),
    )
    reported = make("sev4", serious_category="death", awareness_at=now - dt.timedelta(days=1))
    services.incident_update(actor=validator, incident=reported, reported_at=now)
    figures = monitoring_figures(user=viewer)
    assert {f.key: f.count for f in figures.open_by_severity} == {
        "sev1": 2,
        "sev2": 1,
        "sev3": 1,
        "sev4": 1,
    }
    assert figures.open_incidents == 5
    assert [(i.pk, c.overdue) for i, c in figures.deadlines] == [
        (overdue.pk, True),
        (later.pk, False),
    ]


def test_the_page_shows_them(client, viewer, validator, owned_model, auc):
    _breach(owned_model, auc, 0.5)
    services.incident_create(
        actor=validator,
        model=owned_model,
        title="Refusals",
        severity="sev1",
        serious_category="health",
        awareness_at=timezone.now() - dt.timedelta(days=20),
        detected_at=timezone.now() - dt.timedelta(days=20),
    )
    client.force_login(viewer)
    content = client.get("/").content.decode()
    assert "Models in breach" in content and owned_model.name in content
    assert 'id="chart-severity"' in content or "chart-severity" in content
    assert "overdue by 5 days" in content


@pytest.mark.parametrize("rows", [3, 30])
def test_the_query_count_is_constant(
    client, viewer, validator, auc, rows, django_assert_max_num_queries
):
    for i in range(rows):
        model = RegisteredModelFactory()
        ThresholdFactory(model=model, metric=auc, status="active")
        ingest(ModelVersionFactory(model=model), auc, [(day(0), 0.5 + (i % 2) * 0.24)])
        services.incident_create(
            actor=validator,
            model=model,
            title="x",
            severity="sev2",
            serious_category="health",
            awareness_at=timezone.now(),
        )
    client.force_login(viewer)
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200


def test_models_in_breach_are_read_from_the_breaching_states(
    viewer, owned_model, auc, django_assert_num_queries
):
    """The list is driven by the states in breach: one query, and models without a breach
    never enter the plan's result, however many there are."""
    _breach(owned_model, auc, 0.5)
    RegisteredModelFactory.create_batch(20)
    roles.roles_of(viewer)  # the user's roles are read once a request, elsewhere
    with django_assert_num_queries(1):
        worst = models_in_breach(user=viewer, limit=10)
    assert [(m.pk, m.critical_count, m.warning_count) for m in worst] == [(owned_model.pk, 1, 0)]
