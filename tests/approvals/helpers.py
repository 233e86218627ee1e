"""Drive the approval engine from tests: request, then each approver signs with their password."""

from __future__ import annotations

from collections.abc import Iterable

from apps.approvals.choices import ApprovalKind, Verdict
from apps.approvals.models import ApprovalRequest
from apps.approvals.services import approval_decide, approval_request_create

# The password every UserFactory user has.
PASSWORD = "correct-horse-battery"


def request_approval(kind: str, subject, requester, justification: str = "") -> ApprovalRequest:
    return approval_request_create(
        actor=requester, kind=kind, subject=subject, justification=justification
    )


def sign(request: ApprovalRequest, approver, verdict: str = Verdict.APPROVE, comment: str = ""):
    """One approver's signed decision, with the right password."""
    return approval_decide(
        actor=approver, request=request, verdict=verdict, password=PASSWORD, comment=comment
    )


def approve(
    kind: str, subject, requester, approvers: Iterable, justification: str = ""
) -> ApprovalRequest:
    """Request approval of ``subject`` and have each approver approve it; the fresh request."""
    request = request_approval(kind, subject, requester, justification)
    for approver in approvers:
        sign(request, approver)
    request.refresh_from_db()
    return request


def validate(version, requester, validator) -> ApprovalRequest:
    """Validation sign-off of ``version`` by ``validator`` (locks it; approves a model in
    validation)."""
    return approve(ApprovalKind.VALIDATION_SIGNOFF, version, requester, [validator])


def promote(version, requester, approvers: Iterable) -> ApprovalRequest:
    """An approved promotion of ``version`` to production."""
    return approve(ApprovalKind.PROMOTION, version, requester, approvers)


def retire(model, requester, approvers: Iterable, reason: str) -> ApprovalRequest:
    """An approved retirement of ``model``."""
    return approve(ApprovalKind.RETIREMENT, model, requester, approvers, justification=reason)
