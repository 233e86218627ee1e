"""Audit extract: the audit events of a period and/or one model, as CSV and PDF, with the
hash chain verified and the result printed.

Two checks, both reported:

- the whole chain (``apps.audit.selectors.audit_chain_verify_incremental``): the events after
  the last point an earlier verification proved (anchored by a signed checkpoint when there
  is one; the first event when nothing was proven), recomputed in order and compared with the
  stored chain head and the signed checkpoints — the log as a whole is intact, at the cost of
  the events added since, not of the whole trail;
- the extract's own events: each event's hash matches its content, and each links to the
  event just before it in the chain (its ``prev_hash`` equals that event's hash; the
  genesis hash for the first). An extract for one model skips the other models' events, so
  "linked" is checked against the chain, not against the previous row of the extract.

Only roles that read the audit log (``audit.view_auditevent``) may extract it.

Period bounds: datetimes are inclusive at both ends (an extract "as of T" ends at T); a date
``start`` means that day from 00:00 UTC and a date ``end`` the whole of that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.template.loader import render_to_string
from django.utils import timezone

from apps.audit import selectors as audit_selectors
from apps.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_json,
    compute_hash,
    format_time,
)
from apps.audit.kinds import type_label
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.export_cells import local_time, person_name
from apps.inventory.models import RegisteredModel
from apps.reports.lineage import iso
from apps.reports.register import csv_bytes

#: Columns for people, after those programs read: the time in the reader's zone, the
#: actor's name, the action and the object's type by their names.
READABLE_COLUMNS = ("occurred_at_local", "actor_name", "action_label", "object_type_label")

#: CSV columns: every field the hash covers (so the chain can be recomputed from the file),
#: the event's own hash and the two checks, then the same event for people (appended, so
#: the columns a verifier reads keep their places).
CSV_COLUMNS = (*HASHED_FIELDS, "hash", "hash_ok", "linked", *READABLE_COLUMNS)

#: At most this many problems are listed one by one; the counts cover all of them.
PROBLEMS_SHOWN = 50


def _bounds(
    start: dt.date | dt.datetime | None, end: dt.date | dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None, bool]:
    """(start, end, end_exclusive) as aware datetimes; a date end covers its whole day."""

    def aware(moment: dt.datetime) -> dt.datetime:
        return timezone.make_aware(moment, dt.UTC) if timezone.is_naive(moment) else moment

    if isinstance(start, dt.date) and not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    end_exclusive = False
    if isinstance(end, dt.date) and not isinstance(end, dt.datetime):
        end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        end_exclusive = True
    return (
        aware(start) if start is not None else None,
        aware(end) if end is not None else None,
        end_exclusive,
    )


def extract_events(
    *,
    user,
    model: RegisteredModel | None = None,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
) -> tuple[list[AuditEvent], dict]:
    """The events of the period (and model), oldest first, and the verification result.

    Raises PermissionDenied unless the user reads the audit log (and, for one model, may
    see that model's history). Two queries for the extract whatever its size (one model's
    events through the ``model_ref`` index), plus the streaming walk of the chain since the
    last verified point.
    """
    if not user.has_perm("audit.view_auditevent"):
        raise PermissionDenied("You may not read the audit log.")
    if model is not None and not user.has_perm("inventory.view_history_registeredmodel", model):
        raise PermissionDenied("You may not read this model's history.")
    start, end, end_exclusive = _bounds(start, end)
    if start is not None and end is not None and end < start:
        start, end = end, start
    before = AuditEvent.objects.filter(sequence=OuterRef("sequence") - 1).values("hash")[:1]
    qs = AuditEvent.objects.annotate(predecessor_hash=Subquery(before)).order_by("sequence")
    if model is not None:
        qs = qs.filter(model_ref=model.pk)
    if start is not None:
        qs = qs.filter(occurred_at__gte=start)
    if end is not None:
        qs = qs.filter(occurred_at__lt=end) if end_exclusive else qs.filter(occurred_at__lte=end)
    events = list(qs)
    verification = verify_extract(events)
    head = audit_selectors.chain_head()
    checkpoints = audit_selectors.audit_checkpoints_read()
    base = audit_selectors.verification_base(checkpoints)
    chain = audit_selectors.audit_chain_verify_incremental(
        base=base, head=head, checkpoints=checkpoints
    )
    verification.update(
        {
            "ok": chain.ok and verification["extract"]["ok"],
            "verified_at": iso(clock.now()),
            "chain": chain.as_dict(),
            "chain_base": {"sequence": base.sequence, "note": base.note},
            "chain_head": {"sequence": head.sequence, "hash": head.hash},
            "scope": {
                "model": model.slug if model is not None else None,
                "model_name": model.name if model is not None else None,
                "start": iso(start),
                "end": iso(end),
                "end_inclusive": end is not None and not end_exclusive,
            },
        }
    )
    return events, verification


def verify_extract(events: Sequence[AuditEvent]) -> dict:
    """Check each event's hash and its link to its predecessor in the chain. Pure: uses
    ``predecessor_hash`` (the stored hash of event ``sequence - 1``) annotated on each."""
    checks = []
    problems = []
    for event in events:
        hash_ok = compute_hash(event.as_chain_dict()) == event.hash
        predecessor = getattr(event, "predecessor_hash", None)
        expected = GENESIS_HASH if event.sequence == 1 else predecessor
        linked = expected is not None and event.prev_hash == expected
        checks.append({"sequence": event.sequence, "hash_ok": hash_ok, "linked": linked})
        if not hash_ok:
            problems.append(
                {
                    "sequence": event.sequence,
                    "id": event.pk,
                    "reason": "content does not match its hash (event altered)",
                }
            )
        if not linked:
            problems.append(
                {
                    "sequence": event.sequence,
                    "id": event.pk,
                    "reason": (
                        "the event before it in the chain is missing"
                        if expected is None
                        else "previous-hash link does not match the event before it"
                    ),
                }
            )
    return {
        "extract": {
            "ok": not problems,
            "count": len(events),
            "first_sequence": events[0].sequence if events else None,
            "last_sequence": events[-1].sequence if events else None,
            "hashes_ok": sum(1 for c in checks if c["hash_ok"]),
            "links_ok": sum(1 for c in checks if c["linked"]),
            "problem_count": len(problems),
            "problems": problems[:PROBLEMS_SHOWN],
        },
        "events": checks,
    }


def _checks(verification: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {c["sequence"]: c for c in verification.get("events", [])}


def _actor_names(events: Sequence[AuditEvent]) -> dict[int, str]:
    """The actors' names (one query, however many events)."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return {
        u.pk: person_name(first_name=u.first_name, last_name=u.last_name, username=u.username)
        for u in get_user_model()
        .objects.filter(pk__in=ids)
        .only("pk", "username", "first_name", "last_name")
    }


