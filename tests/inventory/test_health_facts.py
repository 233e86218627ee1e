"""Reading health from the database (apps/inventory/health_facts.py): the facts each app
registers, the filter that agrees with the pure function, counts and one model's problems,
each in a constant number of queries."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from apps.inventory import selectors
from apps.inventory.health import HealthState
from apps.inventory.health_facts import (
    attach_health,
    health_counts,
    health_q,
    model_health,
    model_health_summary,
    registry,
    with_health_facts,
)
from apps.inventory.models import RegisteredModel
from tests.factories import RegisteredModelFactory
from tests.inventory.health_data import (
    add_breach,
    add_expired_threshold,
    add_incident,
    add_overdue_finding,
    make_overdue_review,
    model_in,
)

pytestmark = pytest.mark.django_db
STATES = [s.value for s in HealthState]


def _health(model) -> HealthState:
    row = with_health_facts(RegisteredModel.objects.filter(pk=model.pk)).get()
    return attach_health([row])[0].health


def test_every_fact_is_registered_by_its_app():
    assert {f.key for f in registry.facts()} == {
        "open_incident",
        "serious_incident",
        "critical_breach",
        "warning_breach",
        "threshold_expired",
        "review_overdue",
        "finding_overdue",
    }


@pytest.mark.parametrize("state", STATES)
def test_a_model_reads_in_its_state(state):
    assert _health(model_in(state)).state == state


def test_only_incidents_still_worked_on_count():
    model = RegisteredModelFactory()
    add_incident(model, status="resolved")
    add_incident(model, status="closed")
    assert _health(model).ok
    add_incident(model, status="mitigated")
    assert _health(model).state == HealthState.INCIDENT


def test_a_serious_incident_is_flagged():
    model = RegisteredModelFactory()
    add_incident(model, serious=True)
    health = _health(model)
    assert health.serious and health.label == "Serious incident"


def test_breaches_count_only_on_active_thresholds():
    model = RegisteredModelFactory()
    threshold = add_breach(model, "critical")
    threshold.status = "superseded"
    threshold.save()
    assert _health(model).ok


def test_a_threshold_past_its_review_by_date_counts_before_the_daily_task_expires_it():
    model = RegisteredModelFactory()
    add_expired_threshold(model, lapsed_today=True)
    assert _health(model).state == HealthState.EXPIRED


def test_a_retired_models_review_is_not_overdue():
    model = make_overdue_review(RegisteredModelFactory(status="retired"))
    assert _health(model).ok


def test_only_open_findings_past_due_are_overdue():
    model = RegisteredModelFactory()
    add_overdue_finding(model, status="closed")
    add_overdue_finding(model, days=-3)  # due in three days
    assert _health(model).ok
    add_overdue_finding(model)
    assert _health(model).state == HealthState.OVERDUE


def test_the_worst_state_is_shown_and_the_others_kept():
    model = RegisteredModelFactory()
    add_incident(model)
    add_breach(model, "warning")
    make_overdue_review(model)
    health = _health(model)
    assert health.state == HealthState.INCIDENT
    assert health.states == (HealthState.INCIDENT, HealthState.WARNING, HealthState.OVERDUE)


def _everything():
    models = {state: model_in(state) for state in STATES}
    # A model in several states is filtered by its worst only.
    mixed = model_in("critical")
    make_overdue_review(mixed)
    add_expired_threshold(mixed)
    return models, mixed


def test_the_filter_finds_each_model_by_its_worst_state():
    models, mixed = _everything()
    for state in STATES:
        found = set(
            RegisteredModel.objects.filter(health_q([state])).values_list("slug", flat=True)
        )
        expected = {models[state].slug} | ({mixed.slug} if state == "critical" else set())
        assert found == expected, state
    both = RegisteredModel.objects.filter(health_q(["incident", "overdue"]))
    assert {m.slug for m in both} == {models["incident"].slug, models["overdue"].slug}


def test_the_counts_put_each_model_in_one_state(django_assert_num_queries):
    _everything()
    with django_assert_num_queries(1):
        counts = health_counts(RegisteredModel.objects.all())
    assert counts == {
        "ok": 1,
        "warning": 1,
        "critical": 2,
        "incident": 1,
        "overdue": 1,
        "expired": 1,
    }
    assert sum(counts.values()) == RegisteredModel.objects.count()


def _page_of_models(n: int) -> None:
    for i in range(n):
        model = model_in(STATES[i % len(STATES)])
        if i % 4 == 0:
            add_overdue_finding(model)


@pytest.mark.parametrize("data", ["few", "many"])
def test_a_page_reads_its_health_in_the_pages_query(validator, data, django_assert_num_queries):
    """The list's queryset carries the facts: one query for 3 models and for 30."""
    _page_of_models(3 if data == "few" else 30)
    filterset = selectors.model_filterset(
        user=validator, data=QueryDict("health=warning&health=critical")
    )
    with django_assert_num_queries(1):
        rows = attach_health(filterset.qs[:25])
    assert rows and {m.health.state for m in rows} == {"warning", "critical"}


def test_the_filterset_filters_by_health_and_refuses_an_unknown_state(validator):
    models, _ = _everything()
    filterset = selectors.model_filterset(user=validator, data=QueryDict("health=expired"))
    assert [m.slug for m in filterset.qs] == [models["expired"].slug]
    bad = selectors.model_filterset(user=validator, data=QueryDict("health=fine"))
    assert not bad.is_valid()
    assert "health" in bad.errors


