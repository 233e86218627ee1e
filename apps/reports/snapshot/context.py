"""The reading context the snapshot's sections share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from apps.reports import batch
from apps.reports.history import EVENT_COLUMNS, Record, record_columns, records_as_of

#: The audit-event columns the sections read (the hash is not part of a record).
EVENT_READ = ("id", *(column for column in EVENT_COLUMNS if column != "hash"))


class Context:
    """What every section reads: the model, T, the model's audit events, the people, and the
    rows read for the sections (``rows``, by part name: each round of reads is one query)."""

    def __init__(self, *, model, moment, people, events=()):
        self.model = model
        self.moment = moment
        self.events = list(events)
        self.people = people
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def read(self, parts: Mapping[str, batch.Part]) -> None:
        """Read these parts, all in one query, into ``rows``."""
        self.rows.update(batch.read(parts))

    @staticmethod
    def part(queryset: QuerySet, fields, virtual: Iterable[str] = ()) -> batch.Part:
        """The rows ``records`` needs of ``queryset`` for ``fields``."""
        return batch.Part(queryset, record_columns(queryset.model, fields, virtual))

    def records(self, queryset, fields, **options) -> list[Record]:
        options.setdefault("model_ref", self.model.pk)
        options.setdefault("events", self.events)
        return records_as_of(queryset, as_of=self.moment, fields=fields, **options)
