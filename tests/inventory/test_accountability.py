"""Who may be named on a model (apps/inventory/accountability.py): the seats' rules, the
independence the four-eyes rule implies, and the form's pickers agreeing with the services."""

from __future__ import annotations

import pytest

from apps.approvals import policy
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.inventory import accountability, services
from apps.inventory.accountability import Named, independence_refusals
from apps.inventory.forms import RegisteredModelForm
from tests.factories import BusinessUnitFactory, UserFactory

OWNER, BO, VALIDATOR, DEV = 1, 2, 3, 4


def _named(**people) -> Named:
    values = {"owner": OWNER, "business_owner": BO, "validator": VALIDATOR, "developers": {DEV}}
    values.update(people)
    return Named(**{**values, "developers": frozenset(values["developers"])})


# --- independence (pure) --------------------------------------------------------------------


def test_separate_people_are_independent():
    assert independence_refusals(_named(), changed=accountability.SEAT_FIELDS) == {}
    assert independence_refusals(_named(validator=None), changed=["validator"]) == {}


@pytest.mark.parametrize(
    ("people", "changed", "refused"),
    [
        # The business owner owns or develops it: refused on whichever seat changed.
        ({"business_owner": OWNER}, ["business_owner"], "business_owner"),
        ({"business_owner": OWNER}, ["owner"], "owner"),
        ({"business_owner": DEV}, ["business_owner"], "business_owner"),
        ({"business_owner": DEV}, ["developers"], "developers"),
        # The validator owns or develops it.
        ({"validator": OWNER}, ["validator"], "validator"),
        ({"validator": OWNER}, ["owner"], "owner"),
        ({"validator": DEV}, ["validator"], "validator"),
        ({"validator": DEV}, ["developers"], "developers"),
        # Both seats changed: the message goes on the seat, not on the owner.
        ({"validator": OWNER}, ["owner", "validator"], "validator"),
    ],
)
def test_a_business_owner_or_validator_who_owns_or_develops_is_refused(people, changed, refused):
    assert list(independence_refusals(_named(**people), changed=changed)) == [refused]


@pytest.mark.parametrize(
    ("people", "changed"),
    [
        ({"business_owner": OWNER}, []),
        ({"business_owner": OWNER}, ["validator", "developers"]),
        ({"validator": DEV}, ["owner", "business_owner"]),
    ],
)
def test_a_conflict_no_change_touches_is_left_alone(people, changed):
    """A model named before the rule keeps its people until someone changes them."""
    assert independence_refusals(_named(**people), changed=changed) == {}


@pytest.mark.parametrize("seat", ["business_owner", "validator"])
@pytest.mark.parametrize("person", [OWNER, BO, VALIDATOR, DEV, 99])
def test_independence_is_the_four_eyes_rule(seat, person):
    """A seat is refused exactly when four-eyes would bar its holder from deciding."""
    named = _named(**{seat: person})
    barred = policy.four_eyes_refusal(
        person,
        policy.Parties(
            requester=None, owner=OWNER, developers=frozenset({DEV}), deciders=frozenset()
        ),
    )
    refused = independence_refusals(named, changed=[seat])
    assert (seat in refused) == (barred is not None)


# --- the seats ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("seat", "fitting"),
    [
        (accountability.OWNER, {roles.MODEL_OWNER, roles.ADMIN}),
        (accountability.BUSINESS_OWNER, {roles.BUSINESS_OWNER}),
        (accountability.VALIDATOR, {roles.VALIDATOR}),
        (accountability.DEVELOPERS, {roles.MODEL_OWNER}),
    ],
)
def test_each_seat_fits_active_holders_of_its_roles_only(seat, fitting):
    for role in roles.ALL_ROLES:
        active = UserFactory(username=f"on.{role}", roles=[role])
        inactive = UserFactory(username=f"off.{role}", roles=[role], is_active=False)
        assert accountability.fits(seat, active) == (role in fitting), role
        assert not accountability.fits(seat, inactive)
    assert not accountability.fits(seat, UserFactory(username="no.role"))
    assert not accountability.fits(seat, None)


# --- the form's pickers and the services agree ----------------------------------------------


@pytest.fixture
def everyone(db):
    """A person of every role, active and not, and one without a role."""
    people = [UserFactory(username="no.role")]
    for role in roles.ALL_ROLES:
        people.append(UserFactory(username=f"on.{role}", roles=[role]))
        people.append(UserFactory(username=f"off.{role}", roles=[role], is_active=False))
    return people


def _service_accepts(seat: str, person, *, actor, business_owner, n: int) -> bool:
    """Whether registering a model with ``person`` in ``seat`` passes the seat's rule."""
    people = {"business_owner": business_owner}
    people[seat] = [person] if seat == accountability.DEVELOPERS.field else person
    try:
        services.registered_model_create(
            actor=actor,
            slug=f"seat-{n}",
            name=f"Seat test {n}",
            purpose="Check a seat.",
            business_unit=BusinessUnitFactory(code="seats", name="Seats"),
            **people,
        )
    except ApplicationError as refusal:
        assert list(refusal.field_errors) == [seat], refusal.field_errors
        return False
    return True


@pytest.mark.parametrize("seat", accountability.SEAT_FIELDS)
def test_the_picker_offers_exactly_whom_the_service_accepts(seat, everyone):
    # The other seats are filled by people outside ``everyone``; the admin registering the
    # model owns it unless the owner's seat is the one tried.
    actor = UserFactory(username="the.admin", roles=[roles.ADMIN])
    business_owner = UserFactory(username="the.bo", roles=[roles.BUSINESS_OWNER])
    offered = set(
        RegisteredModelForm().fields[seat].queryset.filter(pk__in=[u.pk for u in everyone])
    )
    accepted = {
        person
        for n, person in enumerate(everyone)
        if _service_accepts(seat, person, actor=actor, business_owner=business_owner, n=n)
    }
    assert offered == accepted
    assert offered  # somebody fits every seat
