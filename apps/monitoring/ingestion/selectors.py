"""Reads of ingestion batches, metric sources and pull hosts, restricted to what the user sees."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.core.predicates import sees_everything
from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import RegisteredModel
from apps.jobs.selectors import job_stalled
from apps.monitoring import keyset
from apps.monitoring.choices import INGEST_TASK, BatchStatus
from apps.monitoring.models import AllowedPullHost, IngestionBatch, MetricSource

PUSH = "monitoring.ingest_metrics"


def batch_list(*, user, model: RegisteredModel | None = None) -> QuerySet[IngestionBatch]:
    """Batches the user sees: those scoped to a model they see, and unscoped ones they sent
    (oversight roles see every unscoped batch). Mirrors ``monitoring.view_ingestionbatch``."""
    visible = Q(scope_model__in=inventory_selectors.model_list(user=user).values("pk"))
    if sees_everything.test(user):
        visible |= Q(scope_model__isnull=True)
    else:
        visible |= Q(scope_model__isnull=True, created_by=user)
    qs = IngestionBatch.objects.filter(visible)
    if model is not None:
        qs = qs.filter(scope_model=model)
    return qs.select_related("scope_model", "created_by").defer("row_errors")


def batch_get(*, user, pk: int) -> IngestionBatch:
    """The batch with its row errors, or 404 when it does not exist or is out of reach."""
    batch = batch_list(user=user).defer(None).filter(pk=pk).first()
    if batch is None:
        raise Http404("No such ingestion batch.")
    return batch


def push_scope_models(*, user) -> QuerySet[RegisteredModel]:
    """The models a user may name as an upload's scope before the push rule is asked: the
    visible ones. The rule is then asked of the one named (``may_push``), never of the whole
    inventory."""
    return inventory_selectors.model_list(user=user)


def may_push(*, user, model: RegisteredModel) -> bool:
    return user.has_perm(PUSH, model)


def normalise_host(hostname: str) -> str:
    return (hostname or "").strip().rstrip(".").lower()


def pull_url_refusal(url: str) -> str | None:
    """Why scheduled pulls may not fetch ``url``, or None: the application's rule, https://
    to a host on the administrators' allow-list. Asked when a source is saved and again
    before every pull; the egress guard's own checks come on top."""
    parts = urlsplit(url or "")
    if parts.scheme != "https":
        return f"Only https:// sources are pulled, not {url}."
    host = normalise_host(parts.hostname or "")
    if not AllowedPullHost.objects.filter(hostname=host).exists():
        return (
            f"{host or url} is not on the allow-list of pull hosts; an administrator must "
            "add it before this source is pulled."
        )
    return None


def sources_due(*, now) -> list[MetricSource]:
    """Enabled sources never pulled, or whose interval has elapsed since the last pull."""
    sources = MetricSource.objects.filter(enabled=True).only(
        "pk", "interval_minutes", "last_pulled_at"
    )
    return [
        s
        for s in sources
        if s.last_pulled_at is None
        or (now - s.last_pulled_at).total_seconds() >= s.interval_minutes * 60
    ]


def batch_retryable(batch: IngestionBatch) -> bool:
    """A failed batch with its file stored, or an unfinished one whose job stalled."""
    if batch.status == BatchStatus.FAILED:
        return bool(batch.file)
    return not batch.is_final and job_stalled(task=INGEST_TASK, object_id=batch.pk)


@dataclass
class KeysetPage:
    """One page of a newest-first list, with the cursors of its neighbours (None: none)."""

    rows: list
    newer: str | None
    older: str | None


def keyset_page(qs: QuerySet, *, after: str = "", before: str = "", size: int = 50) -> KeysetPage:
    """The page of ``qs`` (newest first by created_at, pk) after the cursor ``after`` (older
    rows) or before ``before`` (newer rows); the first page without either."""
    key_after, key_before = keyset.decode(after), keyset.decode(before)
    if key_before is not None:
        newer = Q(created_at__gt=key_before.at) | Q(created_at=key_before.at, pk__gt=key_before.pk)
        rows = list(qs.filter(newer).order_by("created_at", "pk")[: size + 1])
        more = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(
            rows,
            newer=_cursor(rows[0]) if more and rows else None,
            older=_cursor(rows[-1]) if rows else None,
        )
    if key_after is not None:
        qs = qs.filter(
            Q(created_at__lt=key_after.at) | Q(created_at=key_after.at, pk__lt=key_after.pk)
        )
    rows = list(qs.order_by("-created_at", "-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows,
        newer=_cursor(rows[0]) if key_after is not None and rows else None,
        older=_cursor(rows[-1]) if more else None,
    )


def _cursor(row) -> str:
    return keyset.encode(keyset.Key(row.created_at, row.pk))
