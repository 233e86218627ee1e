"""The reading context the snapshot's sections share."""

from __future__ import annotations

from apps.reports.history import Record, records_as_of


class Context:
    """What every section reads: the model, T, the model's audit events and the people."""

    def __init__(self, *, model, moment, events, people):
        self.model = model
        self.moment = moment
        self.events = events
        self.people = people

    def records(self, queryset, fields, **options) -> list[Record]:
        options.setdefault("model_ref", self.model.pk)
        options.setdefault("events", self.events)
        return records_as_of(queryset, as_of=self.moment, fields=fields, **options)
