"""Approval policy: who must approve what, by kind and risk tier. Pure; shown to users.

Each entry lists the approver slots a request needs; every slot is filled by a different
person, none of them the requester or the model's owner or developers (four-eyes).
Unassessed models are treated as Tier 1 (the strictest).
"""

from __future__ import annotations

from apps.approvals.choices import ApprovalKind as K
from apps.approvals.choices import ApproverRole as R

ALL_TIERS = (1, 2, 3)

# kind -> tier -> required approver slots
POLICY: dict[str, dict[int, tuple[str, ...]]] = {
    K.THRESHOLD_SIGNOFF: {
        1: (R.BUSINESS_OWNER, R.VALIDATOR),
        2: (R.BUSINESS_OWNER,),
        3: (R.BUSINESS_OWNER,),
    },
    K.PROMOTION: {
        1: (R.BUSINESS_OWNER, R.VALIDATOR),
        2: (R.BUSINESS_OWNER, R.VALIDATOR),
        3: (R.BUSINESS_OWNER,),
    },
    K.RISK_TIER_CHANGE: dict.fromkeys(ALL_TIERS, (R.VALIDATOR,)),
    K.VALIDATION_SIGNOFF: dict.fromkeys(ALL_TIERS, (R.VALIDATOR,)),
    K.REVIEW_ATTESTATION: {
        1: (R.VALIDATOR, R.BUSINESS_OWNER),
        2: (R.VALIDATOR,),
        3: (R.VALIDATOR,),
    },
    K.RETIREMENT: {
        1: (R.BUSINESS_OWNER, R.VALIDATOR),
        2: (R.BUSINESS_OWNER,),
        3: (R.BUSINESS_OWNER,),
    },
    K.RISK_ACCEPTANCE: dict.fromkeys(ALL_TIERS, (R.BUSINESS_OWNER, R.VALIDATOR)),
    # An emergency rollback is a promotion made first and ratified after the fact: the same
    # approvers as a promotion.
    K.EMERGENCY_CHANGE: {
        1: (R.BUSINESS_OWNER, R.VALIDATOR),
        2: (R.BUSINESS_OWNER, R.VALIDATOR),
        3: (R.BUSINESS_OWNER,),
    },
}


def required_slots(kind: str, tier: int | None) -> tuple[str, ...]:
    """The approver slots a request of ``kind`` needs for a model of ``tier``."""
    return POLICY[kind][tier if tier in ALL_TIERS else 1]


def policy_table() -> list[dict]:
    """The policy as rows for display: kind, tier, required approvers."""
    labels = dict(R.choices)
    kinds = dict(K.choices)
    return [
        {
            "kind": kind,
            "kind_label": kinds[kind],
            "tier": tier,
            "approvers": [labels[slot] for slot in slots],
        }
        for kind, by_tier in POLICY.items()
        for tier, slots in sorted(by_tier.items())
    ]


def open_slots(required: tuple[str, ...], filled: list[str]) -> list[str]:
    """Required slots not yet filled by an approval (each filled slot counts once)."""
    remaining = list(required)
    for slot in filled:
        if slot in remaining:
            remaining.remove(slot)
    return remaining
