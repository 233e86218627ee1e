"""One entry point, ``generate``, that turns a report request into bytes, a file name and a
content type by calling the module that builds that kind of report:

- model card: ``snapshot.model_snapshot`` then ``cards`` (PDF, HTML) or ``formats`` (Markdown,
  Model Card Toolkit JSON, mlgov JSON);
- lineage: ``lineage``; register: ``register``; audit extract: ``audit_extract``;
- evidence pack: ``evidence.build_pack`` (which calls back here for each file).

Callers (the report service, the evidence pack) check permissions first. File names are
stable: ``<model-slug or inventory>-<kind>-<as-of yyyymmddThhmmZ>.<ext>``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import clock
from apps.core.export_cells import zone_of
from apps.core.roles import ROLE_LABELS, roles_of
from apps.reports.choices import KIND_FORMATS, ReportFormat, ReportKind

F = ReportFormat
K = ReportKind

CONTENT_TYPES: dict[str, str] = {
    F.PDF: "application/pdf",
    F.HTML: "text/html; charset=utf-8",
    F.MARKDOWN: "text/markdown; charset=utf-8",
    F.MCT_JSON: "application/json",
    F.JSON: "application/json",
    F.CSV: "text/csv; charset=utf-8",
    F.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    F.ZIP: "application/zip",
}
EXTENSIONS: dict[str, str] = {
    F.PDF: "pdf",
    F.HTML: "html",
    F.MARKDOWN: "md",
    F.MCT_JSON: "json",
    F.JSON: "json",
    F.CSV: "csv",
    F.XLSX: "xlsx",
    F.ZIP: "zip",
}
#: The middle part of file names, per kind.
NAME_PARTS: dict[str, str] = {
    K.MODEL_CARD: "model-card",
    K.LINEAGE: "lineage",
    K.REGISTER: "register",
    K.AUDIT_EXTRACT: "audit-extract",
    K.EVIDENCE_PACK: "evidence-pack",
}


class GenerationError(Exception):
    """The report cannot be produced (e.g. the card does not validate against its schema);
    the message says why and is shown to the requester."""


@dataclass(frozen=True)
class Output:
    """A generated file. ``snapshot_sha256`` and ``audit_chain_head`` are set when the
    generator computed them from the record it rendered (model cards); ``audit_checkpoint``
    is the signed checkpoint written when the report was generated."""

    data: bytes
    filename: str
    content_type: str
    snapshot_sha256: str = ""
    audit_chain_head: dict[str, Any] | None = field(default=None)
    audit_checkpoint: dict[str, Any] | None = field(default=None)


# --- small helpers shared with the service and the evidence pack ------------------------------


def iso_utc(moment: dt.datetime) -> str:
    """``2026-11-24T10:15:00Z`` (microseconds dropped), the format of every data export."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = parse_datetime(value.replace("Z", "+00:00"))
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


def stamp(moment: dt.datetime) -> str:
    """The as-of part of file names: ``20261124T1015Z`` (UTC, to the minute)."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")


def filename_for(*, kind: str, fmt: str, model_slug: str | None, as_of: dt.datetime) -> str:
    subject = model_slug or "inventory"
    middle = NAME_PARTS[kind]
    if fmt == F.MCT_JSON:
        middle += "-mct"
    return f"{subject}-{middle}-{stamp(as_of)}.{EXTENSIONS[fmt]}"


def person_of(user) -> dict[str, Any]:
    """A user as the reports show people: username, display name and role labels."""
    if user is None:
        return {"username": "system", "name": "system", "role_labels": []}
    return {
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "role_labels": [ROLE_LABELS[r] for r in sorted(roles_of(user))],
    }


def json_bytes(document: Any) -> bytes:
    """Indented, key-sorted UTF-8 JSON with a final newline (stable across runs)."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode()


def _check(kind: str, fmt: str) -> None:
    if kind not in KIND_FORMATS:
        raise GenerationError(f"Unknown report kind {kind!r}.")
    if fmt not in KIND_FORMATS[kind]:
        raise GenerationError(f"A {kind} report is not offered as {fmt}.")


# --- per kind ------------------------------------------------------------------------------


