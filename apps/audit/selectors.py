"""Reading and verifying the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from apps.audit import kinds
from apps.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    VerificationResult,
    compute_hash,
    verify_events,
)
from apps.audit.checkpoints import (
    BROKEN,
    Checkpoint,
    CheckpointFile,
    CheckpointFinding,
    compare,
    read_file,
)
from apps.audit.models import AuditChainHead, AuditEvent, ChainVerification
from apps.audit.registry import ObjectRef, field_names, model_reference, object_links
from apps.core.signing import installation_keyset

_CHUNK = 2000
#: What a chain walk reads of each event: the hashed fields, the hash and the id (no model
#: instances: a plain dict per row is what the hash is computed over).
CHAIN_COLUMNS = ("id", *HASHED_FIELDS, "hash")


def audit_event_list(*, model_pk: int | None = None) -> QuerySet[AuditEvent]:
    """Events newest first (one model's with ``model_pk``: the ``(model_ref, sequence)``
    index reads a page of them without touching the others)."""
    qs = AuditEvent.objects.order_by("-sequence")
    if model_pk is not None:
        qs = qs.filter(model_ref=model_pk)
    return qs


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first, found by sequence (keyset): no count, no offset.

    ``older`` / ``newer`` are the cursors of the neighbouring pages (None at either end):
    ``before=<older>`` reads the events below it, ``after=<newer>`` those above it.
    """

    events: list
    older: int | None
    newer: int | None

    @property
    def has_other_pages(self) -> bool:
        return self.older is not None or self.newer is not None


