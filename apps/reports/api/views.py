"""``/api/v1/reports/``: ask for a report (202 with its status URL), follow its status, and
download the stored file. Thin: selectors restrict, rules decide, the service validates."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from apps.core.api.exceptions import Conflict
from apps.core.api.permissions import RulesPermission
from apps.reports import selectors, services
from apps.reports.api import serializers as s
from apps.reports.filters import ReportFilter
from apps.reports.models import Report

VIEW = "reports.view_report"


#: What ``…/manifest/`` answers (the exact bytes signed; see apps.reports.manifests).
SIGNED_MANIFEST = inline_serializer(
    "SignedReportManifest",
    {
        "schema": serializers.CharField(help_text="mlgov.report-manifest/1"),
        "report_id": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "format": serializers.CharField(),
        "model": serializers.CharField(allow_null=True),
        "scope": serializers.DictField(),
        "as_of": serializers.CharField(allow_null=True),
        "requested_as_of": serializers.CharField(allow_null=True),
        "generator": serializers.CharField(),
        "requested_by": serializers.CharField(),
        "requested_at": serializers.CharField(),
        "created_at": serializers.CharField(),
        "file": inline_serializer(
            "SignedReportManifestFile",
            {
                "name": serializers.CharField(),
                "content_type": serializers.CharField(),
                "size": serializers.IntegerField(),
                "sha256": serializers.CharField(),
            },
        ),
        "snapshot_sha256": serializers.CharField(allow_null=True),
        "audit_chain_head": inline_serializer(
            "SignedReportManifestChainHead",
            {"sequence": serializers.IntegerField(), "hash": serializers.CharField()},
            allow_null=True,
        ),
    },
)
#: What ``…/signature/`` answers (also ``manifest.sig`` in an evidence pack).
SIGNATURE_DOCUMENT = inline_serializer(
    "SignatureDocument",
    {
        "schema": serializers.CharField(help_text="mlgov.signature/1"),
        "algorithm": serializers.CharField(help_text="Ed25519"),
        "key_id": serializers.CharField(help_text="First 16 hex of SHA-256 of the public key."),
        "signature": serializers.CharField(help_text="Base64 Ed25519 signature."),
    },
)


class StoredFileMismatch(exceptions.APIException):
    """The stored file no longer matches the SHA-256 recorded when it was generated."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "The stored file no longer matches its recorded SHA-256; it is not sent."
    default_code = "stored_file_mismatch"


class FileRenderer(BaseRenderer):
    """Lets a download answer whatever the client accepts; errors still go out as JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


def manifest_response(report: Report, *, signature: bool) -> HttpResponse:
    """The report's signed manifest (exact bytes) or its signature document, as a download
    named after the report's file (``<file>.manifest.json`` / ``<file>.manifest.sig``)."""
    manifest, signature_document = services.report_signed_manifest(report=report)
    data = signature_document if signature else manifest
    suffix = "manifest.sig" if signature else "manifest.json"
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{report.filename}.{suffix}"
    )
    response["Content-Length"] = str(len(data))
    response["X-Content-Type-Options"] = "nosniff"
    return response


def file_response(report: Report, data: bytes) -> HttpResponse:
    """The stored bytes as an attachment with the report's file name and content type."""
    response = HttpResponse(data, content_type=report.content_type)
    response["Content-Disposition"] = content_disposition_header(True, report.filename)
    response["Content-Length"] = str(len(data))
    response["ETag"] = f'"{report.sha256}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@extend_schema(tags=["reports"])