def model_card_bytes(*, snapshot: dict, meta: dict, fmt: str) -> bytes:
    """One model card in ``fmt`` from a snapshot already taken (also used by the pack)."""
    if fmt == F.PDF:
        from apps.reports.cards import card_pdf

        return card_pdf(snapshot, meta)
    if fmt == F.HTML:
        from apps.reports.cards import card_html

        return card_html(snapshot, meta, for_pdf=False).encode()
    if fmt == F.MARKDOWN:
        from apps.reports.formats.markdown import to_markdown

        return to_markdown(snapshot, meta).encode()
    if fmt == F.MCT_JSON:
        from apps.reports.formats.mct import mct_errors, to_mct

        document = to_mct(snapshot, meta)
        errors = mct_errors(document)
        if errors:
            shown = "; ".join(errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise GenerationError(
                f"The Model Card Toolkit JSON does not validate against schema v0.0.2: "
                f"{shown}{more}."
            )
        return json_bytes(document)
    if fmt == F.JSON:
        from apps.reports.formats.jsonexport import card_json_bytes

        return card_json_bytes(snapshot, meta)
    raise GenerationError(f"A model card is not offered as {fmt}.")


def card_meta(snapshot: dict, meta: dict) -> dict:
    """The generation metadata of a card: the snapshot's hash, as-of and chain head."""
    from apps.reports.snapshot import snapshot_sha256

    return {
        **meta,
        "snapshot_sha256": snapshot_sha256(snapshot),
        "audit_chain_head": snapshot["audit_chain_head"],
        "as_of": snapshot["as_of"],
    }


def _model_card(*, model, fmt, as_of, meta) -> tuple[bytes, dict]:
    from apps.reports.snapshot import model_snapshot

    if model is None:
        raise GenerationError("A model card needs a model.")
    snapshot = model_snapshot(model=model, as_of=as_of)
    meta = card_meta(snapshot, meta)
    return model_card_bytes(snapshot=snapshot, meta=meta, fmt=fmt), meta


def _lineage(*, user, model, fmt, as_of, meta) -> bytes:
    from apps.reports import lineage
    from apps.reports.formats.lineage_report import lineage_pdf
    from apps.reports.formats.openlineage import lineage_json_bytes

    document = lineage.lineage_document(user=user, model=model, as_of=as_of)
    if fmt == F.PDF:
        return lineage_pdf(document, meta)
    return lineage_json_bytes(document, meta)


def _register(*, user, fmt, scope_params, as_of, meta) -> bytes:
    from apps.reports import register

    rows = register.register_rows(
        user=user, filters=(scope_params or {}).get("filters") or {}, as_of=as_of
    )
    if fmt == F.CSV:
        return register.register_csv(rows)
    if fmt == F.XLSX:
        return register.register_xlsx(rows, meta)
    return register.register_pdf(rows, meta)


def audit_period(scope_params: dict | None, as_of: dt.datetime | None):
    """The extract's period: the scope's start and end, the end capped at the as-of."""
    scope_params = scope_params or {}
    start = parse_iso(scope_params.get("start"))
    end = parse_iso(scope_params.get("end"))
    if as_of is not None and (end is None or end > as_of):
        end = as_of
    return start, end


def _audit_extract(*, user, model, fmt, scope_params, as_of, meta) -> bytes:
    from apps.reports import audit_extract

    start, end = audit_period(scope_params, as_of)
    events, verification = audit_extract.extract_events(
        user=user, model=model, start=start, end=end
    )
    zone = zone_of(user)  # times for people in the reader's zone (the hashed ones stay UTC)
    if fmt == F.CSV:
        return audit_extract.extract_csv(events, verification, zone=zone)
    return audit_extract.extract_pdf(events, verification, meta, zone=zone)


def generate(*, kind, fmt, model, scope_params, as_of, meta, user) -> Output:
    """Build the report ``kind`` in ``fmt`` as of ``as_of`` (None = the live record).

    ``meta`` is the generation metadata (see the contract); its ``as_of`` is the effective
    as-of, which also dates the file name. Raises GenerationError with a reason to show.
    """
    _check(kind, fmt)
    effective = parse_iso(meta.get("as_of")) or as_of or clock.now()
    slug = model.slug if model is not None else None
    snapshot_sha = ""
    head = meta.get("audit_chain_head")
    if kind == K.MODEL_CARD:
        data, card = _model_card(model=model, fmt=fmt, as_of=as_of, meta=meta)
        snapshot_sha, head = card["snapshot_sha256"], card["audit_chain_head"]
    elif kind == K.LINEAGE:
        data = _lineage(user=user, model=model, fmt=fmt, as_of=as_of, meta=meta)
    elif kind == K.REGISTER:
        data = _register(user=user, fmt=fmt, scope_params=scope_params, as_of=as_of, meta=meta)
        slug = None
    elif kind == K.AUDIT_EXTRACT:
        data = _audit_extract(
            user=user, model=model, fmt=fmt, scope_params=scope_params, as_of=as_of, meta=meta
        )
    else:
        from apps.reports.evidence import build_pack

        data = build_pack(user=user, model=model, as_of=as_of, meta=meta)
    return Output(
        data=data,
        filename=filename_for(kind=kind, fmt=fmt, model_slug=slug, as_of=effective),
        content_type=CONTENT_TYPES[fmt],
        snapshot_sha256=snapshot_sha,
        audit_chain_head=head,
    )
