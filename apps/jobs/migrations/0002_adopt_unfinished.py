"""Adopt the work an earlier release left unfinished: every queued or running batch, report
and drift run and every pending or retrying webhook delivery gets an outbox row, so the
dispatcher sends it (before the outbox, a job lost with the broker stayed queued for good)."""

from django.db import migrations
from django.utils import timezone

UNFINISHED = (
    ("monitoring", "IngestionBatch", "monitoring.ingest_batch", ("queued", "running"), 3),
    ("reports", "Report", "reports.generate_report", ("queued", "running"), 3),
    ("monitoring", "DriftRun", "monitoring.run_drift", ("queued", "running"), 3),
    (
        "notifications",
        "WebhookDelivery",
        "notifications.deliver_webhook",
        ("pending", "retrying"),
        8,
    ),
)


def adopt(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    now = timezone.now()
    for app_label, model_name, task, statuses, max_runs in UNFINISHED:
        model = apps.get_model(app_label, model_name)
        have = set(Job.objects.filter(task=task).values_list("object_id", flat=True))
        ids = model.objects.filter(status__in=statuses).values_list("pk", flat=True)
        Job.objects.bulk_create(
            Job(task=task, object_id=pk, available_at=now, max_runs=max_runs)
            for pk in ids
            if pk not in have
        )


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_outbox"),
        ("monitoring", "0007_observation_composite_primary_key"),
        ("reports", "0003_report_signature"),
        ("notifications", "0002_evalinc_monitoring_events"),
    ]

    operations = [migrations.RunPython(adopt, migrations.RunPython.noop)]
