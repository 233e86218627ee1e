"""Where the thresholds that warning notifications point to stand now ("now back to OK", "now
critical at 0.41"), for a page of notifications in one query. Registered in
``MonitoringConfig.ready``."""

from __future__ import annotations

from collections.abc import Hashable

from apps.monitoring.choices import EvaluationState
from apps.monitoring.models import ThresholdState
from apps.notifications.choices import Event
from apps.notifications.registry import State, StateReader, register_state


def _key(payload: dict) -> Hashable | None:
    threshold, version = payload.get("threshold"), payload.get("version")
    if isinstance(threshold, int) and isinstance(version, str):
        return (threshold, version)
    return None


def threshold_states(keys: set) -> dict[Hashable, State]:
    """``{(threshold id, version): State}`` from the thresholds' latest evaluations."""
    rows = ThresholdState.objects.filter(
        threshold_id__in={threshold for threshold, _ in keys}
    ).values_list("threshold_id", "version__version", "state", "value")
    labels = dict(EvaluationState.choices)
    states = {}
    for threshold, version, state, value in rows:
        if (threshold, version) not in keys:
            continue
        label = labels.get(state, state)
        text = f"Now {label if label.isupper() else label.lower()}"
        if value is not None:
            text += f" at {value:g}"
        states[(threshold, version)] = State(text=text, settled=state == EvaluationState.OK)
    return states


def register_notification_states() -> None:
    register_state(Event.THRESHOLD_WARNING, StateReader(key=_key, read=threshold_states))
