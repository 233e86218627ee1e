"""Approval policy: who must approve what, by kind and risk tier, and who may fill a slot.
Pure (no database); the table is shown to users.

Each entry lists the approver slots a request needs; every slot is filled by a different
person, none of them the requester or the model's owner or developers (four-eyes).
Unassessed models are treated as Tier 1 (the strictest).

The four-eyes rule and the slot rules below are the only statement of them: the engine
(``services``), the inbox and request pages (``selectors``, ``views``) and the notifications
all ask these functions, given the facts ``selectors.parties`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apps.approvals.choices import ApprovalKind as K
from apps.approvals.choices import ApproverRole as R
from apps.approvals.choices import Verdict

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

# The most slots any request requires (the database reads this many positions of a
# request's ``required_slots`` when it counts the open ones).
MAX_SLOTS = max(len(slots) for by_tier in POLICY.values() for slots in by_tier.values())


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


# --- four-eyes and slots ------------------------------------------------------------------


@dataclass(frozen=True)
class Parties:
    """The people the four-eyes rule looks at for one request, by user id."""

    requester: int | None
    owner: int | None
    developers: frozenset[int]
    deciders: frozenset[int]  # who has already decided on the request, whatever the verdict


def four_eyes_refusal(user_id: int, parties: Parties) -> str | None:
    """Why this person may not decide the request at all, or None.

    The requester never decides their own request, the model's owner and developers never
    decide about their model, and one person fills one approval.
    """
    if user_id == parties.requester:
        return "You made this request; someone else must decide it."
    if user_id == parties.owner or user_id in parties.developers:
        return "You own or develop this model, so you cannot approve requests about it."
    if user_id in parties.deciders:
        return "You have already decided on this request; one person fills one approval."
    return None


def eligible_slots(
    required: Iterable[str], *, business_owner: bool, validator: bool, admin: bool
) -> list[str]:
    """The required slots a person could fill, in order and once each: the business owner
    slot by the model's named business owner, the others by role (four-eyes aside)."""
    fits = {R.BUSINESS_OWNER: business_owner, R.VALIDATOR: validator, R.ADMIN: admin}
    return [slot for slot in dict.fromkeys(required) if fits.get(slot)]


def filled_slots(decisions: Iterable[tuple[str, str]]) -> list[str]:
    """The slots filled so far, from the decisions' (slot, verdict) pairs: approvals only."""
    return [slot for slot, verdict in decisions if verdict == Verdict.APPROVE]


def signing_slot(eligible: list[str], remaining: list[str], *, approving: bool) -> str | None:
    """The slot a decision is signed in, or None when it may not be made.

    An approval fills an open slot the person is eligible for. A rejection or a request for
    changes may be made in any capacity the person holds, even once their slots are filled.
    """
    usable = [slot for slot in eligible if slot in remaining] or ([] if approving else eligible)
    return usable[0] if usable else None
