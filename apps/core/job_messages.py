"""What a page tells the user about a background job they just started.

Without a broker the job runs inside the request (``CELERY_TASK_ALWAYS_EAGER``), so by the
time the page answers it may have finished or failed; with workers it is usually still
queued. The message says which, from the record's status read after the commit: never a
green "queued" above a red "Failed".
"""

from __future__ import annotations

from django.contrib import messages

#: Final statuses that mean the work was done (every job's records use one of these).
SUCCEEDED = frozenset({"done", "succeeded"})
FAILED = frozenset({"failed"})
PARTIAL = frozenset({"partial"})


def announce_job(request, record, *, what: str, reason_field: str = "error") -> None:
    """Add the message about ``record`` (a report, batch or drift run: anything with a
    ``status``), re-read from the database. ``what`` names it ("Report 12")."""
    record.refresh_from_db()
    status = record.status
    if status in FAILED:
        reason = (getattr(record, reason_field, "") or "").strip()
        messages.error(request, f"{what} failed" + (f": {reason}" if reason else "."))
    elif status in PARTIAL:
        messages.warning(request, f"{what} was loaded, with rows rejected: see them below.")
    elif status in SUCCEEDED:
        messages.success(request, f"{what} is ready.")
    else:
        messages.info(request, f"{what} is queued; this page shows its progress.")
