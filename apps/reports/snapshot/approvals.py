"""Approval requests made by T, with their status then and the decisions signed by then (the
snapshot's ``approvals``), and a request seen as a threshold's sign-off."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from apps.accounts.choices import SignatureMethod
from apps.approvals.choices import ApprovalKind, ApproverRole, RequestStatus, Verdict
from apps.approvals.models import ApprovalRequest, Decision
from apps.reports.batch import Part
from apps.reports.snapshot.context import Context
from apps.reports.snapshot.values import iso, label, text

REQUEST_FIELDS = (
    "kind",
    "title",
    "status",
    "requested_by",
    "requested_at",
    "closed_at",
    "content_sha256",
)
DECISION_COLUMNS = (
    "request_id",
    "approver_id",
    "slot",
    "verdict",
    "comment",
    "meaning",
    "content_sha256",
    "signed_at",
    "signature_method",
    "signature_issuer",
    "signature_auth_time",
)


def _requests(ctx: Context):
    return ApprovalRequest.objects.filter(model=ctx.model, requested_at__lte=ctx.moment)


def reads(ctx: Context) -> dict[str, Part]:
    """The requests made by T and the decisions signed by then."""
    return {
        "approvals": ctx.part(_requests(ctx), REQUEST_FIELDS),
        "decisions": Part(
            Decision.objects.filter(request__model=ctx.model, signed_at__lte=ctx.moment),
            DECISION_COLUMNS,
            order_by=("signed_at", "pk"),
        ),
    }


def _signature(d: dict) -> dict[str, Any]:
    """How a decision was signed: the password re-entered, or a re-authentication at the
    identity provider (its issuer and auth_time); with the words the card prints."""
    if d["signature_method"] == SignatureMethod.PROVIDER:
        auth_time = iso(d["signature_auth_time"])
        return {
            "method": SignatureMethod.PROVIDER.value,
            "issuer": d["signature_issuer"],
            "auth_time": auth_time,
            "label": f"re-authenticated at {d['signature_issuer']} (auth_time {auth_time})",
        }
    return {
        "method": SignatureMethod.PASSWORD.value,
        "issuer": "",
        "auth_time": None,
        "label": "password re-entered",
    }


def approvals(ctx: Context) -> tuple[list[dict[str, Any]], dict[Any, dict]]:
    """Requests made at or before T with their status then and the decisions signed by
    then, newest first; also by id (for the thresholds' sign-offs)."""
    records = ctx.records(
        _requests(ctx), REQUEST_FIELDS, restore_deleted=False, rows=ctx.rows["approvals"]
    )
    records.sort(key=lambda r: (r.values["requested_at"] or ctx.moment, r.pk), reverse=True)
    decisions: dict[Any, list[dict]] = defaultdict(list)
    rows = ctx.rows["decisions"]
    for d in rows:
        decisions[d["request_id"]].append(
            {
                "approver": ctx.people(d["approver_id"]),
                "slot": d["slot"],
                "slot_label": label(ApproverRole, d["slot"]),
                "verdict": d["verdict"],
                "verdict_label": label(Verdict, d["verdict"]),
                "comment": text(d["comment"]),
                "meaning": text(d["meaning"]),
                "content_sha256": d["content_sha256"],
                "signed_at": iso(d["signed_at"]),
                "signature": _signature(d),
            }
        )
    approvals = []
    for r in records:
        v = r.values
        approvals.append(
            {
                "id": r.pk,
                "kind": v["kind"],
                "kind_label": label(ApprovalKind, v["kind"]),
                "title": text(v["title"]),
                "status": v["status"],
                "status_label": label(RequestStatus, v["status"]),
                "requested_by": ctx.people(v["requested_by_id"]),
                "requested_at": iso(v["requested_at"]),
                "closed_at": iso(v["closed_at"]),
                "content_sha256": v["content_sha256"],
                "decisions": decisions.get(r.pk, []),
            }
        )
    return approvals, {a["id"]: a for a in approvals}


def signoff(ctx: Context, request: dict | None) -> dict | None:
    """A threshold's sign-off: its approval request as it stood at T and who approved it."""
    if request is None:
        return None
    approved = request["status"] == RequestStatus.APPROVED
    return {
        "request_id": request["id"],
        "content_sha256": request["content_sha256"],
        "approved_at": request["closed_at"] if approved else None,
        "approvers": [
            d["approver"] for d in request["decisions"] if d["verdict"] == Verdict.APPROVE
        ],
    }
