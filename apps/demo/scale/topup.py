"""Topping the audit trail up to the size asked for with the everyday edits a large
inventory accumulates: model owners rewording their models' descriptions, dataset owners
their datasets', and the odd refused sign-in.

The edits are real: each model's (or dataset's) description moves through numbered revisions,
every event records the revision before and after, and the row ends on the last revision, so
the history rebuilt from the trail (``apps.reports.history``) matches the rows. The events are
produced lazily in time order (a million events are never held at once).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from apps.audit.models import AuditEvent
from apps.demo.scale.chain import Event
from apps.demo.scale.context import Scale
from apps.inventory.models import Dataset, RegisteredModel

A = AuditEvent.Action
NOTES = (
    "Clarified the population the model is fit for.",
    "Added the latest validation reference.",
    "Documented the fallback used when the model is unavailable.",
    "Reworded the intended use after the business review.",
    "Linked the monitoring dashboard and its thresholds.",
    "Noted the known weakness on thin-file applicants.",
    "Recorded the retraining cadence agreed with the owner.",
)
SHARES = (("model", 0.8), ("dataset", 0.12), ("login", 0.08))


def _revised(base: str, revision: int) -> str:
    if revision == 0:
        return base
    return f"{base} {NOTES[revision % len(NOTES)]} (revision {revision})"


class TopUp:
    """Edits of descriptions, allocated over the inventory, continued across calls."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self.rng = np.random.default_rng(scale.options.seed + 7)
        self.models = [p.model for p in scale.plans]
        self.datasets = list(scale.datasets)
        self.base = {("model", m.pk): m.description for m in self.models}
        self.base.update({("dataset", d.pk): d.description for d in self.datasets})
        self.revision: dict[tuple[str, int], int] = {}
        self.last_at: dict[tuple[str, int], datetime] = {}
        self.users = sorted(scale.names)

    def events(self, n: int, *, start: datetime, end: datetime) -> Iterator[Event]:
        """``n`` edits between ``start`` and ``end``, in time order."""
        if n <= 0 or not self.models:
            return iter(())
        kinds = self.rng.choice(len(SHARES), size=n, p=[s for _, s in SHARES])
        if not self.datasets:
            kinds[kinds == 1] = 0
        span = (end - start).total_seconds()
        offsets = np.sort(self.rng.uniform(0, span, n))
        moments = start.timestamp() + offsets
        # Only objects that exist by then are edited (both lists are in order of creation).
        model_pick = self._pick(
            self.models,
            moments,
            weights=[{1: 4.0, 2: 2.0, 3: 1.0}.get(m.risk_tier, 0.7) for m in self.models],
        )
        dataset_pick = self._pick(self.datasets, moments, weights=[1.0] * len(self.datasets))
        kinds[(kinds == 0) & (model_pick < 0)] = 2
        kinds[(kinds == 1) & (dataset_pick < 0)] = 2
        user_pick = self.rng.integers(0, len(self.users), size=n)
        return self._stream(kinds, offsets, model_pick, dataset_pick, user_pick, start)

    def _pick(self, objects, moments: np.ndarray, *, weights) -> np.ndarray:
        """For each moment, one of the objects created before it (weighted); -1 if none."""
        if not objects:
            return np.full(len(moments), -1)
        created = np.array([o.created_at.timestamp() for o in objects])
        cumulative = np.cumsum(np.asarray(weights, dtype=float))
        existing = np.searchsorted(created, moments, side="left")
        limit = np.where(existing > 0, cumulative[np.maximum(existing - 1, 0)], 0.0)
        drawn = self.rng.uniform(0, 1, len(moments)) * limit
        pick = np.minimum(np.searchsorted(cumulative, drawn, side="right"), existing - 1)
        return np.where(existing > 0, pick, -1)

    def _stream(
        self, kinds, offsets, model_pick, dataset_pick, user_pick, start
    ) -> Iterator[Event]:
        names = self.scale.names
        for kind, offset, mi, di, ui in zip(
            kinds.tolist(),
            offsets.tolist(),
            model_pick.tolist(),
            dataset_pick.tolist(),
            user_pick.tolist(),
            strict=True,
        ):
            at = (start + timedelta(seconds=offset)).replace(microsecond=0)
            if kind == 2:
                user = self.users[ui]
                yield Event(
                    at=at,
                    actor_id=user,
                    actor_username=names[user],
                    action=A.LOGIN_FAILED,
                    object_type="accounts.user",
                    object_id=str(user),
                    object_repr=names[user],
                    message=f"Sign-in refused (wrong username or password) for username "
                    f"{names[user]!r}",
                )
                continue
            if kind == 0:
                obj = self.models[mi]
                key, actor, label, ref = ("model", obj.pk), obj.owner_id, obj.name, obj.pk
                object_type = "inventory.registeredmodel"
            else:
                obj = self.datasets[di]
                key, actor, label, ref = ("dataset", obj.pk), obj.owner_id, str(obj), None
                object_type = "inventory.dataset"
            rev = self.revision.get(key, 0)
            before, after = _revised(self.base[key], rev), _revised(self.base[key], rev + 1)
            self.revision[key] = rev + 1
            self.last_at[key] = max(self.last_at.get(key, at), at)
            yield Event(
                at=at,
                actor_id=actor,
                actor_username=names.get(actor, "system"),
                action=A.UPDATE,
                object_type=object_type,
                object_id=str(obj.pk),
                object_repr=label,
                model_ref=ref,
                changes={"description": {"before": before, "after": after}},
                plain=True,
            )

    def apply_rows(self) -> None:
        """Leave every edited row on its last revision (and its edit time)."""
        for kind, model in (("model", RegisteredModel), ("dataset", Dataset)):
            rows = [
                (_revised(self.base[key], rev), self.last_at[key], key[1])
                for key, rev in self.revision.items()
                if key[0] == kind
            ]
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.cursor() as cursor:
                for i in range(0, len(rows), 5000):
                    cursor.executemany(
                        f"UPDATE {table} SET description = %s, "  # noqa: S608 (our table)
                        "updated_at = CASE WHEN updated_at > %s THEN updated_at ELSE %s END "
                        "WHERE id = %s",
                        [(d, t, t, pk) for d, t, pk in rows[i : i + 5000]],
                    )


def merged(*streams) -> Iterator[Event]:
    """Events of several time-ordered streams in one time order (stable)."""
    return heapq.merge(*streams, key=lambda e: e.at)
