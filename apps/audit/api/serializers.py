"""Serializers of the audit-event API (read-only: audit events are never written here)."""

from __future__ import annotations

from rest_framework import serializers

from apps.audit.models import AuditEvent, ChainVerification
from apps.core.api.fields import ModelSerializer


class AuditEventSerializer(ModelSerializer):
    """One hash-chained audit event.

    ``model`` is the slug of the registered model the event is about (directly or through a
    version, deployment or risk assessment), or null once that model has been deleted. The
    view resolves slugs for a whole page at once and passes them in ``context["model_slugs"]``.
    """

    actor = serializers.CharField(source="actor_username", read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    model = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "sequence",
            "occurred_at",
            "actor",
            "action",
            "action_label",
            "object_type",
            "object_id",
            "object_repr",
            "model",
            "model_ref",
            "changes",
            "message",
            "request_id",
            "client_ip",
            "prev_hash",
            "hash",
        )
        read_only_fields = fields

    def get_model(self, obj: AuditEvent) -> str | None:
        if obj.model_ref is None:
            return None
        return self.context.get("model_slugs", {}).get(obj.model_ref)


class AuditCheckpointFindingSerializer(serializers.Serializer):
    """How the chain stands against the signed checkpoints outside the database."""

    state = serializers.ChoiceField(
        choices=["verified", "broken", "unverifiable"],
        help_text="verified: the chain holds every signed checkpoint; broken: it lost or "
        "rewrote events a checkpoint vouched for; unverifiable: no signed checkpoint to compare.",
    )
    reason = serializers.CharField()
    latest = serializers.DictField(
        allow_null=True, help_text="The latest signed checkpoint (sequence, hash, signature...)."
    )
    checked = serializers.IntegerField(help_text="Signed checkpoints compared.")
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="Lines of the file that are not checkpoints."
    )


class AuditVerificationSerializer(serializers.Serializer):
    """Result of recomputing the whole chain and comparing it with the signed checkpoints."""

    ok = serializers.BooleanField()
    count = serializers.IntegerField(help_text="Events checked.")
    head_hash = serializers.CharField(help_text="Hash of the last valid event.")
    broken_sequence = serializers.IntegerField(
        allow_null=True, help_text="Sequence number of the first broken event."
    )
    broken_id = serializers.IntegerField(allow_null=True, help_text="Id of that event.")
    reason = serializers.CharField(allow_blank=True)
    checkpoint = AuditCheckpointFindingSerializer(
        allow_null=True, help_text="Null when the chain is broken by itself."
    )


class ChainVerificationRequestSerializer(serializers.Serializer):
    """Starting a verification."""

    full = serializers.BooleanField(
        default=False,
        help_text="Recompute every event from the first instead of starting from the last "
        "verified checkpoint.",
    )


class ChainVerificationSerializer(ModelSerializer):
    """One verification of the chain, run in the background: its progress while it waits or
    runs (``verified`` of ``total`` events), then its outcome.

    ``ok`` is null until it is done; then true when the chain is intact and does not
    contradict a signed checkpoint. ``count`` (events checked), ``head_hash``,
    ``broken_sequence``, ``broken_id``, ``reason`` and ``checkpoint`` read as the synchronous
    verification used to answer. An incremental run checks the events after
    ``base_sequence`` (proven earlier, as ``base_note`` says) up to ``target_sequence``."""

    url = serializers.HyperlinkedIdentityField(view_name="api:audit-verification-detail")
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, default=None
    )
    count = serializers.IntegerField(source="verified", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    checkpoint = AuditCheckpointFindingSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ChainVerification
        fields = (
            "id",
            "url",
            "status",
            "full",
            "trigger",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "base_sequence",
            "base_note",
            "target_sequence",
            "total",
            "verified",
            "percent",
            "ok",
            "count",
            "head_hash",
            "broken_sequence",
            "broken_id",
            "reason",
            "checkpoint",
            "error",
        )
        read_only_fields = fields
