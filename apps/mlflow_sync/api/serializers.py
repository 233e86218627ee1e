"""Serializers of the MLflow registry sync API."""

from __future__ import annotations

from rest_framework import serializers

from apps.core.api.fields import ModelSerializer
from apps.mlflow_sync.models import SyncRun


class RefusalSerializer(serializers.Serializer):
    item = serializers.CharField()
    reason = serializers.CharField()


class SyncRunSerializer(ModelSerializer):
    connection = serializers.CharField(source="connection.name", read_only=True)
    refusals = RefusalSerializer(many=True, read_only=True)
    notes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = SyncRun
        fields = (
            "id",
            "connection",
            "trigger",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "seen",
            "created",
            "updated",
            "unchanged",
            "refused",
            "refusals",
            "notes",
            "error",
        )
        read_only_fields = fields
