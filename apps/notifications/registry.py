"""How a notification says where the thing it points to stands now ("now approved by alice"),
registered per event by the app that owns the thing, as the audit describers and the
model-page tabs are, so the notification list imports none of the apps above it.

A reader turns the payloads of a page of notifications into states in one or two queries,
whatever the page holds: the list never reads per row.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class State:
    """Where the thing stands now. ``settled``: nothing is left for anyone to do on it (a
    decided request, a closed incident), so an unread notification about it is old news."""

    text: str
    settled: bool = False


@dataclass(frozen=True)
class StateReader:
    """``key(payload)``: what the notification is about (None when it cannot say);
    ``read(keys)``: ``{key: State}`` of those still there, in a constant number of queries.
    Events sharing a reader are read together."""

    key: Callable[[dict], Hashable | None]
    read: Callable[[set], dict[Hashable, State]]


_READERS: dict[str, StateReader] = {}


def register_state(event: str, reader: StateReader) -> None:
    """Say how notifications of ``event`` read their thing's state; registering again
    replaces it (``ready()`` may run twice in tests)."""
    _READERS[event] = reader


def state_readers() -> dict[str, StateReader]:
    return dict(_READERS)
