"""What waits for a user, decided in the database, against the policy's own rules.

The inbox, its count and the navigation badge read ``waiting_queryset`` (one query); the
engine and a request's page ask ``policy`` per request. They must agree on every request,
for every kind of person: requester, owner, developer, named and other business owners,
validators, administrators, with slots open, filled or decided.
"""

from __future__ import annotations

import itertools

import pytest

from apps.approvals import policy, selectors
from apps.approvals.choices import ApprovalKind, RequestStatus, Verdict
from apps.approvals.models import ApprovalRequest, Decision
from apps.core import clock, roles
from tests.factories import RegisteredModelFactory, UserFactory

BO, VAL, ADM = "business_owner", "validator", "admin"


def _reference(user) -> set[int]:
    """The requests the policy says wait for ``user``, asked request by request."""
    if not roles.roles_of(user) or not user.has_perm(selectors.DECIDE):
        return set()
    waiting = set()
    visible = selectors.request_list(user=user).filter(status=RequestStatus.PENDING)
    for request in visible.prefetch_related("decisions", "model__developers"):
        if policy.four_eyes_refusal(user.pk, selectors.parties(request)):
            continue
        eligible = selectors.eligible_slots(user=user, request=request)
        remaining = selectors.remaining_slots(request)
        if policy.signing_slot(eligible, remaining, approving=True) is not None:
            waiting.add(request.pk)
    return waiting


@pytest.fixture
def people(db):
    return {
        "owner": UserFactory(username="w-owner", roles=[roles.MODEL_OWNER]),
        "dev": UserFactory(username="w-dev", roles=[roles.MODEL_OWNER]),
        "bo": UserFactory(username="w-bo", roles=[roles.BUSINESS_OWNER]),
        "bo_other": UserFactory(username="w-bo-other", roles=[roles.BUSINESS_OWNER]),
        "val": UserFactory(username="w-val", roles=[roles.VALIDATOR]),
        "val2": UserFactory(username="w-val2", roles=[roles.VALIDATOR]),
        "val_dev": UserFactory(username="w-val-dev", roles=[roles.VALIDATOR]),
        "val_bo": UserFactory(username="w-val-bo", roles=[roles.VALIDATOR]),
        "adm": UserFactory(username="w-adm", roles=[roles.ADMIN]),
        "adm_val": UserFactory(username="w-adm-val", roles=[roles.ADMIN, roles.VALIDATOR]),
        "auditor": UserFactory(username="w-aud", roles=[roles.AUDITOR]),
    }


def _request(model, requester, slots, n, status=RequestStatus.PENDING):
    return ApprovalRequest.objects.create(
        kind=ApprovalKind.PROMOTION,
        model=model,
        subject_type="inventory.modelversion",
        subject_id=str(n),
        title=f"Request {n}",
        content={},
        content_sha256="0" * 64,
        required_slots=list(slots),
        open_slots=list(slots),
        status=status,
        requested_by=requester,
        requested_at=clock.now(),
    )


def _decide(request, approver, slot, verdict=Verdict.APPROVE):
    """A decision as the engine records it, with the request's open slots kept."""
    Decision.objects.create(
        request=request,
        approver=approver,
        slot=slot,
        verdict=verdict,
        content_sha256=request.content_sha256,
        meaning="test",
        signed_at=clock.now(),
    )
    request.open_slots = selectors.remaining_slots(request)
    request.save(update_fields=["open_slots"])


@pytest.fixture
def world(people):
    p = people
    ours = RegisteredModelFactory(slug="w-ours", owner=p["owner"], business_owner=p["bo"])
    ours.developers.add(p["dev"], p["val_dev"])
    theirs = RegisteredModelFactory(slug="w-theirs", owner=p["val"], business_owner=p["val_bo"])
    slot_lists = [(BO,), (VAL,), (ADM,), (BO, VAL), (VAL, BO), (VAL, VAL), (BO, ADM)]
    counter = itertools.count()
    for model, slots in itertools.product([ours, theirs], slot_lists):
        for requester in (p["owner"], p["val2"], p["bo"]):
            _request(model, requester, slots, next(counter))
        # Partly decided: one slot filled, or a rejection, a request for changes.
        filled = _request(model, p["dev"], slots, next(counter))
        _decide(filled, p["val2"], slots[0])
        rejected = _request(model, p["dev"], slots, next(counter))
        _decide(rejected, p["adm"], slots[-1], Verdict.REQUEST_CHANGES)
        named = _request(model, p["dev"], slots, next(counter))
        _decide(named, p["bo"], BO)
        # Closed requests wait for nobody.
        _request(model, p["dev"], slots, next(counter), status=RequestStatus.APPROVED)
    return p


def test_the_database_agrees_with_the_policy_for_everyone(world, django_assert_max_num_queries):
    assert ApprovalRequest.objects.count() == 2 * 7 * 7
    seen_any = False
    for name, user in world.items():
        expected = _reference(user)
        seen_any = seen_any or bool(expected)
        got = {r.pk for r in selectors.waiting_queryset(user=user)}
        assert got == expected, name
        with django_assert_max_num_queries(1):
            assert selectors.waiting_count(user=user) == len(expected), name
    assert seen_any


def test_a_slot_needed_twice_stays_open_after_one_approval(people):
    model = RegisteredModelFactory(slug="w-twice", owner=people["owner"])
    request = _request(model, people["owner"], (VAL, VAL), 1)
    _decide(request, people["val2"], VAL)
    assert selectors.waiting_count(user=people["val"]) == 1
    _decide(request, people["adm_val"], VAL)
    assert selectors.waiting_count(user=people["val"]) == 0


def test_the_badge_is_one_query_whatever_waits(people, django_assert_num_queries):
    model = RegisteredModelFactory(slug="w-many", owner=people["owner"])
    for n in range(40):
        _request(model, people["owner"], (VAL,), n)
    roles.roles_of(people["val"])  # the user's roles, read once a request
    with django_assert_num_queries(1):
        assert selectors.waiting_count(user=people["val"]) == 40


def test_the_migration_fills_the_open_slots_from_the_decisions(people):
    from importlib import import_module

    from django.apps import apps as django_apps

    migration = import_module("apps.approvals.migrations.0003_open_slots_pending_index")
    model = RegisteredModelFactory(slug="w-migrate", owner=people["owner"])
    untouched = _request(model, people["owner"], (BO, VAL), 1)
    half = _request(model, people["owner"], (BO, VAL), 2)
    _decide(half, people["val2"], VAL)
    rejected = _request(model, people["owner"], (VAL, VAL), 3)
    _decide(rejected, people["val2"], VAL)
    _decide(rejected, people["adm_val"], VAL, Verdict.REJECT)
    ApprovalRequest.objects.update(open_slots=[])
    migration.fill_open_slots(django_apps, None)
    opened = dict(ApprovalRequest.objects.values_list("pk", "open_slots"))
    assert opened == {untouched.pk: [BO, VAL], half.pk: [BO], rejected.pk: [VAL]}
