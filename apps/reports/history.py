"""Records as they stood at a past time T, rebuilt from the audit trail.

Every service write records an ``AuditEvent`` whose ``changes`` hold
``{field: {"before": x, "after": y}}``. A row's value at T is therefore today's value with the
``before`` of every later event of that row applied, newest first. A row whose create event
(or, for rows made without one, whose own creation time) is after T did not exist yet; a row
deleted after T is rebuilt from its delete event. Append-only rows that carry their own time
(approval decisions, observations, incident timeline entries, breaches, drift runs) need no
undoing: readers filter them by that time.

A few services change a field without recording it (see ``EVENT_TIME_FIELDS``): those fields
are moments something happened (a request's ``closed_at``, a review's ``submitted_at``), so a
value later than T cannot have been there at T and reads as empty.

Values in ``changes`` are normalised JSON (``apps.audit.chain.normalise``); they are turned
back into Python values with each model field's ``to_python``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet

from apps.audit.chain import GENESIS_HASH
from apps.audit.models import AuditEvent

#: Fields that tell when a row came to be, in order of preference, for rows (made by data
#: migrations, fixtures or the admin) that have no create event.
CREATED_FIELDS = ("created_at", "requested_at", "assessed_at", "signed_at", "date_joined")

#: Moments stamped by a transition whose audit event does not record them (the event records
#: the status only). A value after T was not there at T.
EVENT_TIME_FIELDS: dict[str, frozenset[str]] = {
    "approvals.approvalrequest": frozenset({"closed_at"}),
    "reviews.review": frozenset({"submitted_at", "attested_at"}),
    "reviews.finding": frozenset({"status_changed_at"}),
    "inventory.riskassessment": frozenset({"decided_at", "approved_at"}),
    "inventory.modelversion": frozenset({"approved_at"}),
    "inventory.registeredmodel": frozenset(
        {
            "status_changed_at",
            "validation_started_at",
            "approved_at",
            "deployed_at",
            "retired_at",
            "risk_assessed_at",
        }
    ),
    "monitoring.threshold": frozenset({"activated_at", "ended_at"}),
    "incidents.incident": frozenset({"resolved_at", "closed_at"}),
}

#: (object type, action) pairs whose ``changes`` describe something other than the object's
#: own fields: a "decide" event on an approval request records the signed decision (verdict,
#: slot, the hash signed), not a change of the request.
NOT_FIELD_CHANGES = frozenset({("approvals.approvalrequest", "decide")})

#: Above this many ids, events are read by object type instead of an ``IN`` list.
_ID_LIST_LIMIT = 500

#: The audit-event columns history and the snapshot read (the snapshot leaves out the hash).
EVENT_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "model_ref",
    "changes",
    "message",
    "hash",
)


@dataclass(frozen=True)
class _Spec:
    """How one requested field is read today and found in audit changes."""

    key: str  # in the result: the attname for a foreign key (``owner_id``)
    audit_key: str  # in ``AuditEvent.changes``: the field name (``owner``)
    kind: str  # "column", "fk", "m2m" or "virtual"
    field: Any = None


@dataclass
class Record:
    """One row as it stood at T: its values, when it came to be, and its audit events."""

    pk: Any
    values: dict[str, Any]
    events: list[AuditEvent] = field(default_factory=list)
    born: dt.datetime | None = None
    restored: bool = False

    def recorded(self, audit_key: str, as_of: dt.datetime) -> tuple[AuditEvent | None, Any]:
        """The latest event at or before T that recorded ``audit_key``, and its ``after``
        value as stored (normalised JSON); ``(None, None)`` when none did."""
        for event in reversed(self.events):
            if event.occurred_at > as_of or _not_field_change(event):
                continue
            change = event.changes.get(audit_key)
            if isinstance(change, dict) and "after" in change:
                return event, change["after"]
        return None, None


def audit_head_at(as_of: dt.datetime | None) -> dict[str, Any]:
    """``{sequence, hash}`` of the last audit event at or before T (the chain's head then);
    sequence 0 with the genesis hash when there was none. ``None`` means now.

    For a past T the event is found on the time index: an event's sequence and time are both
    taken under the chain head's lock, so they grow together, and the latest event by time is
    the head then (one index step, however many events came after T; ordering by sequence
    instead walked back through every later event)."""
    events = AuditEvent.objects.order_by("-sequence")
    if as_of is not None:
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.UTC)
        events = events.filter(occurred_at__lte=as_of).order_by("-occurred_at", "-sequence")
    head = events.values("sequence", "hash").first()
    if head is None:
        return {"sequence": 0, "hash": GENESIS_HASH}
    return {"sequence": head["sequence"], "hash": head["hash"]}


def rows_as_of(
    queryset: QuerySet,
    *,
    as_of: dt.datetime | None,
    fields: Sequence[str],
    model_ref: int | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``queryset``'s model as they stood at T, each ``{"pk": ..., field: value}``.

    Foreign keys come under their attname (``owner_id``), many-to-many fields as lists of ids.
    Rows created after T are left out; rows deleted after T are restored from their delete
    events (only those recorded under ``model_ref`` when it is given), after today's rows.
    ``as_of=None`` gives today's values. The number of queries does not depend on the rows.
    """
    records = records_as_of(queryset, as_of=as_of, fields=fields, model_ref=model_ref)
    return [{"pk": record.pk, **record.values} for record in records]


def records_as_of(
    queryset: QuerySet,
    *,
    as_of: dt.datetime | None,
    fields: Sequence[str],
    model_ref: int | None = None,
    events: Sequence[AuditEvent] | None = None,
    virtual: Mapping[str, Mapping[Any, Any]] | None = None,
    restore_deleted: bool = True,
    existing_only: bool = True,
    rows: Sequence[Mapping[str, Any]] | None = None,
    many: Mapping[str, Mapping[Any, list]] | None = None,
) -> list[Record]:
    """``rows_as_of`` with the audit events of each row kept, for readers that need more.

    ``events``: the audit events to use instead of reading them (e.g. every event of one
    registered model, read once for all its parts); they are filtered to this model's object
    type (and ``model_ref``). ``virtual``: values of today that are not columns, by name and
    pk, recorded in audit changes under that name (e.g. a version's ``datasets`` as
    ``"role:slug"`` strings); a pk missing from the mapping reads as None.
    ``existing_only=False`` keeps rows created after T (people named on a record).
    ``rows``: today's rows already read (the ``record_columns`` of ``queryset``, e.g. in a
    batch with other reads), instead of reading them; ``many``: likewise today's related ids
    of each many-to-many field, by pk.
    """
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=dt.UTC)
    model = queryset.model
    label = model._meta.label_lower
    virtual = virtual or {}
    specs = [_spec(model, name, virtual) for name in fields]
    created_field = _created_field(model)
    if rows is None:
        rows = list(queryset.values(*_columns(specs, created_field)))
    ids = [row["pk"] for row in rows]
    if many is None:
        many = _many_to_many(queryset, specs, ids)

    def current(row: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for spec in specs:
            if spec.kind == "m2m":
                values[spec.key] = many[spec.key].get(row["pk"], [])
            elif spec.kind == "virtual":
                values[spec.key] = virtual[spec.key].get(row["pk"])
            else:
                values[spec.key] = row[spec.key]
        return values

    if as_of is None:
        return [Record(pk=row["pk"], values=current(row)) for row in rows]

    by_object: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in _events_for(
        label,
        ids=ids,
        as_of=as_of,
        model_ref=model_ref,
        events=events,
        restore_deleted=restore_deleted,
    ):
        by_object[event.object_id].append(event)
    for object_events in by_object.values():
        object_events.sort(key=lambda e: e.sequence)

    slugs = _SlugResolver()
    records: list[Record] = []
    for row in rows:
        object_events = by_object.get(str(row["pk"]), [])
        born = _born(object_events, row.get(created_field) if created_field else None)
        if existing_only and born is not None and born > as_of:
            continue
        values = current(row)
        _undo(values, specs, object_events, as_of, label, slugs)
        records.append(Record(pk=row["pk"], values=values, events=object_events, born=born))

    if restore_deleted:
        present = {str(pk) for pk in ids}
        for object_id, object_events in by_object.items():
            if object_id in present:
                continue
            record = _restore(model, object_id, object_events, specs, as_of, label, slugs)
            if record is not None:
                records.append(record)

    slugs.resolve()
    moments = EVENT_TIME_FIELDS.get(label, frozenset())
    for record in records:
        for spec in specs:
            value = record.values.get(spec.key)
            if spec.audit_key in moments and isinstance(value, dt.datetime) and value > as_of:
                record.values[spec.key] = None
    return records


def record_columns(
    model: type[models.Model], fields: Sequence[str], virtual: Iterable[str] = ()
) -> tuple[str, ...]:
    """The columns ``records_as_of`` reads of ``model`` for ``fields`` (``virtual``: the names
    given as virtual values), for a caller that reads the rows itself."""
    names = set(virtual)
    specs = [_spec(model, name, names) for name in fields]
    return _columns(specs, _created_field(model))


def event_reads(model: type[models.Model], object_ids) -> QuerySet[AuditEvent]:
    """The audit events of rows of ``model`` (``object_ids``: pks, or a queryset of them as
    text), as ``records_as_of`` reads them when it is given no ``model_ref``; to be read with
    ``EVENT_COLUMNS`` and turned into events by ``events_of``."""
    if not isinstance(object_ids, QuerySet):
        object_ids = [str(pk) for pk in object_ids]
    return AuditEvent.objects.filter(object_type=model._meta.label_lower, object_id__in=object_ids)


def events_of(rows: Iterable[Mapping[str, Any]]) -> list[AuditEvent]:
    """Audit events from their rows (``EVENT_COLUMNS`` or fewer, with ``id``), in sequence
    order, as ``.only()`` would give them."""
    concrete = [f.attname for f in AuditEvent._meta.concrete_fields]
    events = []
    for row in sorted(rows, key=lambda r: r["sequence"]):
        names = [name for name in concrete if name in row]
        events.append(AuditEvent.from_db(AuditEvent.objects.db, names, [row[n] for n in names]))
    return events


# --- internals ------------------------------------------------------------------------------


def _columns(specs: Iterable[_Spec], created_field: str | None) -> tuple[str, ...]:
    columns = [s.key for s in specs if s.kind in ("column", "fk")]
    extra = [created_field] if created_field and created_field not in columns else []
    return ("pk", *columns, *extra)


def _spec(model: type[models.Model], name: str, virtual: Mapping[str, Any]) -> _Spec:
    if name in virtual:
        return _Spec(key=name, audit_key=name, kind="virtual")
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:
        matches = [f for f in model._meta.concrete_fields if f.attname == name]
        if not matches:
            raise
        model_field = matches[0]
    if model_field.many_to_many and model_field.concrete:
        return _Spec(
            key=model_field.name, audit_key=model_field.name, kind="m2m", field=model_field
        )
    if not model_field.concrete:
        raise ValueError(f"{model._meta.label}.{name} is not a column of the model.")
    if model_field.is_relation:
        return _Spec(
            key=model_field.attname, audit_key=model_field.name, kind="fk", field=model_field
        )
    return _Spec(key=model_field.name, audit_key=model_field.name, kind="column", field=model_field)


def _created_field(model: type[models.Model]) -> str | None:
    names = {f.name for f in model._meta.concrete_fields}
    return next((name for name in CREATED_FIELDS if name in names), None)


def _many_to_many(
    queryset: QuerySet, specs: Iterable[_Spec], ids: list[Any]
) -> dict[str, dict[Any, list]]:
    """Today's related ids of each many-to-many field, one query per field."""
    result: dict[str, dict[Any, list]] = {}
    for spec in specs:
        if spec.kind != "m2m":
            continue
        through = spec.field.remote_field.through
        source = spec.field.m2m_field_name()
        target = spec.field.m2m_reverse_field_name()
        links = through.objects.all()
        if len(ids) <= _ID_LIST_LIMIT:
            links = links.filter(**{f"{source}__in": ids})
        else:
            links = links.filter(**{f"{source}__in": queryset.order_by().values("pk")})
        grouped: dict[Any, list] = defaultdict(list)
        for owner_id, related_id in links.values_list(f"{source}_id", f"{target}_id"):
            grouped[owner_id].append(related_id)
        result[spec.key] = {pk: sorted(values) for pk, values in grouped.items()}
    return result


def _events_for(
    label: str,
    *,
    ids: list[Any],
    as_of: dt.datetime,
    model_ref: int | None,
    events: Sequence[AuditEvent] | None,
    restore_deleted: bool,
) -> list[AuditEvent]:
    if events is not None:
        return [
            e
            for e in events
            if e.object_type == label and (model_ref is None or e.model_ref == model_ref)
        ]
    qs = AuditEvent.objects.filter(object_type=label)
    if model_ref is not None:
        qs = qs.filter(model_ref=model_ref)
    elif len(ids) <= _ID_LIST_LIMIT:
        wanted = Q(object_id__in=[str(pk) for pk in ids])
        if restore_deleted:
            wanted |= Q(occurred_at__gt=as_of)
        qs = qs.filter(wanted)
    return list(qs.only(*EVENT_COLUMNS).order_by("sequence"))


def _not_field_change(event: AuditEvent) -> bool:
    return (event.object_type, event.action) in NOT_FIELD_CHANGES


def _born(events: list[AuditEvent], created: dt.datetime | None) -> dt.datetime | None:
    for event in events:
        if event.action == AuditEvent.Action.CREATE:
            return event.occurred_at
    return created


def _undo(
    values: dict[str, Any],
    specs: list[_Spec],
    events: list[AuditEvent],
    as_of: dt.datetime,
    label: str,
    slugs: _SlugResolver,
) -> None:
    """Apply the ``before`` of every change after T, newest first."""
    for event in reversed(events):
        if event.occurred_at <= as_of:
            continue
        if event.action in (AuditEvent.Action.CREATE, AuditEvent.Action.DELETE):
            continue
        if (label, event.action) in NOT_FIELD_CHANGES:
            continue
        for spec in specs:
            change = event.changes.get(spec.audit_key)
            if isinstance(change, dict) and "before" in change:
                _assign(values, spec, change["before"], slugs)


def _assign(values: dict[str, Any], spec: _Spec, raw: Any, slugs: _SlugResolver) -> None:
    slugs.cancel(values, spec.key)
    values[spec.key] = _from_audit(spec, raw, slugs, values)


def _restore(
    model: type[models.Model],
    object_id: str,
    events: list[AuditEvent],
    specs: list[_Spec],
    as_of: dt.datetime,
    label: str,
    slugs: _SlugResolver,
) -> Record | None:
    """A row deleted after T, from the ``before`` values of its (first) delete event."""
    delete = next(
        (e for e in events if e.action == AuditEvent.Action.DELETE and e.occurred_at > as_of),
        None,
    )
    if delete is None:
        return None
    born = _born(events, None)
    if born is not None and born > as_of:
        return None
    values: dict[str, Any] = {}
    for spec in specs:
        change = delete.changes.get(spec.audit_key)
        if isinstance(change, dict) and "before" in change:
            _assign(values, spec, change["before"], slugs)
        elif spec.kind == "column" and spec.field.has_default():
            values[spec.key] = spec.field.get_default()
        elif spec.kind == "m2m":
            values[spec.key] = []
        else:
            values[spec.key] = None
    earlier = [e for e in events if e.sequence < delete.sequence]
    _undo(values, specs, earlier, as_of, label, slugs)
    pk = model._meta.pk.to_python(object_id)
    return Record(pk=pk, values=values, events=events, born=born, restored=True)


def _from_audit(spec: _Spec, value: Any, slugs: _SlugResolver, values: dict) -> Any:
    """A value from audit changes as the field holds it."""
    if value is None or spec.kind == "virtual":
        return value
    if spec.kind == "m2m":
        target_pk = spec.field.related_model._meta.pk
        return sorted(target_pk.to_python(v) for v in value)
    if spec.kind == "fk":
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return spec.field.target_field.to_python(value)
        # Some events name the related row by its slug (model dependencies).
        slugs.defer(spec, value, values)
        return None
    model_field = spec.field
    if isinstance(model_field, models.JSONField):
        return value
    if isinstance(model_field, models.DateTimeField):
        moment = model_field.to_python(value)
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC) if moment is not None else None
    return model_field.to_python(value)


class _SlugResolver:
    """Foreign keys recorded by slug, looked up after all rows are built: one query per
    related model (a link's upstream and downstream are both models: one query)."""

    def __init__(self) -> None:
        self._pending: dict[tuple[int, str], tuple[_Spec, str, dict]] = {}

    def defer(self, spec: _Spec, slug: Any, values: dict) -> None:
        self._pending[(id(values), spec.key)] = (spec, str(slug), values)

    def cancel(self, values: dict, key: str) -> None:
        """A later assignment (an older value) replaces a deferred one."""
        self._pending.pop((id(values), key), None)

    def resolve(self) -> None:
        by_model: dict[type[models.Model], list[tuple[_Spec, str, dict]]] = defaultdict(list)
        for item in self._pending.values():
            by_model[item[0].field.related_model].append(item)
        for related, items in by_model.items():
            if "slug" not in {f.name for f in related._meta.concrete_fields}:
                continue
            wanted = sorted({slug for _, slug, _ in items})
            found = dict(related._default_manager.filter(slug__in=wanted).values_list("slug", "pk"))
            for spec, slug, values in items:
                values[spec.key] = found.get(slug)
        self._pending.clear()
