"""The lifecycle state machine on its own (apps/inventory/lifecycle.py): no database."""

from __future__ import annotations

import itertools

import pytest

from apps.inventory import lifecycle
from apps.inventory.choices import EUAIActClass, LifecycleStatus

S = LifecycleStatus
ALL = list(S.values)

LEGAL = {
    (S.DEVELOPMENT, S.VALIDATION),
    (S.DEVELOPMENT, S.RETIRED),
    (S.VALIDATION, S.DEVELOPMENT),
    (S.VALIDATION, S.APPROVED),
    (S.VALIDATION, S.RETIRED),
    (S.APPROVED, S.PRODUCTION),
    (S.APPROVED, S.DEVELOPMENT),
    (S.APPROVED, S.RETIRED),
    (S.PRODUCTION, S.VALIDATION),
    (S.PRODUCTION, S.RETIRED),
}
ILLEGAL = sorted(set(itertools.product(ALL, ALL)) - LEGAL - {(s, s) for s in ALL})


def _check(current, target, **overrides):
    """Every precondition met unless a test overrides it."""
    kwargs = {
        "current": current,
        "target": target,
        "eu_class": EUAIActClass.MINIMAL,
        "risk_tier": 3,
        "has_production_version": True,
        "reason": "Because the validator asked for it.",
    }
    kwargs.update(overrides)
    lifecycle.check_transition(**kwargs)


def test_the_table_names_every_status():
    assert set(lifecycle.TRANSITIONS) == set(ALL)
    assert {(a, b) for a, targets in lifecycle.TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_it_allows_a_legal_transition(current, target):
    _check(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_it_refuses_an_illegal_transition_naming_the_allowed_ones(current, target):
    with pytest.raises(lifecycle.TransitionRefused, match="cannot move to") as exc:
        _check(current, target)
    assert "Allowed next states" in str(exc.value)


@pytest.mark.parametrize("status", ALL)
def test_it_refuses_staying_in_the_same_status(status):
    with pytest.raises(lifecycle.TransitionRefused, match="already in"):
        _check(status, status)


def test_it_refuses_an_unknown_status():
    with pytest.raises(lifecycle.TransitionRefused, match="Unknown lifecycle status"):
        _check(S.DEVELOPMENT, "launched")


def test_retired_is_final():
    assert lifecycle.allowed_targets(S.RETIRED) == ()
    with pytest.raises(lifecycle.TransitionRefused, match=r"none \(final\)"):
        _check(S.RETIRED, S.DEVELOPMENT)


@pytest.mark.parametrize(
    ("current", "target"), [(S.VALIDATION, S.APPROVED), (S.APPROVED, S.PRODUCTION)]
)
def test_a_prohibited_model_can_never_be_approved_or_in_production(current, target):
    with pytest.raises(lifecycle.TransitionRefused, match="prohibited practice"):
        _check(current, target, eu_class=EUAIActClass.PROHIBITED, risk_tier=1)


@pytest.mark.parametrize(
    ("current", "target"), [(S.VALIDATION, S.APPROVED), (S.APPROVED, S.PRODUCTION)]
)
def test_approval_and_production_need_a_confirmed_tier(current, target):
    with pytest.raises(lifecycle.TransitionRefused, match="no confirmed risk tier"):
        _check(current, target, risk_tier=None)


def test_approval_needs_an_assessed_eu_class():
    with pytest.raises(lifecycle.TransitionRefused, match="EU AI Act class"):
        _check(S.VALIDATION, S.APPROVED, eu_class=EUAIActClass.UNASSESSED)


def test_production_needs_a_production_version():
    with pytest.raises(lifecycle.TransitionRefused, match="Promote a version"):
        _check(S.APPROVED, S.PRODUCTION, has_production_version=False)


REASON_REQUIRED = sorted((a, b) for a, b in LEGAL if b == S.RETIRED or ALL.index(b) < ALL.index(a))


@pytest.mark.parametrize(("current", "target"), REASON_REQUIRED)
def test_retirement_and_backward_moves_need_a_reason(current, target):
    assert lifecycle.is_reason_required(current=current, target=target)
    with pytest.raises(lifecycle.TransitionRefused, match="Give a reason"):
        _check(current, target, reason="   ")


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL - set(REASON_REQUIRED)))
def test_forward_moves_need_no_reason(current, target):
    assert not lifecycle.is_reason_required(current=current, target=target)
    _check(current, target, reason="")


@pytest.mark.parametrize(
    ("current", "ordered", "default"),
    [
        (S.DEVELOPMENT, (S.VALIDATION, S.RETIRED), S.VALIDATION),
        (S.VALIDATION, (S.APPROVED, S.RETIRED, S.DEVELOPMENT), S.APPROVED),
        (S.APPROVED, (S.PRODUCTION, S.RETIRED, S.DEVELOPMENT), S.PRODUCTION),
        (S.PRODUCTION, (S.RETIRED, S.VALIDATION), None),
        (S.RETIRED, (), None),
    ],
)
def test_forms_offer_forward_first_and_never_default_to_a_step_back(current, ordered, default):
    assert lifecycle.ordered_targets(current) == ordered
    assert lifecycle.default_target(current) == default


def test_the_default_is_chosen_among_the_moves_offered():
    assert lifecycle.default_target(S.VALIDATION, [S.DEVELOPMENT, S.RETIRED]) is None


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_moves_out_of_production_and_retirements_are_signed(current, target):
    expected = target in (S.RETIRED, S.PRODUCTION) or current == S.PRODUCTION
    assert lifecycle.needs_signature(current=current, target=target) is expected