@extend_schema_view(
    list=extend_schema(
        summary="List the reports you may see",
        description="Auditors, validators and administrators see every report; other roles "
        "the reports they asked for.",
    ),
    retrieve=extend_schema(
        summary="Read a report: status, SHA-256, size and download link",
        description="Poll until status is done (download_url is then set) or failed (error "
        "says why; nothing was stored).",
    ),
    create=extend_schema(
        summary="Ask for a report",
        description="Answers 202 with the queued report; follow its url. Who may ask: model "
        "card and a model's lineage, whoever sees the model except viewers; register and "
        "inventory lineage, every role except viewer (filtered to what you see); audit "
        "extract and evidence pack, auditors, validators and administrators.",
        request=s.ReportRequestSerializer,
        responses={202: s.ReportSerializer},
    ),
)
class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Generated reports: immutable records with their stored files."""

    serializer_class = s.ReportSerializer
    permission_classes = [RulesPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReportFilter
    lookup_value_regex = r"[0-9]+"
    perms = {
        "list": VIEW,
        "retrieve": VIEW,
        "download": VIEW,
        "manifest": VIEW,
        "signature": VIEW,
        "create": "reports.add_report",
        "retry": "reports.retry_report",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        if not self.request.user.has_perm(VIEW):
            # Viewers have no reports: refused (403) rather than "not found".
            raise exceptions.PermissionDenied("You are not allowed to do this.")
        return selectors.report_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        body = s.ReportRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        report = services.report_request(
            user=request.user,
            kind=data["kind"],
            fmt=data["format"],
            model=data.get("model"),
            scope=data.get("scope"),
            as_of=data.get("as_of"),
        )
        answer = self.get_serializer(self.get_queryset().get(pk=report.pk))
        # A plain str: the serialized url is DRF's Hyperlink (a str subclass), which WSGI
        # servers such as runserver refuse as a header value (the client then got a 500).
        headers = {"Location": str(answer.data["url"])}
        return Response(answer.data, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        summary="Ask again for a failed or stalled report",
        description="A failed report stays as it is, for the record; the answer is a new "
        "report with the same kind, format, model, scope and as-of (its address in "
        "Location). A report whose job stalled is sent to a worker again and answered as it "
        "is. For whoever asked for the report, and administrators. 400 for a report that is "
        "done or being generated normally.",
        request=None,
        responses={202: s.ReportSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        report = services.report_retry(user=request.user, report=self.get_object())
        answer = self.get_serializer(self.get_queryset().get(pk=report.pk))
        headers = {"Location": str(answer.data["url"])}
        return Response(answer.data, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        summary="Download the report's file",
        description="The stored bytes, the same every time, as an attachment with the "
        "report's file name and content type. 409 while the report is not done; 500 if the "
        "stored file no longer matches its recorded SHA-256 (it is then not sent).",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file (its own content type)."
            ),
            409: OpenApiResponse(description="The report is not done."),
            500: OpenApiResponse(description="The stored file changed after generation."),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, FileRenderer])
    def download(self, request, pk=None):
        report = self.get_object()
        if not report.is_done:
            raise Conflict(
                f"Report {report.pk} is {report.get_status_display().lower()}; "
                "download it once it is done."
            )
        try:
            data = services.report_file_bytes(report=report)
        except services.ReportFileError as exc:
            raise StoredFileMismatch(str(exc)) from exc
        return file_response(report, data)

    def _signed(self) -> Report:
        report = self.get_object()
        if not report.is_done or not report.is_signed:
            state = "not signed" if report.is_done else report.get_status_display().lower()
            raise Conflict(f"Report {report.pk} has no signed manifest ({state}).")
        return report

    @extend_schema(
        summary="Download the report's signed manifest",
        description="The exact bytes the signature covers: report id, kind, format, model, "
        "scope, as-of, generator, requester, creation time and the file's name, size and "
        "SHA-256. Verify offline with `manage.py verify_report` and the public keys at "
        "/.well-known/mlgov-signing-keys.json. 409 when the report is not done or unsigned.",
        responses={
            200: OpenApiResponse(SIGNED_MANIFEST, description="The manifest (JSON)."),
            409: OpenApiResponse(description="The report has no signed manifest."),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, FileRenderer])
    def manifest(self, request, pk=None):
        return manifest_response(self._signed(), signature=False)

    @extend_schema(
        summary="Download the signature of the report's manifest",
        description="A signature document: schema, algorithm (Ed25519), key id and the base64 "
        "signature over the manifest's bytes. 409 when the report is not done or unsigned.",
        responses={
            200: OpenApiResponse(SIGNATURE_DOCUMENT, description="The signature document."),
            409: OpenApiResponse(description="The report has no signed manifest."),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, FileRenderer])
    def signature(self, request, pk=None):
        return manifest_response(self._signed(), signature=True)
