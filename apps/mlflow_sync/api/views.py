"""MLflow registry sync API: start a sync of a connection (202 with the run) and read a
run's status and counts. Permissions from apps/mlflow_sync/rules.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.permissions import RulesPermission
from apps.mlflow_sync import services
from apps.mlflow_sync.api.serializers import SyncRunSerializer
from apps.mlflow_sync.choices import RunTrigger
from apps.mlflow_sync.models import MlflowConnection, SyncRun


@extend_schema(tags=["mlflow"])
class ConnectionViewSet(viewsets.GenericViewSet):
    permission_classes = [RulesPermission]
    perms = {"sync": "mlflow_sync.sync_mlflowconnection"}
    serializer_class = SyncRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MlflowConnection.objects.none()
        # All or nothing (see the rules): the permission answers 403 to non-administrators.
        return MlflowConnection.objects.all()

    @extend_schema(
        summary="Start a sync of an MLflow connection (administrators)",
        request=None,
        responses={202: SyncRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        connection = self.get_object()
        run, _ = services.sync_request(
            actor=request.user, connection=connection, trigger=RunTrigger.API
        )
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["mlflow"], summary="Read an MLflow sync: status, counts and refusals")
class SyncRunViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [RulesPermission]
    perms = {"retrieve": "mlflow_sync.view_syncrun"}
    serializer_class = SyncRunSerializer

    def get_queryset(self):
        # All or nothing, as connections: the permission answers 403 to those who may not.
        return SyncRun.objects.select_related("connection")
