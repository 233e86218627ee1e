"""Reads of drift runs, restricted to the models the user sees."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet, Subquery
from django.http import Http404

from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.jobs.selectors import job_stalled
from apps.monitoring.choices import DRIFT_TASK, DriftRunStatus
from apps.monitoring.joined import with_children
from apps.monitoring.models import DriftColumn, DriftRun


def drift_run_list(
    *, user, model: RegisteredModel | None = None, version: ModelVersion | None = None
) -> QuerySet[DriftRun]:
    """Drift runs of the models the user sees (of one model or version when given), newest
    first."""
    visible = inventory_selectors.model_list(user=user).values("pk")
    qs = DriftRun.objects.filter(version__model__in=visible)
    if model is not None:
        qs = qs.filter(version__model=model)
    if version is not None:
        qs = qs.filter(version=version)
    return qs.select_related("version__model", "created_by").order_by("-created_at", "-pk")


def drift_run_get(*, user, pk: int, model: RegisteredModel | None = None) -> DriftRun:
    """The run with its columns, or 404 when it does not exist or is out of reach."""
    run = (
        drift_run_list(user=user, model=model)
        .prefetch_related(
            Prefetch("columns", queryset=DriftColumn.objects.order_by("-drifted", "column"))
        )
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise Http404("No such drift run.")
    return run


def latest_drift_run(*, model: RegisteredModel) -> DriftRun | None:
    """The model's latest successful drift run with its columns (drifted first), for the
    Monitoring tab. The caller has already checked the user sees the model. One query: the
    columns come by a join on the run, which repeats on each column's row, so the run
    brings only its own columns and its version's label."""
    latest = (
        DriftRun.objects.filter(version__model=model, status=DriftRunStatus.SUCCEEDED)
        .order_by("-observed_at", "-pk")
        .values("pk")[:1]
    )
    own = [field.name for field in DriftRun._meta.concrete_fields]
    runs = with_children(
        DriftRun.objects.filter(pk=Subquery(latest))
        .select_related("version")
        .only(*own, "version__version")
        .order_by("-columns__drifted", "columns__column"),
        "columns",
    )
    return runs[0] if runs else None


def drift_run_retryable(run: DriftRun) -> bool:
    """A failed run, or an unfinished one whose job stalled."""
    if run.status == DriftRunStatus.FAILED:
        return True
    if run.status == DriftRunStatus.SUCCEEDED:
        return False
    return job_stalled(task=DRIFT_TASK, object_id=run.pk)
