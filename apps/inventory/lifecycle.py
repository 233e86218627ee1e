"""Lifecycle state machine of a registered model. Pure: no ORM.

development → validation → approved → production → retired, with send-backs for rework
and revalidation. Retired is final.
"""

from __future__ import annotations

from collections.abc import Iterable

from apps.inventory.choices import EUAIActClass, LifecycleStatus

S = LifecycleStatus

TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.DEVELOPMENT: (S.VALIDATION, S.RETIRED),
    S.VALIDATION: (S.DEVELOPMENT, S.APPROVED, S.RETIRED),
    S.APPROVED: (S.PRODUCTION, S.DEVELOPMENT, S.RETIRED),
    S.PRODUCTION: (S.VALIDATION, S.RETIRED),
    S.RETIRED: (),
}


class TransitionRefused(Exception):
    """The requested lifecycle move is not allowed; the message says why."""


def allowed_targets(current: str) -> tuple[str, ...]:
    return TRANSITIONS.get(current, ())


def check_transition(
    *,
    current: str,
    target: str,
    eu_class: str,
    risk_tier: int | None,
    has_production_version: bool,
    reason: str,
) -> None:
    """Raise ``TransitionRefused`` with a readable message unless the move is legal."""
    labels = dict(S.choices)
    if target not in labels:
        raise TransitionRefused(f"Unknown lifecycle status {target!r}.")
    if target == current:
        raise TransitionRefused(f"The model is already in {labels[current]}.")
    if target not in allowed_targets(current):
        options = ", ".join(labels[t] for t in allowed_targets(current)) or "none (final)"
        raise TransitionRefused(
            f"A model in {labels[current]} cannot move to {labels[target]}. "
            f"Allowed next states: {options}."
        )
    if target in (S.APPROVED, S.PRODUCTION) and eu_class == EUAIActClass.PROHIBITED:
        raise TransitionRefused(
            "This model is classed as a prohibited practice under the EU AI Act (Art. 5) "
            "and can never be approved or put into production."
        )
    if target in (S.APPROVED, S.PRODUCTION) and risk_tier is None:
        raise TransitionRefused(
            "The model has no confirmed risk tier; a validator must confirm one first."
        )
    if target in (S.APPROVED, S.PRODUCTION) and eu_class == EUAIActClass.UNASSESSED:
        raise TransitionRefused("The model's EU AI Act class has not been assessed.")
    if target == S.PRODUCTION and not has_production_version:
        raise TransitionRefused(
            "Promote a version to the production stage before moving the model to production."
        )
    if is_reason_required(current=current, target=target) and not reason.strip():
        raise TransitionRefused(f"Give a reason for moving the model to {labels[target]}.")


_ORDER = {S.DEVELOPMENT: 0, S.VALIDATION: 1, S.APPROVED: 2, S.PRODUCTION: 3, S.RETIRED: 4}


def is_reason_required(*, current: str, target: str) -> bool:
    """Retirement and every step backwards (rework, revalidation) must say why."""
    return target == S.RETIRED or _ORDER.get(target, 0) < _ORDER.get(current, 0)


def needs_signature(*, current: str, target: str) -> bool:
    """A direct move that changes what serves in production, or ends the model for good,
    is signed with the password as an approval decision is: taking a model out of
    production (revalidation) and every retirement."""
    return target in (S.RETIRED, S.PRODUCTION) or current == S.PRODUCTION


def ordered_targets(current: str) -> tuple[str, ...]:
    """The allowed moves in the order a form offers them: forward steps first (the next one
    first), retirement after them, steps back last."""
    rank = _ORDER.get(current, 0)

    def key(target: str) -> tuple[int, int]:
        if target == S.RETIRED:
            return (1, 0)
        forward = _ORDER[target] > rank
        return (0 if forward else 2, _ORDER[target] if forward else -_ORDER[target])

    return tuple(sorted(allowed_targets(current), key=key))


def default_target(current: str, among: Iterable[str] | None = None) -> str | None:
    """What a lifecycle form preselects among the moves it offers (``among``, by default
    every allowed one): the next step forward (never a step back, never retirement), or
    nothing."""
    rank = _ORDER.get(current, 0)
    offered = allowed_targets(current) if among is None else among
    forward = [t for t in offered if t != S.RETIRED and _ORDER[t] > rank]
    return min(forward, key=_ORDER.__getitem__) if forward else None


# --- a version's stages --------------------------------------------------------------------

PROMOTION_NEEDS_SIGNOFF = (
    "Promotion to production needs sign-off: request a promotion of this version; "
    "it takes effect when the approvers the policy names have approved it."
)


def stage_move_refusal(
    *, current: str, target: str, model_status: str, version: str, model: str
) -> str | None:
    """Why a version in stage ``current`` of a model in ``model_status`` may not be moved
    to ``target`` directly, or None: the one rule the service applies and the version page
    asks to offer only the moves it accepts (who may move it is ``rules.may_move_version``)."""
    from apps.inventory.choices import VersionStage

    if target == current:
        return f"Version {version} is already in {target}."
    if target == VersionStage.PRODUCTION:
        return PROMOTION_NEEDS_SIGNOFF
    if current == VersionStage.PRODUCTION and model_status == S.PRODUCTION:
        return (
            f"{model} is in production and {version} is its production version; "
            "promote a replacement version or move the model out of production first."
        )
    return None
