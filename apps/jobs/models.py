"""The job outbox: one row per background job, committed with the record it works on.

A request that starts a job (an ingestion batch, a report, a drift run, a webhook delivery)
writes the job row in the same transaction as its record, so the intent to run it can never
be lost: the row is sent to the broker after commit, and whatever was not sent (the broker
was down) is sent by the dispatcher later. A worker running the job holds a lease that a
heartbeat renews; when the worker dies the lease runs out and the reaper sends it again.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.fields import StampField


class Job(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent to a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    task = models.CharField(max_length=100, help_text="The Celery task that runs the job.")
    object_id = models.BigIntegerField(help_text="The id of the record the job works on.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    available_at = models.DateTimeField(help_text="Not sent before this time (retry backoff).")
    message_id = models.CharField(max_length=64, blank=True, help_text="Latest broker message.")
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    send_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0, help_text="Times a worker started it.")
    max_runs = models.PositiveSmallIntegerField(default=3)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = StampField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["task", "object_id"], name="jobs_job_one_per_record")
        ]
        indexes = [
            models.Index(
                fields=["available_at"],
                name="jobs_job_due",
                condition=Q(state__in=["pending", "sent"]),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="jobs_job_leased",
                condition=Q(state="running"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task}({self.object_id}) {self.state}"

    @property
    def is_final(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
