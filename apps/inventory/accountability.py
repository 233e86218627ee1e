"""Who may be named on a registered model: one rule per seat, stated here once.

A model names its owner, its business owner, its validator (optional) and its developers.
The form's pickers offer exactly the people a seat's rule accepts (``apps/inventory/forms.py``,
and the claim form of ``apps/mlflow_sync``), and the services refuse anyone else
(``apps/inventory/services/registered_models.py``), so the browser, the API and the admin
cannot drift apart. (Seats are the people a model names; the approver *slots* of a request
are ``apps/approvals/policy.py``'s.)

A person fits a seat when their account is active and holds one of the seat's roles
(``apps.core.roles.has_role`` answers no for an inactive account):

- owner: a model owner or an administrator (administrators register and claim models, and
  own what they register unless they name someone else);
- business owner: a business owner, the one person who signs for the business;
- validator: a validator (risk and compliance), or nobody yet;
- developers: model owners (they register versions; the role is what lets them).

Independence follows from the four-eyes rule (``policy.four_eyes_refusal``): a model's owner
and developers never decide requests about it. The business owner's approval slot is filled
only by the named business owner, so a business owner who owns or develops the model would
leave every request needing that slot unapprovable; a validator who owns or develops it
could validate nothing about it. Both are refused.

No database access here beyond the role predicate; the services and forms bring the people.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from apps.approvals import policy
from apps.core import roles


@dataclass(frozen=True)
class Seat:
    """A place on a model that a person fills, and who may fill it."""

    field: str  # the model's field (and the form's and the API's)
    title: str  # as a sentence names the seat
    roles: tuple[str, ...]  # the roles, any of which fits
    who: str  # who may be chosen, as the messages say it
    required: bool


OWNER = Seat(
    field="owner",
    title="owner",
    roles=(roles.MODEL_OWNER, roles.ADMIN),
    who="an active model owner or administrator",
    required=True,
)
BUSINESS_OWNER = Seat(
    field="business_owner",
    title="business owner",
    roles=(roles.BUSINESS_OWNER,),
    who="an active user with the business owner role",
    required=True,
)
VALIDATOR = Seat(
    field="validator",
    title="validator",
    roles=(roles.VALIDATOR,),
    who="an active validator (risk & compliance), or nobody yet",
    required=False,
)
DEVELOPERS = Seat(
    field="developers",
    title="developers",
    roles=(roles.MODEL_OWNER,),
    who="active model owners",
    required=False,
)
#: The seats one person fills, by field.
SINGLE_SEATS: dict[str, Seat] = {seat.field: seat for seat in (OWNER, BUSINESS_OWNER, VALIDATOR)}
#: Every seat's field.
SEAT_FIELDS = (*SINGLE_SEATS, DEVELOPERS.field)


def fits(seat: Seat, person) -> bool:
    """Whether ``person`` (a user, or None) may fill ``seat``: active, holding one of its roles."""
    return person is not None and roles.has_role(person, *seat.roles)


def choose(seat: Seat) -> str:
    """What to choose for ``seat``: the form's message for a choice it does not offer, and the
    service's for a required seat left empty."""
    if seat is DEVELOPERS:
        return f"Choose the model's developers among {seat.who}."
    return f"Choose the model's {seat.title}: {seat.who}."


def seat_refusal(seat: Seat, person) -> str | None:
    """Why ``person`` may not fill the single seat ``seat``, or None."""
    if person is None:
        return choose(seat) if seat.required else None
    if fits(seat, person):
        return None
    return f"{person} cannot be the model's {seat.title}: choose {seat.who}."


def developers_refusal(people: Iterable) -> str | None:
    """Why some of ``people`` may not develop the model, or None."""
    misfits = [str(person) for person in people if not fits(DEVELOPERS, person)]
    if not misfits:
        return None
    return (
        f"{', '.join(misfits)} cannot develop the model: choose its developers among "
        f"{DEVELOPERS.who}."
    )


@dataclass(frozen=True)
class Named:
    """The people a model names, by user id."""

    owner: int | None
    business_owner: int | None
    validator: int | None
    developers: frozenset[int]


_WHY_INDEPENDENT = {
    BUSINESS_OWNER.field: (
        "only the named business owner signs as business owner, and the four-eyes rule bars "
        "a model's owner and developers from approving requests about it"
    ),
    VALIDATOR.field: (
        "validation is independent of development: the four-eyes rule bars a model's owner "
        "and developers from approving requests about it"
    ),
}


def independence_refusals(named: Named, *, changed: Collection[str]) -> dict[str, str]:
    """Field -> why, for a business owner or validator who owns or develops the model.

    Only a conflict the change makes is refused (a seat or the owner or developers it
    collides with is in ``changed``): a model named before the rule keeps its people until
    someone changes them. The message goes on the changed field, the seat's first.
    """
    barred = policy.Parties(
        requester=None, owner=named.owner, developers=named.developers, deciders=frozenset()
    )
    refusals: dict[str, str] = {}
    for seat in (BUSINESS_OWNER, VALIDATOR):
        pk = getattr(named, seat.field)
        if pk is None or policy.four_eyes_refusal(pk, barred) is None:
            continue
        why = _WHY_INDEPENDENT[seat.field]
        collides = [via for via in (OWNER, DEVELOPERS) if _holds(named, via, pk)]
        if seat.field in changed:
            refusals[seat.field] = (
                f"The {seat.title} must be someone other than the model's owner: {why}."
                if collides[0] is OWNER
                else f"The {seat.title} must not be one of the model's developers: {why}."
            )
            continue
        via = next((via for via in collides if via.field in changed), None)
        if via is OWNER:
            refusals.setdefault(
                OWNER.field,
                f"The owner must be someone other than the model's {seat.title}: {why}.",
            )
        elif via is DEVELOPERS:
            refusals.setdefault(
                DEVELOPERS.field,
                f"The developers must not include the model's {seat.title}: {why}.",
            )
    return refusals


def _holds(named: Named, seat: Seat, pk: int) -> bool:
    return pk in named.developers if seat is DEVELOPERS else getattr(named, seat.field) == pk
