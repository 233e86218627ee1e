"""The approval policy (pure): who must approve what, by kind and tier."""

from __future__ import annotations

import pytest

from apps.approvals import policy
from apps.approvals.choices import ApprovalKind as K
from apps.approvals.choices import ApproverRole as R

BO, VAL = R.BUSINESS_OWNER, R.VALIDATOR


@pytest.mark.parametrize(
    ("kind", "tier", "slots"),
    [
        # The examples, as the policy states them.
        (K.THRESHOLD_SIGNOFF, 1, (BO, VAL)),
        (K.THRESHOLD_SIGNOFF, 2, (BO,)),
        (K.THRESHOLD_SIGNOFF, 3, (BO,)),
        (K.PROMOTION, 1, (BO, VAL)),
        (K.PROMOTION, 2, (BO, VAL)),
        (K.PROMOTION, 3, (BO,)),
        (K.RISK_TIER_CHANGE, 1, (VAL,)),
        (K.RISK_TIER_CHANGE, 3, (VAL,)),
        (K.VALIDATION_SIGNOFF, 2, (VAL,)),
        (K.RETIREMENT, 1, (BO, VAL)),
        (K.RETIREMENT, 3, (BO,)),
    ],
)
def test_it_names_the_required_approvers(kind, tier, slots):
    assert policy.required_slots(kind, tier) == slots


@pytest.mark.parametrize("tier", [None, 0, 4])
def test_an_unassessed_model_is_treated_as_tier_1(tier):
    for kind in K.values:
        assert policy.required_slots(kind, tier) == policy.required_slots(kind, 1)


def test_every_kind_has_a_rule_for_every_tier_with_distinct_slots():
    assert set(policy.POLICY) == set(K.values)
    for kind, by_tier in policy.POLICY.items():
        assert set(by_tier) == set(policy.ALL_TIERS), kind
        for slots in by_tier.values():
            assert slots, kind
            # One person fills one slot, so a slot named twice could never be filled twice
            # by the same kind of approver without saying so.
            assert len(set(slots)) == len(slots), kind
            assert set(slots) <= set(R.values)


def test_a_stricter_tier_never_needs_fewer_approvers():
    for kind, by_tier in policy.POLICY.items():
        assert set(by_tier[1]) >= set(by_tier[2]) >= set(by_tier[3]), kind


@pytest.mark.parametrize(
    ("required", "filled", "left"),
    [
        ((BO, VAL), [], [BO, VAL]),
        ((BO, VAL), [VAL], [BO]),
        ((BO, VAL), [BO, VAL], []),
        ((BO,), [BO, BO], []),
        ((BO,), [VAL], [BO]),
        ((VAL, VAL), [VAL], [VAL]),
    ],
)
def test_open_slots_count_each_filled_slot_once(required, filled, left):
    assert policy.open_slots(required, filled) == left


def test_the_table_shown_to_users_has_one_row_per_kind_and_tier_with_labels():
    rows = policy.policy_table()
    assert len(rows) == len(K.values) * len(policy.ALL_TIERS)
    promotion_1 = next(r for r in rows if r["kind"] == K.PROMOTION and r["tier"] == 1)
    assert promotion_1 == {
        "kind": K.PROMOTION,
        "kind_label": "Promotion to production",
        "tier": 1,
        "approvers": ["Named business owner", "Validator"],
    }
    tiers = [r["tier"] for r in rows if r["kind"] == K.RETIREMENT]
    assert tiers == [1, 2, 3]
