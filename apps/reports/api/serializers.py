"""Report records as the API shows them, and the body of a report request."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from apps.core.api.fields import DateTimeField, JSONField, ModelSerializer, SlugRelatedField
from apps.core.signing import ALGORITHM
from apps.inventory import selectors as inventory_selectors
from apps.reports.choices import KIND_FORMATS, ReportFormat, ReportKind
from apps.reports.models import Report

#: Schema of the signature fields: text or a URL, null while a report is not signed.
NULLABLE_TEXT = serializers.CharField(allow_null=True)
NULLABLE_URL = serializers.URLField(allow_null=True)


class AuditChainHeadSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    hash = serializers.CharField()


class ReportSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:report-detail", help_text="This report's status URL."
    )
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)
    download_url = serializers.SerializerMethodField(
        help_text="Where the file is downloaded once the report is done; null before."
    )
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    format_label = serializers.CharField(source="get_format_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    model = SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The model's slug; null for the inventory."
    )
    scope = JSONField(read_only=True)
    requested_by = SlugRelatedField(slug_field="username", read_only=True)
    audit_chain_head = AuditChainHeadSerializer(
        read_only=True,
        allow_null=True,
        help_text="The last audit event at or before the as-of time (null until generated).",
    )
    signature = serializers.SerializerMethodField(
        help_text="Detached Ed25519 signature (base64) over the exact bytes at manifest_url; "
        "null until done, and on reports generated before signing existed."
    )
    signing_key_id = serializers.SerializerMethodField(
        help_text="Id of the signing key, among those at /.well-known/mlgov-signing-keys.json."
    )
    signature_algorithm = serializers.SerializerMethodField(help_text="Ed25519, or null.")
    manifest_url = serializers.SerializerMethodField(
        help_text="The signed manifest (report id, kind, format, model, as-of, generator, "
        "requester, creation time, the file's SHA-256); null when unsigned."
    )
    signature_url = serializers.SerializerMethodField(
        help_text="The signature as a document (algorithm, key id, value); null when unsigned."
    )

    class Meta:
        model = Report
        fields = (
            "id",
            "url",
            "web_url",
            "download_url",
            "kind",
            "kind_label",
            "format",
            "format_label",
            "model",
            "scope",
            "as_of",
            "effective_as_of",
            "status",
            "status_label",
            "error",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "generator",
            "filename",
            "content_type",
            "size",
            "sha256",
            "snapshot_sha256",
            "audit_chain_head",
            "signature",
            "signing_key_id",
            "signature_algorithm",
            "manifest_url",
            "signature_url",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, report: Report) -> str | None:
        if not report.is_done:
            return None
        return reverse(
            "api:report-download", kwargs={"pk": report.pk}, request=self.context.get("request")
        )

    @extend_schema_field(NULLABLE_TEXT)
    def get_signature(self, report: Report) -> str | None:
        return report.signature if report.is_signed else None

    @extend_schema_field(NULLABLE_TEXT)
    def get_signing_key_id(self, report: Report) -> str | None:
        return report.signing_key_id if report.is_signed else None

    @extend_schema_field(NULLABLE_TEXT)
    def get_signature_algorithm(self, report: Report) -> str | None:
        return ALGORITHM if report.is_signed else None

    @extend_schema_field(NULLABLE_URL)
    def get_manifest_url(self, report: Report) -> str | None:
        if not report.is_signed:
            return None
        return reverse(
            "api:report-manifest", kwargs={"pk": report.pk}, request=self.context.get("request")
        )

    @extend_schema_field(NULLABLE_URL)
    def get_signature_url(self, report: Report) -> str | None:
        if not report.is_signed:
            return None
        return reverse(
            "api:report-signature", kwargs={"pk": report.pk}, request=self.context.get("request")
        )


@extend_schema_field(OpenApiTypes.STR)
class VisibleModelField(SlugRelatedField):
    """A model named by slug, among those the requester sees."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return inventory_selectors.model_list(user=self.context["request"].user)


OFFERED = "; ".join(f"{kind}: {', '.join(formats)}" for kind, formats in KIND_FORMATS.items())


class ReportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    format = serializers.ChoiceField(
        choices=ReportFormat.choices, help_text=f"Formats offered per kind — {OFFERED}."
    )
    model = VisibleModelField(
        required=False,
        allow_null=True,
        help_text="Slug of the model: required for a model card; optional for lineage, audit "
        "extract and evidence pack (without it they cover the inventory); not for the register.",
    )
    scope = JSONField(
        required=False,
        help_text='Register: {"filters": {...}} with the inventory list\'s filters (q, '
        "risk_tier, status, eu_ai_act_class, business_unit, owner, unassessed, "
        'review_due_before, ordering); audit extract: {"start": ..., "end": ...} as ISO 8601 '
        "dates or times. Other kinds take none.",
    )
    as_of = DateTimeField(
        required=False,
        allow_null=True,
        help_text="Show the record as it stood at this time (ISO 8601, not in the future); "
        "omitted or null: now.",
    )
