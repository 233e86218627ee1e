"""``manage.py generate_report --kind K --format F [--model SLUG] [--as-of ISO]``: ask for a
report through the service, generate it in this process and print its id, SHA-256, size and
stored path; ``--output FILE`` also writes the file there. Exits non-zero when it failed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from apps.accounts.models import User
from apps.core import context, roles
from apps.core.errors import ApplicationError
from apps.inventory.models import RegisteredModel
from apps.reports import generators, services
from apps.reports.choices import ReportFormat, ReportKind, ReportStatus
from apps.reports.models import Report


def as_of_value(text: str) -> dt.datetime:
    """An ISO 8601 time, or a date meaning the end of that day (UTC)."""
    day = parse_date(text) if len(text) == 10 else None
    if day is not None:
        return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
    moment = generators.parse_iso(text)
    if moment is None:
        raise CommandError(f"--as-of {text!r} is not an ISO 8601 date or time.")
    return moment


class Command(BaseCommand):
    help = "Generate a report (model card, lineage, register, audit extract, evidence pack)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=ReportKind.values)
        parser.add_argument("--format", required=True, choices=ReportFormat.values)
        parser.add_argument("--model", help="Slug of the model (model card: required).")
        parser.add_argument(
            "--as-of", help="ISO 8601 time, or a date (the end of that day, UTC). Default: now."
        )
        parser.add_argument(
            "--scope",
            help='JSON scope: register {"filters": {...}}; audit extract {"start": ..., '
            '"end": ...} (ISO 8601).',
        )
        parser.add_argument(
            "--user", help="Username the report is generated as (default: the first administrator)."
        )
        parser.add_argument("--output", type=Path, help="Also write the file here.")

    def handle(self, *args, **options):
        user = self._user(options["user"])
        model = None
        if options["model"]:
            model = RegisteredModel.objects.filter(slug=options["model"]).first()
            if model is None:
                raise CommandError(f"No model with slug {options['model']!r}.")
        scope = None
        if options["scope"]:
            try:
                scope = json.loads(options["scope"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--scope is not valid JSON: {exc}") from exc
        as_of = as_of_value(options["as_of"]) if options["as_of"] else None
        with context.bind(request_id=f"command-report-{context.new_request_id()}"):
            try:
                report = services.report_request(
                    user=user,
                    kind=options["kind"],
                    fmt=options["format"],
                    model=model,
                    scope=scope,
                    as_of=as_of,
                    enqueue=False,
                )
            except (ApplicationError, PermissionDenied) as exc:
                raise CommandError(getattr(exc, "message", str(exc))) from exc
            services.report_generate(report_id=report.pk)
        report = Report.objects.select_related("model").get(pk=report.pk)
        if report.status != ReportStatus.DONE:
            raise CommandError(f"Report {report.pk} failed: {report.error}")
        self._print(report)
        if options["output"]:
            data = services.report_file_bytes(report=report)
            options["output"].write_bytes(data)
            self.stdout.write(f"Written to {options['output']}")

    def _user(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        user = User.objects.filter(is_active=True, groups__name=roles.ADMIN).order_by("pk").first()
        if user is None:
            raise CommandError("No administrator exists; name the requester with --user.")
        return user

    def _print(self, report: Report) -> None:
        storage = report.file.storage
        try:
            path = storage.path(report.file.name)
        except NotImplementedError:  # remote storage: its name is the address
            path = report.file.name
        self.stdout.write(
            self.style.SUCCESS(
                f"Report {report.pk}: {report.get_kind_display()} ({report.get_format_display()})"
            )
        )
        self.stdout.write(f"id: {report.pk}")
        self.stdout.write(f"file: {report.filename} ({report.content_type})")
        self.stdout.write(f"sha256: {report.sha256}")
        self.stdout.write(f"size: {report.size}")
        self.stdout.write(f"path: {path}")
        self.stdout.write(f"manifest signed by key: {report.signing_key_id}")
