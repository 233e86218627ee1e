"""Rebuild what the loader keeps beside the observations — the series table (first and
last time, latest value), the hourly and daily rollups and the models of each batch — from
the store, for data loaded before they were kept. Idempotent; one transaction per group of
versions, so it can run beside ingestion.

    manage.py rebuild_observation_rollups [--model SLUG] [--versions-per-step 20]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.inventory.models import ModelVersion
from apps.monitoring.ingestion.loader import rebuild_summaries


class Command(BaseCommand):
    help = "Rebuild the observation series, hourly and daily rollups and batch models."

    def add_arguments(self, parser):
        parser.add_argument("--model", help="Only this model (slug).")
        parser.add_argument("--versions-per-step", type=int, default=20)

    def handle(self, *args, model=None, versions_per_step=20, **options):
        versions = ModelVersion.objects.order_by("pk")
        if model:
            versions = versions.filter(model__slug=model)
        ids = list(versions.values_list("pk", flat=True))
        step = max(versions_per_step, 1)
        for i in range(0, len(ids), step):
            with transaction.atomic():
                rebuild_summaries(ids[i : i + step])
            if options["verbosity"] > 1:
                self.stdout.write(f"{min(i + step, len(ids))} of {len(ids)} versions")
        self.stdout.write(f"Rebuilt the rollups of {len(ids)} versions.")
