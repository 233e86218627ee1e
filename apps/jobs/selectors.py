"""Reads of the job outbox."""

from __future__ import annotations

import datetime

from django.conf import settings

from apps.core import clock
from apps.jobs.models import Job


def job_for(*, task: str, object_id: int) -> Job | None:
    return Job.objects.filter(task=task, object_id=object_id).first()


def job_is_stuck(job: Job | None, *, now: datetime.datetime | None = None) -> bool:
    """A job its owner may send again: running on an expired lease, or waiting to start for
    longer than ``MLGOV_JOB_STUCK_SECONDS``. (The reaper and dispatcher deal with both on
    their own; the owner need not wait for them.)"""
    if job is None:
        return True
    now = now or clock.now()
    if job.state == Job.State.RUNNING:
        return job.lease_expires_at is not None and job.lease_expires_at < now
    if job.state in (Job.State.PENDING, Job.State.SENT):
        waited = now - job.available_at
        return waited > datetime.timedelta(seconds=settings.MLGOV_JOB_STUCK_SECONDS)
    return False


def job_stalled(*, task: str, object_id: int) -> bool:
    """The job of an unfinished record has stalled (see ``job_is_stuck``)."""
    return job_is_stuck(job_for(task=task, object_id=object_id))
