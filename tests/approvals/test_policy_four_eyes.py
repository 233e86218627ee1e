"""The four-eyes and slot rules in ``apps.approvals.policy``, asked directly (no database).

The engine, the inbox, the request page and the notifications all ask these functions; the
engine and page tests check the wiring, these check the rules themselves.
"""

from __future__ import annotations

import pytest

from apps.approvals import policy
from apps.approvals.choices import ApproverRole as R
from apps.approvals.choices import Verdict

REQUESTER, OWNER, DEVELOPER, DECIDED, OTHER = 1, 2, 3, 4, 5

PARTIES = policy.Parties(
    requester=REQUESTER,
    owner=OWNER,
    developers=frozenset({DEVELOPER}),
    deciders=frozenset({DECIDED}),
)


@pytest.mark.parametrize(
    ("user_id", "phrase"),
    [
        (REQUESTER, "You made this request"),
        (OWNER, "You own or develop this model"),
        (DEVELOPER, "You own or develop this model"),
        (DECIDED, "already decided"),
    ],
)
def test_it_refuses_the_requester_the_model_team_and_a_second_decision(user_id, phrase):
    assert phrase in policy.four_eyes_refusal(user_id, PARTIES)


def test_it_lets_anyone_else_decide():
    assert policy.four_eyes_refusal(OTHER, PARTIES) is None


def test_the_requester_is_told_first_when_several_reasons_hold():
    # The requester who also owns the model hears that someone else must decide.
    parties = policy.Parties(
        requester=OWNER, owner=OWNER, developers=frozenset({OWNER}), deciders=frozenset()
    )
    assert policy.four_eyes_refusal(OWNER, parties).startswith("You made this request")


def test_a_model_without_owner_refuses_nobody_for_it():
    parties = policy.Parties(
        requester=REQUESTER, owner=None, developers=frozenset(), deciders=frozenset()
    )
    assert policy.four_eyes_refusal(OTHER, parties) is None


@pytest.mark.parametrize(
    ("capacities", "eligible"),
    [
        ({}, []),
        ({"business_owner": True}, [R.BUSINESS_OWNER]),
        ({"validator": True}, [R.VALIDATOR]),
        ({"business_owner": True, "validator": True}, [R.BUSINESS_OWNER, R.VALIDATOR]),
        ({"admin": True}, []),  # no slot of this request is an administrator's
    ],
)
def test_eligible_slots_follow_the_capacities_in_the_request_order(capacities, eligible):
    flags = {"business_owner": False, "validator": False, "admin": False, **capacities}
    required = (R.BUSINESS_OWNER, R.VALIDATOR, R.VALIDATOR)
    assert policy.eligible_slots(required, **flags) == eligible


def test_only_approvals_fill_slots():
    decisions = [
        (R.BUSINESS_OWNER, Verdict.APPROVE),
        (R.VALIDATOR, Verdict.REJECT),
        (R.VALIDATOR, Verdict.REQUEST_CHANGES),
    ]
    assert policy.filled_slots(decisions) == [R.BUSINESS_OWNER]


def test_an_approval_takes_an_open_slot_the_approver_may_fill():
    eligible = [R.BUSINESS_OWNER, R.VALIDATOR]
    assert policy.signing_slot(eligible, [R.VALIDATOR], approving=True) == R.VALIDATOR
    assert policy.signing_slot(eligible, [], approving=True) is None
    assert policy.signing_slot([], [R.VALIDATOR], approving=True) is None


def test_a_rejection_may_be_signed_in_a_filled_capacity_but_not_without_one():
    assert (
        policy.signing_slot([R.BUSINESS_OWNER], [R.VALIDATOR], approving=False) == R.BUSINESS_OWNER
    )
    assert policy.signing_slot([], [R.VALIDATOR], approving=False) is None
