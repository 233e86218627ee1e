"""The people a snapshot names: collected while the sections are built, then read as they
were at T (username, name, role labels) and put in place."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model

from apps.core.roles import ALL_ROLES, ROLE_LABELS
from apps.reports import batch
from apps.reports.history import event_reads, events_of, record_columns, records_as_of
from apps.reports.snapshot.context import EVENT_READ

PERSON_FIELDS = ("username", "first_name", "last_name")
FIELDS = (*PERSON_FIELDS, "roles")  # roles: virtual, the role names, as the audit records them


class _PersonSlot(dict):
    """Where a user named in the snapshot goes: an empty dict filled with their person dict
    (as of T) once everyone named has been read, so resolving never walks the snapshot (a
    heavy model's series hold tens of thousands of values). Truthy while still empty, as the
    person it stands for is there."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True


class People:
    """Collects the users a snapshot names, then reads them (as of T) in one query."""

    def __init__(self) -> None:
        self.ids: set = set()
        self._slots: list[tuple[Any, _PersonSlot]] = []

    def __call__(self, pk) -> _PersonSlot | None:
        if pk is None:
            return None
        self.ids.add(pk)
        slot = _PersonSlot()
        self._slots.append((pk, slot))
        return slot

    def resolve(self, data: dict, *, moment: dt.datetime) -> dict:
        """Fill every slot handed out with its person; ``data`` is returned as it is."""
        persons = _persons_at(self.ids, moment) if self.ids else {}
        for pk, slot in self._slots:
            person = persons.get(pk) or {
                "username": f"user-{pk}",
                "name": f"user-{pk}",
                "role_labels": [],
            }
            slot.update(person)
            slot["role_labels"] = list(person["role_labels"])
        return data


def _persons_at(ids: Iterable, moment: dt.datetime) -> dict[Any, dict]:
    """Username, name and role labels of each user as they were at T: one query for their
    rows, their roles and the audit events that changed them after T."""
    user_model = get_user_model()
    ids = sorted(ids)
    users = user_model.objects.filter(pk__in=ids)
    # A person at T is today's person with the changes after T undone: only those events are
    # read (an index range on time for a recent T), not every login of every person named.
    later = event_reads(user_model, ids).filter(occurred_at__gt=moment)
    rows = batch.read(
        {
            "roles": batch.Part(
                user_model.groups.through.objects.filter(
                    user_id__in=ids, group__name__in=ALL_ROLES
                ),
                ("user_id", "group__name"),
            ),
            "events": batch.Part(later, EVENT_READ),
            "users": batch.Part(users, record_columns(user_model, FIELDS, virtual=("roles",))),
        }
    )
    current_roles: dict[Any, list[str]] = defaultdict(list)
    for link in rows["roles"]:
        current_roles[link["user_id"]].append(link["group__name"])
    records = records_as_of(
        users,
        as_of=moment,
        events=events_of(rows["events"]),
        fields=FIELDS,
        virtual={"roles": {pk: sorted(names) for pk, names in current_roles.items()}},
        restore_deleted=False,
        existing_only=False,
        rows=rows["users"],
    )
    persons = {}
    for record in records:
        values = record.values
        full = f"{values['first_name'] or ''} {values['last_name'] or ''}".strip()
        held = set(values["roles"] or [])
        persons[record.pk] = {
            "username": values["username"],
            "name": full or values["username"],
            "role_labels": [ROLE_LABELS[role] for role in ALL_ROLES if role in held],
        }
    return persons
