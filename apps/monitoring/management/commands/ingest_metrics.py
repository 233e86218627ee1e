"""``manage.py ingest_metrics FILE``: load a metrics file as an ingestion batch.

Without a broker the batch runs in process; with one, ``--wait`` waits for a worker to finish
it. Prints the outcome and the rejected rows; exits non-zero when the batch failed.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.core import roles
from apps.core.errors import ApplicationError
from apps.inventory.models import RegisteredModel
from apps.monitoring.choices import BatchStage, BatchStatus, IngestionSource
from apps.monitoring.ingestion import services
from apps.monitoring.models import IngestionBatch


class Command(BaseCommand):
    help = "Load a metrics file (CSV, Parquet, JSON Lines, JSON; gzip accepted) as a batch."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--model", help="Slug of the model every row must belong to.")
        parser.add_argument(
            "--user",
            help="Username the batch is sent as (default: the first administrator).",
        )
        parser.add_argument(
            "--accept-partial",
            action="store_true",
            help="Load the valid rows and report the rest instead of loading nothing.",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Wait for a worker to finish the batch (implied without a broker).",
        )
        parser.add_argument("--timeout", type=float, default=600, help="Seconds to wait.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > settings.MLGOV_INGEST_MAX_BYTES:
            data = path.open("rb").read(settings.MLGOV_INGEST_MAX_BYTES + 1)
        else:
            data = path.read_bytes()
        user = self._user(options["user"])
        model = None
        if options["model"]:
            model = RegisteredModel.objects.filter(slug=options["model"]).first()
            if model is None:
                raise CommandError(f"No model with slug {options['model']!r}.")
        try:
            batch, created = services.ingestion_batch_create(
                user=user,
                source=IngestionSource.COMMAND,
                data=data,
                file_name=path.name,
                scope_model=model,
                accept_partial=options["accept_partial"],
            )
        except (ApplicationError, PermissionDenied) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        if not created:
            self.stdout.write(f"This file was sent already as batch {batch.pk}; nothing loaded.")
        batch = self._wait(batch, options["wait"], options["timeout"])
        self._report(batch)
        if batch.status == BatchStatus.FAILED:
            raise CommandError(f"Batch {batch.pk} failed.")

    def _user(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        user = User.objects.filter(is_active=True, groups__name=roles.ADMIN).order_by("pk").first()
        if user is None:
            raise CommandError("No administrator exists; name the sender with --user.")
        return user

    def _wait(self, batch: IngestionBatch, wait: bool, timeout: float) -> IngestionBatch:
        batch.refresh_from_db()
        if not wait:
            return batch
        deadline = time.monotonic() + timeout
        while batch.stage != BatchStage.DONE and time.monotonic() < deadline:
            time.sleep(0.5)
            batch.refresh_from_db()
        return batch

    def _report(self, batch: IngestionBatch) -> None:
        line = (
            f"Batch {batch.pk}: {batch.get_status_display()} — {batch.rows_loaded} loaded, "
            f"{batch.rows_duplicate} already recorded, {batch.rows_rejected} rejected "
            f"of {batch.rows_total} rows."
        )
        if batch.status == BatchStatus.FAILED:
            self.stderr.write(line)
        elif batch.is_final:
            self.stdout.write(self.style.SUCCESS(line))
        else:
            self.stdout.write(f"Batch {batch.pk} is {batch.get_status_display().lower()}.")
        if batch.error:
            self.stderr.write(batch.error)
        for error in batch.row_errors:
            column = f", {error['column']}" if error["column"] else ""
            self.stderr.write(
                f"  row {error['row']}{column}: {error['reason']} (value: {error['value']!r})"
            )
