"""The health state of a model from its facts (apps/inventory/health.py): pure, no database."""

from __future__ import annotations

import itertools

import pytest

from apps.inventory.health import (
    FACTS,
    PRECEDENCE,
    HealthState,
    health_of,
    state_requirements,
)

S = HealthState


def test_a_model_without_problems_is_ok():
    health = health_of({})
    assert health.state == S.OK
    assert health.ok
    assert health.states == ()
    assert health.tone == "ok"
    assert health.label == "OK"


@pytest.mark.parametrize(
    ("fact", "state", "tone"),
    [
        ("open_incident", S.INCIDENT, "danger"),
        ("critical_breach", S.CRITICAL, "danger"),
        ("warning_breach", S.WARNING, "warn"),
        ("threshold_expired", S.EXPIRED, "warn"),
        ("review_overdue", S.OVERDUE, "warn"),
        ("finding_overdue", S.OVERDUE, "warn"),
    ],
)
def test_each_fact_alone_gives_its_state(fact, state, tone):
    health = health_of({fact: True})
    assert health.state == state
    assert health.tone == tone
    assert not health.ok


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"open_incident": True, "critical_breach": True}, S.INCIDENT),
        ({"critical_breach": True, "warning_breach": True}, S.CRITICAL),
        ({"warning_breach": True, "threshold_expired": True}, S.WARNING),
        ({"threshold_expired": True, "review_overdue": True}, S.EXPIRED),
        ({"review_overdue": True, "finding_overdue": True}, S.OVERDUE),
        ({f: True for f in FACTS}, S.INCIDENT),
    ],
)
def test_the_worst_state_wins(facts, expected):
    assert health_of(facts).state == expected


def test_every_state_that_applies_is_kept_worst_first():
    health = health_of({"review_overdue": True, "open_incident": True, "warning_breach": True})
    assert health.states == (S.INCIDENT, S.WARNING, S.OVERDUE)
    assert health.also == ["Warning", "Review or finding overdue"]


def test_a_serious_open_incident_is_named_so():
    health = health_of({"open_incident": True, "serious_incident": True})
    assert health.state == S.INCIDENT
    assert health.serious
    assert health.label == "Serious incident"
    assert health_of({"open_incident": True}).label == "Open incident"


def test_false_and_missing_facts_count_for_nothing():
    assert health_of({"open_incident": False, "unknown": True}).state == S.OK


def test_precedence_names_every_state_but_ok_once():
    assert sorted(PRECEDENCE) == sorted(s for s in S if s != S.OK)


@pytest.mark.parametrize("state", list(S))
def test_the_filter_requirements_agree_with_the_function_for_every_combination(state):
    """The database filter is built from ``state_requirements``: for each of the 2**7
    combinations of facts, the requirements hold exactly when ``health_of`` gives the state."""
    any_of, none_of = state_requirements(state)
    for values in itertools.product((False, True), repeat=len(FACTS)):
        facts = dict(zip(FACTS, values, strict=True))
        held = {f for f, v in facts.items() if v}
        required = (not any_of or bool(any_of & held)) and not (none_of & held)
        assert required == (health_of(facts).state == state), facts


def test_an_unknown_state_is_refused():
    with pytest.raises(ValueError):
        state_requirements("fine")
