"""Reads of the MLflow registry sync, restricted to what the user may see."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from apps.inventory.models import RegisteredModel
from apps.mlflow_sync.models import MlflowConnection, SyncRun, VersionLink


def connection_list(*, user) -> QuerySet[MlflowConnection]:
    """Connections are all or nothing: those who read them (``view_mlflowconnection``) see
    every one, and the views answer 403 to anyone else."""
    if not user.has_perm("mlflow_sync.view_mlflowconnection"):
        return MlflowConnection.objects.none()
    return MlflowConnection.objects.select_related("run_as", "business_unit").order_by("name")


def connection_get(*, user, pk: int) -> MlflowConnection:
    connection = connection_list(user=user).filter(pk=pk).first()
    if connection is None:
        raise Http404("No such connection.")
    return connection


def run_list(*, connection: MlflowConnection) -> QuerySet[SyncRun]:
    return connection.runs.select_related("requested_by").order_by("-pk")


def run_get(*, user, pk: int) -> SyncRun:
    if not user.has_perm("mlflow_sync.view_syncrun"):
        raise Http404("No such sync.")
    run = SyncRun.objects.select_related("connection", "requested_by").filter(pk=pk).first()
    if run is None:
        raise Http404("No such sync.")
    return run


def discovered_list(*, user) -> QuerySet[RegisteredModel]:
    """Models an MLflow connection discovered that no one has claimed yet, newest first,
    with their MLflow name and their number of versions (one query)."""
    if not user.has_perm("mlflow_sync.view_discovered"):
        return RegisteredModel.objects.none()
    return (
        RegisteredModel.objects.filter(discovered_at__isnull=False, claimed_at__isnull=True)
        .select_related("mlflow_link__connection", "business_unit")
        .annotate(version_count=Count("versions"))
        .order_by("-discovered_at", "pk")
    )


def discovered_get(*, user, slug: str) -> RegisteredModel:
    model = discovered_list(user=user).filter(slug=slug).first()
    if model is None:
        raise Http404("No such model waiting to be claimed.")
    return model


def version_link_for(*, version) -> VersionLink | None:
    """What a sync recorded from MLflow about ``version`` (one query), or None when the version
    did not come from a sync. The caller has checked that the user sees the version."""
    return (
        VersionLink.objects.filter(version=version).select_related("model_link__connection").first()
    )