def _cursor(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**63 else None


def event_page(
    queryset: QuerySet[AuditEvent], *, before=None, after=None, size: int = 25
) -> EventPage:
    """The page of ``queryset`` (any filter) below sequence ``before``, above ``after``, or
    the newest page. One query: a row more than the page tells whether there is another.
    Junk cursors read the newest page."""
    before, after = _cursor(before), _cursor(after)
    if after is not None and before is None:
        rows = list(queryset.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        more = len(rows) > size
        rows = rows[:size][::-1]
        newer = rows[0].sequence if more and rows else None
        older = rows[-1].sequence if rows else None
        if not rows:  # nothing newer: show the newest page
            return event_page(queryset, size=size)
        return EventPage(events=rows, older=older, newer=newer)
    qs = queryset.order_by("-sequence")
    if before is not None:
        qs = qs.filter(sequence__lt=before)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    newer = None
    if before is not None:  # came from a newer page (or a date): the way back up
        newer = rows[0].sequence if rows else max(before - 1, 0)
    return EventPage(events=rows, older=rows[-1].sequence if more else None, newer=newer)


def within_period(queryset: QuerySet[AuditEvent], *, start=None, end=None, end_inclusive=False):
    """Events of ``queryset`` at or after ``start`` and before ``end`` (or at it), read as a
    range of sequences: the bounds come from the ``occurred_at`` index (two one-row reads), so
    a page of an old period is one index range instead of a walk down from the newest event.
    The chain is appended in time order (the time is read under the head's lock), so the
    sequence range holds the period; the time filter stays, so nothing outside it shows."""
    if start is not None:
        queryset = queryset.filter(occurred_at__gte=start)
        first = (
            AuditEvent.objects.filter(occurred_at__gte=start)
            .order_by("occurred_at")
            .values_list("sequence", flat=True)
            .first()
        )
        queryset = queryset.filter(sequence__gte=first) if first else queryset.none()
    if end is not None:
        bound = {"occurred_at__lte" if end_inclusive else "occurred_at__lt": end}
        queryset = queryset.filter(**bound)
        last = (
            AuditEvent.objects.filter(**bound)
            .order_by("-occurred_at")
            .values_list("sequence", flat=True)
            .first()
        )
        queryset = queryset.filter(sequence__lte=last) if last else queryset.none()
    return queryset


def sequence_before(moment) -> int | None:
    """The cursor that shows the events up to ``moment`` first ("jump to a date"): one past
    the last event before it, found on the ``occurred_at`` index (events are appended in
    time order under the head's lock, so this is where that day ends in the chain)."""
    last = (
        AuditEvent.objects.filter(occurred_at__lt=moment)
        .order_by("-occurred_at")
        .values_list("sequence", flat=True)
        .first()
    )
    return None if last is None else last + 1


def model_refs(slug: str) -> list[int]:
    """The ``model_ref`` of the model with this slug (none for an unknown or deleted model),
    read first so the events' query is an equality on the ``(model_ref, sequence)`` index
    rather than a subquery the planner may turn into a scan of the newest events."""
    return list(model_reference().refs(slug).values_list("pk", flat=True))


def event_object_types() -> list[str]:
    """Every object type an event can name: the models of mlgov's apps, from Django's app
    registry (no scan of the trail for its distinct values)."""
    return sorted(
        model._meta.label_lower
        for model in django_apps.get_models()
        if model.__module__.startswith("apps.")
    )


def event_model_slugs(events) -> dict[int, str]:
    """Slugs of the models a page of events is about, in one query (none without refs)."""
    refs = {e.model_ref for e in events if e.model_ref is not None}
    if not refs:
        return {}
    return model_reference().slugs(refs)


def chain_head(using: str = "default") -> AuditChainHead:
    return AuditChainHead.objects.using(using).filter(pk=1).first() or AuditChainHead()


def chain_events(*, after: int = 0, upto: int | None = None, using: str = "default"):
    """The events after sequence ``after`` up to ``upto``, in order, as the plain dicts the
    hash covers, streamed in chunks (a server-side cursor on PostgreSQL: constant memory)."""
    qs = AuditEvent.objects.using(using).order_by("sequence")
    if after:
        qs = qs.filter(sequence__gt=after)
    if upto is not None:
        qs = qs.filter(sequence__lte=upto)
    return qs.values(*CHAIN_COLUMNS).iterator(chunk_size=_CHUNK)


def beyond_head(head: AuditChainHead, using: str = "default") -> VerificationResult | None:
    """A broken result when an event lies beyond the chain head (read again now: the chain
    may have grown during a walk), which only someone bypassing the app can insert."""
    last = (
        AuditEvent.objects.using(using).order_by("-sequence").values_list("sequence", "id").first()
    )
    current = chain_head(using)
    if last is None or last[0] <= max(current.sequence, head.sequence):
        return None
    return VerificationResult(
        ok=False,
        count=head.sequence,
        head_hash=head.hash,
        broken_sequence=last[0],
        broken_id=last[1],
        reason=f"event {last[0]} lies beyond the chain head (sequence {current.sequence})",
    )


def _walk(head: AuditChainHead, *, using: str = "default", tap=None, **kwargs):
    """Verify the events up to ``head`` (read before the walk, so events appended meanwhile
    are left for the next run), then check that nothing lies beyond the head."""
    base = kwargs.get("base_sequence", 0)
    events = chain_events(after=base, upto=head.sequence, using=using)
    chain = verify_events(
        tap(events) if tap else events,
        expected_count=head.sequence - base,
        expected_head=head.hash,
        **kwargs,
    )
    if chain.ok:
        chain = beyond_head(head, using) or chain
    return chain


def audit_chain_verify() -> VerificationResult:
    """Recompute every hash in sequence order, streaming in chunks (constant memory)."""
    return _walk(chain_head())


@dataclass(frozen=True)
class AuditVerification:
    """The chain's own verification and how it stands against the signed checkpoints
    (``checkpoint`` is None when the chain is broken by itself: nothing more to compare)."""

    chain: VerificationResult
    checkpoint: CheckpointFinding | None
    #: ``ok`` and ``reason`` replaced when an earlier run's proof contradicts the chain.
    override: dict | None = None

    @property
    def ok(self) -> bool:
        if self.override:
            return False
        return self.chain.ok and self.checkpoint is not None and self.checkpoint.state != BROKEN

    @property
    def verified(self) -> bool:
        """OK *and* checked against a signed checkpoint."""
        return self.ok and self.checkpoint is not None and self.checkpoint.ok

    def as_dict(self) -> dict:
        """The chain's result, with ``ok`` and ``reason`` covering the checkpoints too, and
        the checkpoint verdict (``state``: verified, broken or unverifiable)."""
        result = {
            **self.chain.as_dict(),
            "ok": self.ok,
            "checkpoint": self.checkpoint.as_dict() if self.checkpoint else None,
        }
        if self.chain.ok and not self.ok and self.checkpoint is not None:
            result["reason"] = self.checkpoint.reason
        return {**result, **(self.override or {})}


def checkpoint_path() -> Path:
    return Path(settings.MLGOV_AUDIT_CHECKPOINT_PATH)


def audit_checkpoints_read(path: Path | None = None) -> CheckpointFile:
    """Every line of the checkpoint file, signatures checked with the installation's keys."""
    return read_file(path or checkpoint_path(), keyset=installation_keyset())


def audit_chain_verify_with_checkpoints(
    *,
    path: Path | None = None,
    using: str = "default",
    restored: bool = False,
    checkpoints: CheckpointFile | None = None,
    head: AuditChainHead | None = None,
    progress=None,
) -> AuditVerification:
    """Verify the chain (as ``audit_chain_verify``) and then compare it with every signed
    checkpoint: a chain shorter than a checkpoint lost its tail (or was reset), and an event
    whose hash differs from a checkpoint's was rewritten, even if every later hash was
    recomputed and the head row moved to match. ``using`` names the database (a restored
    backup in the restore drill, which passes ``restored``: see ``checkpoints.compare``)."""
    if checkpoints is None:
        checkpoints = audit_checkpoints_read(path)
    wanted = {c.sequence for c in checkpoints.valid}
    hashes: dict[int, str] = {}

    def tapped(events):
        for event in events:
            if event["sequence"] in wanted:
                hashes[event["sequence"]] = event["hash"]
            yield event

    chain = _walk(head or chain_head(using), using=using, tap=tapped, progress=progress)
    if not chain.ok:
        return AuditVerification(chain=chain, checkpoint=None)
    finding = compare(checkpoints, chain_length=chain.count, hashes=hashes, restored=restored)
    return AuditVerification(chain=chain, checkpoint=finding)


# --- incremental verification ----------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """Where an incremental run starts: events up to ``sequence`` are taken as proven, with
    ``hash`` the trusted hash of that event (from a signed checkpoint when one is there)."""

    sequence: int
    hash: str
    note: str
    proven: ChainVerification | None = None
    anchor: Checkpoint | None = None


FROM_GENESIS = Base(sequence=0, hash=GENESIS_HASH, note="from the first event")


def latest_proven_verification() -> ChainVerification | None:
    """The finished verification that proved the longest chain (index
    ``audit_verification_proven``)."""
    return (
        ChainVerification.objects.filter(status=ChainVerification.Status.DONE, ok=True)
        .order_by("-target_sequence", "-pk")
        .first()
    )


def verification_base(checkpoints: CheckpointFile) -> Base:
    """The latest point an earlier run proved, anchored by the highest signed checkpoint at or
    before it (its hash is the one trusted, not this database's record of the run, which
    whoever controls the database could forge); the run's own record when no checkpoint is
    that old; the first event when nothing was proven."""
    proven = latest_proven_verification()
    if proven is None or not proven.target_sequence:
        return FROM_GENESIS
    anchors = [c for c in checkpoints.valid if 0 < c.sequence <= proven.target_sequence]
    if anchors:
        anchor = max(anchors, key=lambda c: (c.sequence, c.line or 0))
        return Base(
            sequence=anchor.sequence,
            hash=anchor.hash,
            note=(
                f"the signed checkpoint of {anchor.checkpointed_at} (sequence {anchor.sequence}),"
                f" proven by verification #{proven.pk}"
            ),
            proven=proven,
            anchor=anchor,
        )
    return Base(
        sequence=proven.target_sequence,
        hash=proven.target_hash,
        note=f"verification #{proven.pk} (no signed checkpoint at or before it)",
        proven=proven,
    )


def check_base(base: Base, using: str = "default") -> VerificationResult | None:
    """A broken result unless the base event is still there with the trusted hash and its
    content still gives that hash (the row itself unchanged). One indexed read."""
    if base.sequence == 0:
        return None
    event = (
        AuditEvent.objects.using(using)
        .filter(sequence=base.sequence)
        .values(*CHAIN_COLUMNS)
        .first()
    )

    def broken(reason: str) -> VerificationResult:
        return VerificationResult(
            ok=False,
            count=0,
            head_hash=base.hash,
            broken_sequence=base.sequence,
            broken_id=event["id"] if event else None,
            reason=reason,
        )

    if event is None:
        return broken(f"event {base.sequence}, verified earlier ({base.note}), is missing")
    if event["hash"] != base.hash:
        return broken(
            f"event {base.sequence} has hash {event['hash']} but {base.note} records "
            f"{base.hash}: the chain was rewritten up to it"
        )
    if compute_hash(event) != base.hash:
        return broken(
            f"event {base.sequence}, verified earlier ({base.note}), no longer matches its "
            "hash (event altered)"
        )
    return None


def audit_chain_verify_incremental(
    *,
    base: Base,
    head: AuditChainHead,
    checkpoints: CheckpointFile,
    progress=None,
) -> AuditVerification:
    """Verify the events after ``base`` up to ``head`` and compare the chain with every
    signed checkpoint: those after the base are read during the walk, those at or before it
    in one indexed query. The cost is the events after the base, not the whole trail."""
    broken = check_base(base)
    if broken is not None:
        return AuditVerification(chain=broken, checkpoint=None)
    wanted = {c.sequence for c in checkpoints.valid}
    hashes: dict[int, str] = dict(
        AuditEvent.objects.filter(
            sequence__in=[s for s in wanted if 0 < s <= base.sequence]
        ).values_list("sequence", "hash")
    )

    def tapped(events):
        for event in events:
            if event["sequence"] in wanted:
                hashes[event["sequence"]] = event["hash"]
            yield event

    if head.sequence == base.sequence and head.hash != base.hash:
        chain = VerificationResult(
            ok=False,
            count=0,
            head_hash=base.hash,
            broken_sequence=base.sequence,
            reason="the recorded chain head does not match the event verified earlier",
        )
    else:
        chain = _walk(
            head,
            tap=tapped,
            base_sequence=base.sequence,
            base_hash=base.hash,
            progress=progress,
        )
    if not chain.ok:
        return AuditVerification(chain=chain, checkpoint=None)
    finding = compare(checkpoints, chain_length=head.sequence, hashes=hashes)
    return AuditVerification(chain=chain, checkpoint=finding)


def verification_get(pk: int) -> ChainVerification | None:
    return ChainVerification.objects.select_related("requested_by").filter(pk=pk).first()


def verification_active() -> ChainVerification | None:
    """The run asked for from the page or the API that is waiting or running, if any."""
    return ChainVerification.objects.filter(active=True).first()


def verification_latest() -> ChainVerification | None:
    return ChainVerification.objects.select_related("requested_by").order_by("-pk").first()


def verification_list(limit: int = 10) -> list[ChainVerification]:
    return list(ChainVerification.objects.select_related("requested_by").order_by("-pk")[:limit])


# --- events made readable ----------------------------------------------------------------

# Change fields holding user ids, shown by name instead (and those the apps register in
# apps.audit.registry, such as business units).
USER_FIELDS = frozenset(
    {
        "owner",
        "business_owner",
        "validator",
        "risk_assessed_by",
        "approved_by",
        "created_by",
        "decided_by",
        "assessed_by",
        "requested_by",
        "reviewer",
        "assignee",
        "approver",
    }
)
USER_LIST_FIELDS = frozenset({"developers"})
#: The change field holding a registered model's id: named with the models the events are
#: about, in the same query.
MODEL_FIELD = "model"
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _local_moment(value: str) -> str:
    """A stored UTC timestamp shown in the user's zone, like every other time on the page."""
    moment = parse_datetime(value.replace("Z", "+00:00"))
    if moment is None:
        return value
    return date_format(timezone.localtime(moment), "j M Y, H:i:s")


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EventRow:
    """An event as the pages show it: readable changes, the human name of its object's type,
    a link to the object and to the model it is about (when they are still there), and
    whether it is automated rather than a person's decision."""

    event: AuditEvent
    changes: list[ChangeRow]
    type_label: str = ""
    url: str | None = None
    model_slug: str | None = None
    model_name: str | None = None
    automated: bool = False


def history_scope(value: str | None) -> str:
    """The scope a page asked for in its query string: governance unless ``"all"``."""
    return kinds.EVERYTHING if value == kinds.EVERYTHING else kinds.GOVERNANCE


def audit_event_scope(queryset: QuerySet[AuditEvent], scope: str) -> QuerySet[AuditEvent]:
    """Governance events only (the default view), or every event with ``"all"``."""
    return queryset if scope == kinds.EVERYTHING else queryset.filter(kinds.governance_q())


def _model_labels(refs: set[int]) -> dict[int, tuple[str, str]]:
    """``{ref: (slug, name)}`` of the models still there, in one query (none without refs)."""
    if not refs:
        return {}
    try:
        reference = model_reference()
    except LookupError:
        return {}
    if reference.labels is not None:
        return reference.labels(refs)
    return {ref: (slug, slug) for ref, slug in reference.slugs(refs).items()}


def _links(events, slugs: dict[int, str]) -> dict[tuple[str, str], str]:
    """``{(object_type, object_id): url}`` for a page of events: one call per object type on
    the page that the apps registered links for (most build addresses without a query)."""
    registered = object_links()
    wanted: dict[str, dict[str, ObjectRef]] = {}
    for event in events:
        if event.object_type in registered:
            slug = slugs.get(event.model_ref) if event.model_ref is not None else None
            wanted.setdefault(event.object_type, {})[event.object_id] = ObjectRef(
                object_id=event.object_id, model_slug=slug
            )
    found = {}
    for object_type, refs in wanted.items():
        for object_id, url in registered[object_type].urls(list(refs.values())).items():
            found[(object_type, object_id)] = url
    return found


def describe_events(events) -> list[EventRow]:
    """Events made readable: ids of people, of models and of the objects the apps registered
    a change field for (business units, versions) become names; each event's object type its
    human name, its object a link, its model a name.

    A constant number of queries for a whole page of events, whatever it holds: one for the
    people, one for the models, one per registered field in use and at most one per linked
    object type that needs a lookup.
    """
    events = list(events)
    named_fields = field_names()
    user_ids: set[int] = set()
    refs: set[int] = {e.model_ref for e in events if e.model_ref is not None}
    ids: dict[str, set[int]] = {}
    for event in events:
        for name, change in (event.changes or {}).items():
            if not isinstance(change, dict):
                continue
            for value in (change.get("before"), change.get("after")):
                if name in USER_FIELDS and isinstance(value, int):
                    user_ids.add(value)
                elif name in USER_LIST_FIELDS and isinstance(value, list):
                    user_ids.update(v for v in value if isinstance(v, int))
                elif name == MODEL_FIELD and isinstance(value, int):
                    refs.add(value)
                elif name in named_fields and isinstance(value, int):
                    ids.setdefault(name, set()).add(value)
    users = (
        {u.pk: u.username for u in get_user_model().objects.filter(pk__in=user_ids)}
        if user_ids
        else {}
    )
    models = _model_labels(refs)
    names = {name: named_fields[name].names(field_ids) for name, field_ids in ids.items()}
    links = _links(events, {ref: slug for ref, (slug, _) in models.items()})

    def readable(name: str, value: Any, object_type: str = "") -> Any:
        if name in USER_FIELDS and isinstance(value, int):
            return users.get(value, f"user #{value}")
        if name in USER_LIST_FIELDS and isinstance(value, list):
            return ", ".join(users.get(v, f"user #{v}") for v in value) or "—"
        if name == MODEL_FIELD and isinstance(value, int):
            return models[value][1] if value in models else f"model #{value}"
        if name in named_fields and isinstance(value, int):
            return names.get(name, {}).get(value, f"{named_fields[name].missing} #{value}")
        if isinstance(value, str) and ISO_MOMENT.match(value):
            return _local_moment(value)
        return kinds.value_label(object_type, name, value) if object_type else value

    rows = []
    for event in events:
        changes = [
            ChangeRow(
                field=kinds.field_label(event.object_type, name),
                before=readable(name, change.get("before"), event.object_type),
                after=readable(name, change.get("after"), event.object_type),
            )
            for name, change in sorted((event.changes or {}).items())
            if isinstance(change, dict)
        ]
        model = models.get(event.model_ref) if event.model_ref is not None else None
        rows.append(
            EventRow(
                event=event,
                changes=changes,
                type_label=kinds.type_label(event.object_type),
                url=links.get((event.object_type, event.object_id)),
                model_slug=model[0] if model else None,
                model_name=model[1] if model else None,
                automated=kinds.is_automated(
                    actor_id=event.actor_id, object_type=event.object_type, action=event.action
                ),
            )
        )
    return rows
