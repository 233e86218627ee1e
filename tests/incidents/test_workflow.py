"""The incident workflow (pure): every allowed and every refused transition."""

from __future__ import annotations

import itertools

import pytest

from apps.incidents import workflow
from apps.incidents.choices import IncidentStatus as S

ALLOWED = {
    (S.OPEN, S.INVESTIGATING),
    (S.INVESTIGATING, S.MITIGATED),
    (S.INVESTIGATING, S.RESOLVED),
    (S.MITIGATED, S.RESOLVED),
    (S.MITIGATED, S.INVESTIGATING),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.OPEN),
    (S.CLOSED, S.OPEN),
}
EVERY_PAIR = list(itertools.product(S.values, S.values))
DONE = {"root_cause": "Upstream format change.", "corrective_actions": "Parser fixed."}


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_it_allows(current, target):
    workflow.check_transition(current=current, target=target, **DONE)


@pytest.mark.parametrize(
    ("current", "target"), [p for p in EVERY_PAIR if p not in ALLOWED], ids=str
)
def test_it_refuses(current, target):
    with pytest.raises(workflow.TransitionRefused):
        workflow.check_transition(current=current, target=target, **DONE)


def test_the_table_matches_the_allowed_pairs():
    table = {(c, t) for c, targets in workflow.TRANSITIONS.items() for t in targets}
    assert table == ALLOWED


@pytest.mark.parametrize("current", [S.INVESTIGATING, S.MITIGATED])
@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({}, "root cause and the corrective actions"),
        ({"root_cause": "x"}, "corrective actions"),
        ({"corrective_actions": "x"}, "root cause"),
        ({"root_cause": "  ", "corrective_actions": "x"}, "root cause"),
    ],
)
def test_resolving_needs_the_root_cause_and_corrective_actions(current, fields, missing):
    with pytest.raises(workflow.TransitionRefused, match=f"Record the {missing} before"):
        workflow.check_transition(current=current, target=S.RESOLVED, **fields)


def test_it_names_the_allowed_moves():
    with pytest.raises(workflow.TransitionRefused, match="Allowed next: investigating"):
        workflow.check_transition(current=S.OPEN, target=S.CLOSED)


def test_unknown_statuses_are_refused():
    with pytest.raises(workflow.TransitionRefused, match="Unknown"):
        workflow.check_transition(current=S.OPEN, target="done")


def test_reopen_is_from_resolved_or_closed():
    assert workflow.is_reopen(S.RESOLVED, S.OPEN)
    assert workflow.is_reopen(S.CLOSED, S.OPEN)
    assert not workflow.is_reopen(S.INVESTIGATING, S.OPEN)
