"""Threshold bounds: validation and classification of a value. Pure, no ORM.

A threshold has a warning and a critical bound; the critical bound lies beyond the warning
bound in the breach direction (further below for "below", further above for "above").
"""

from __future__ import annotations

import math

BELOW = "below"
ABOVE = "above"
OK, WARNING, CRITICAL = "ok", "warning", "critical"

WINDOWED = frozenset({"mean", "min", "max"})
MAX_WINDOW_DAYS = 366


def bound_errors(direction: str, warning: float | None, critical: float | None) -> dict[str, str]:
    """Messages by field name for bounds that cannot form a threshold; empty when they can."""
    errors: dict[str, str] = {}
    for name, value in (("warning_bound", warning), ("critical_bound", critical)):
        if value is None:
            errors[name] = "Enter a bound: a threshold needs both a warning and a critical bound."
        elif not math.isfinite(value):
            errors[name] = "Enter a finite number."
    if errors or direction not in (BELOW, ABOVE):
        return errors
    if direction == BELOW and not critical < warning:
        errors["critical_bound"] = (
            f"The critical bound ({critical:g}) must be below the warning bound ({warning:g}): "
            "this threshold breaches when the value falls."
        )
    elif direction == ABOVE and not critical > warning:
        errors["critical_bound"] = (
            f"The critical bound ({critical:g}) must be above the warning bound ({warning:g}): "
            "this threshold breaches when the value rises."
        )
    return errors


def evaluation_errors(evaluation: str, window_days: int | None, min_samples: int | None) -> dict:
    """Messages by field name for an evaluation rule that cannot be applied."""
    errors: dict[str, str] = {}
    if evaluation in WINDOWED:
        if window_days is None:
            errors["window_days"] = "Enter the window in days for a mean, minimum or maximum."
        elif not 1 <= window_days <= MAX_WINDOW_DAYS:
            errors["window_days"] = f"The window is between 1 and {MAX_WINDOW_DAYS} days."
    elif window_days is not None:
        errors["window_days"] = "The latest value has no window; leave the window empty."
    if min_samples is None or min_samples < 1:
        errors["min_samples"] = "At least one sample is needed to evaluate the threshold."
    return errors


def classify(value: float, *, direction: str, warning: float, critical: float) -> str:
    """``ok``, ``warning`` or ``critical`` for a value against the bounds (bounds breach)."""
    if direction == BELOW:
        if value <= critical:
            return CRITICAL
        return WARNING if value <= warning else OK
    if value >= critical:
        return CRITICAL
    return WARNING if value >= warning else OK
