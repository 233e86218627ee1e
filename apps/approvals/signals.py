"""Signals other apps (notifications) listen to. Sent inside the service's transaction;
receivers that do I/O must defer it with ``transaction.on_commit``."""

from django.dispatch import Signal

# kwargs: request (ApprovalRequest)
approval_requested = Signal()
# kwargs: request (ApprovalRequest), decision (Decision)
approval_decided = Signal()
