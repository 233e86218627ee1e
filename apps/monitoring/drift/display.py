"""Geometry of the per-column drift bars. Pure: no ORM, no templates."""

from __future__ import annotations

import math
from dataclasses import dataclass

from apps.monitoring.drift.stats import P_VALUE_METHODS

BAR_WIDTH = 160
BAR_HEIGHT = 14
MAX_STRENGTH = 2.0  # bars are full at twice the threshold


def strength(method: str, score: float, threshold: float) -> float:
    """How far a column is from its threshold on one scale: 1 at the threshold, more when
    it drifts. Distances compare linearly; p-values by their logarithm (p = threshold² → 2)."""
    if math.isnan(score):
        return 0.0
    if method in P_VALUE_METHODS:
        if score <= 0:
            return MAX_STRENGTH
        return max(math.log(min(score, 1.0)) / math.log(threshold), 0.0)
    return max(score / threshold, 0.0) if threshold > 0 else 0.0


@dataclass(frozen=True)
class DriftBar:
    width: int
    height: int
    fill: int  # length of the bar in px
    marker: int  # x of the threshold line
    drifted: bool
    label: str


def drift_bar(*, method: str, score: float, threshold: float, drifted: bool) -> DriftBar:
    ratio = min(strength(method, score, threshold), MAX_STRENGTH)
    kind = "p-value" if method in P_VALUE_METHODS else "distance"
    return DriftBar(
        width=BAR_WIDTH,
        height=BAR_HEIGHT,
        fill=round(ratio / MAX_STRENGTH * BAR_WIDTH),
        marker=round(BAR_WIDTH / MAX_STRENGTH),
        drifted=drifted,
        label=f"{kind} {score:.4g} against threshold {threshold:g}: "
        + ("drifted" if drifted else "no drift"),
    )
