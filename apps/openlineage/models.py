"""OpenLineage intake: the jobs pipelines report, their events, and how jobs map to models."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import models
from django.urls import reverse

from apps.accounts.models import User
from apps.core.fields import StampField
from apps.inventory.models import Dataset, RegisteredModel
from apps.openlineage.choices import DatasetUse, EventStatus, MappedBy


class NamingRule(models.Model):
    """Maps OpenLineage jobs to a registered model by shell-style patterns on the job's
    namespace and name (``*`` any characters, ``?`` one, ``[abc]`` one of a set). Rules are
    tried by position, then age; the first that matches names the model of a job that has
    no mlgov facet and was not mapped by an administrator."""

    namespace_pattern = models.CharField(
        max_length=300, default="*", help_text="e.g. “airflow-prod” or “*” for any."
    )
    job_pattern = models.CharField(
        max_length=300, help_text="e.g. “credit_scoring.train*” (shell-style wildcards)."
    )
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(
        default=100, help_text="Rules are tried from the lowest position up."
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace_pattern", "job_pattern"], name="unique_openlineage_rule"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace_pattern} / {self.job_pattern} → {self.model.slug}"


class LineageJob(models.Model):
    """A job (namespace + name) that sent OpenLineage events, and the model it maps to (none
    yet: it waits in the list of unmapped jobs, its events kept)."""

    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mapped_by = models.CharField(
        max_length=8, choices=MappedBy.choices, blank=True, default=MappedBy.NONE
    )
    rule = models.ForeignKey(
        NamingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    first_seen_at = StampField(auto_now_add=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="unique_openlineage_job")
        ]

    def __str__(self) -> str:
        return f"{self.namespace} / {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("openlineage:job_list") + "?" + urlencode({"q": self.name})


class LineageEvent(models.Model):
    """One RunEvent as received (the payload verbatim) and what mlgov did with it. Unique by
    run id, event type and event time: the same event sent again is not applied twice."""

    job = models.ForeignKey(LineageJob, on_delete=models.CASCADE, related_name="events")
    run_id = models.UUIDField()
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField()
    payload = models.JSONField()
    sent_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = StampField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=EventStatus.choices)
    outcome = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-event_time", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "event_type", "event_time"], name="unique_openlineage_event"
            )
        ]
        indexes = [models.Index(fields=["job", "status"], name="openlineage_job_status")]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} of run {self.run_id} ({self.job})"


class DatasetName(models.Model):
    """The OpenLineage identity (namespace + name) of an mlgov dataset: how events find it
    again, whatever its slug or URI."""

    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "name"], name="unique_openlineage_dataset_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace} / {self.name}"


class ModelDataset(models.Model):
    """A dataset a model's jobs read or wrote, as their events said. A dataset one model
    writes and another reads is a model-to-model feed."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    use = models.CharField(max_length=8, choices=DatasetUse.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "dataset", "use"], name="unique_openlineage_model_dataset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.get_use_display().lower()} ({self.model})"