def test_health_is_filtered_within_what_the_user_sees(model_owner, owned_model, foreign_model):
    add_incident(owned_model)
    add_incident(foreign_model)
    filterset = selectors.model_filterset(user=model_owner, data=QueryDict("health=incident"))
    assert [m.slug for m in filterset.qs] == [owned_model.slug]


def test_not_assessed_is_a_tier_choice(validator):
    RegisteredModelFactory(slug="t1", risk_tier=1)
    RegisteredModelFactory(slug="t2", risk_tier=2)
    RegisteredModelFactory(slug="none", risk_tier=None)
    filterset = selectors.model_filterset(user=validator, data=QueryDict("risk_tier=none"))
    assert [m.slug for m in filterset.qs] == ["none"]
    both = selectors.model_filterset(user=validator, data=QueryDict("risk_tier=1&risk_tier=none"))
    assert sorted(m.slug for m in both.qs) == ["none", "t1"]


class TestOneModelsProblems:
    def test_a_healthy_model_read_with_its_facts_costs_no_query(
        self, validator, owned_model, django_assert_num_queries
    ):
        model = selectors.model_get(user=validator, slug=owned_model.slug)
        with django_assert_num_queries(0):
            health = model_health(model)
        assert health.ok and health.problems == ()

    def test_every_problem_is_named_with_its_link_in_one_query(
        self, validator, owned_model, django_assert_num_queries
    ):
        incident = add_incident(owned_model, serious=True, title="Recall collapsed")
        critical = add_breach(owned_model, "critical", metric="recall")
        add_breach(owned_model, "warning", metric="precision")
        expired = add_expired_threshold(owned_model, metric="f1")
        finding = add_overdue_finding(owned_model, title="Labels stale")
        make_overdue_review(owned_model, days=10)
        model = selectors.model_get(user=validator, slug=owned_model.slug)
        with django_assert_num_queries(1):
            health = model_health(model)
        assert health.state == HealthState.INCIDENT and health.serious
        by_state = {}
        for problem in health.problems:
            by_state.setdefault(problem.state, []).append(problem)
        assert [p.url for p in by_state["incident"]] == [incident.get_absolute_url()]
        assert "Serious incident" in by_state["incident"][0].text
        assert "Recall collapsed" in by_state["incident"][0].text
        assert by_state["critical"][0].url == critical.get_absolute_url()
        assert "The recall threshold is critical" in by_state["critical"][0].text
        assert "The precision threshold is in warning" in by_state["warning"][0].text
        assert by_state["expired"][0].url == expired.get_absolute_url()
        overdue = {p.url: p.text for p in by_state["overdue"]}
        assert f"/reviews/findings/{finding.pk}/" in overdue
        assert "10 days ago" in overdue["/reviews/models/owned-model/"]

    def test_many_rows_of_one_kind_are_summarised(self, validator, owned_model):
        for i in range(8):
            add_incident(owned_model, title=f"Incident {i}")
        model = selectors.model_get(user=validator, slug=owned_model.slug)
        problems = model_health(model).problems
        assert len(problems) == 6
        assert problems[-1].text == "3 more incidents are open."
        assert problems[-1].url == "/incidents/models/owned-model/"

    def test_many_thresholds_and_findings_are_summarised_each_on_its_tab(
        self, validator, owned_model
    ):
        for i in range(7):
            add_breach(owned_model, "critical", metric=f"recall_{i}")
            add_expired_threshold(owned_model, metric=f"f1_{i}")
            add_overdue_finding(owned_model, title=f"Finding {i}", days=10 + i)
        model = selectors.model_get(user=validator, slug=owned_model.slug)
        problems = model_health(model).problems
        by_state: dict[str, list] = {}
        for problem in problems:
            by_state.setdefault(problem.state, []).append(problem)
        assert [len(by_state[s]) for s in ("critical", "expired", "overdue")] == [6, 6, 6]
        assert [(p.text, p.url) for p in (by_state[s][-1] for s in by_state)] == [
            ("2 more thresholds are critical.", "/monitoring/models/owned-model/"),
            ("2 more thresholds expired.", "/monitoring/models/owned-model/thresholds/"),
            ("2 more findings are overdue.", "/reviews/models/owned-model/"),
        ]
        # The oldest findings are named first.
        assert "Finding 6" in by_state["overdue"][0].text

    def test_the_summary_links_each_problem_to_its_tab_without_a_query(
        self, validator, owned_model, django_assert_num_queries
    ):
        add_incident(owned_model)
        add_breach(owned_model, "warning")
        add_expired_threshold(owned_model)
        model = selectors.model_get(user=validator, slug=owned_model.slug)
        with django_assert_num_queries(0):
            health = model_health_summary(model)
        assert [(p.state, p.url) for p in health.problems] == [
            ("incident", "/incidents/models/owned-model/"),
            ("warning", "/monitoring/models/owned-model/"),
            ("expired", "/monitoring/models/owned-model/thresholds/"),
        ]
        assert health.problems[0].text == "An incident is open."

    def test_a_model_read_without_its_facts_reads_them(self, owned_model):
        add_incident(owned_model)
        plain = RegisteredModel.objects.get(pk=owned_model.pk)
        assert model_health(plain).state == HealthState.INCIDENT