def extract_csv(
    events: Sequence[AuditEvent], verification: Mapping[str, Any], *, zone: dt.tzinfo = dt.UTC
) -> bytes:
    """The extract as CSV (UTF-8 with BOM, CRLF; formula-safe like the register, see
    ``register.csv_text``): every hashed field in the form it is hashed (times in UTC with
    microseconds, ``changes`` as canonical JSON), the hash, and each event's two checks;
    then for people the time in ``zone``, the actor's name (their username for someone
    since deleted), the action and the object type by their names."""
    checks = _checks(verification)
    names = _actor_names(events)
    actions = dict(AuditEvent.Action.choices)
    rows = []
    for event in events:
        check = checks.get(event.sequence, {})
        rows.append(
            [
                event.sequence,
                format_time(event.occurred_at),
                event.actor_id if event.actor_id is not None else "",
                event.actor_username,
                event.action,
                event.object_type,
                event.object_id,
                event.object_repr,
                event.model_ref if event.model_ref is not None else "",
                canonical_json(event.changes),
                event.message,
                event.request_id,
                event.client_ip,
                event.prev_hash,
                event.hash,
                bool(check.get("hash_ok")),
                bool(check.get("linked")),
                local_time(event.occurred_at, zone),
                names.get(event.actor_id, event.actor_username),
                str(actions.get(event.action, event.action)),
                type_label(event.object_type),
            ]
        )
    return csv_bytes(CSV_COLUMNS, rows)


def extract_html(
    events: Sequence[AuditEvent], verification: Mapping[str, Any], meta: Mapping[str, Any]
) -> str:
    """The extract as printable HTML (the PDF's source): the verification first, then the
    events with their changes, people named and times in UTC. User text is escaped."""
    checks = _checks(verification)
    with timezone.override(dt.UTC):
        described = audit_selectors.describe_events(events)
        rows = [
            {
                "event": row.event,
                "occurred_at": format_time(row.event.occurred_at),
                "changes": row.changes,
                "check": checks.get(row.event.sequence, {}),
            }
            for row in described
        ]
        html = render_to_string(
            "reports/audit_extract/extract.html",
            {"rows": rows, "v": verification, "meta": meta, "scope": verification["scope"]},
        )
    return html


def extract_pdf(
    events: Sequence[AuditEvent],
    verification: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    zone: dt.tzinfo = dt.UTC,
) -> bytes:
    """PDF/A-3b of the extract with the verification printed; the CSV attached (its times
    for people in ``zone``)."""
    from apps.reports.pdf import RECORDS_CSS, PdfAttachment, render_pdf

    attachment = PdfAttachment(
        name="audit-extract.csv",
        data=extract_csv(events, verification, zone=zone),
        description="The extracted audit events as CSV (UTF-8 with BOM)",
        mime="text/csv",
    )
    # Landscape: the events' seven columns need the width to keep times and names whole.
    return render_pdf(
        extract_html(events, verification, meta),
        attachments=[attachment],
        landscape=True,
        stylesheets=(RECORDS_CSS,),
    )
