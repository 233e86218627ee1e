"""The job outbox, leases and the reaper.

- ``job_enqueue`` records the intent to run a job in the caller's transaction and sends it
  after commit; a broker outage leaves it pending, never fails the request.
- ``job_run`` is the body of every outbox task: it claims the job (a lease), renews the lease
  from a heartbeat thread while the work runs, and records the outcome. A job already done,
  or held by a live lease elsewhere, is skipped, so a message delivered twice runs once.
- ``jobs_tick`` (Celery beat, and once when a worker starts) re-queues jobs whose lease ran
  out (their worker died) or gives up on them after ``max_runs`` starts, and sends every job
  that is due and not sent, or sent long ago and never started (a lost message).
- ``job_restart`` lets an owner retry a failed or stuck job.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import F, Q

from apps.core import clock
from apps.jobs import broker, registry
from apps.jobs.models import Job

logger = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT = (OperationalError, InterfaceError)
SENDABLE = (Job.State.PENDING, Job.State.SENT)
#: A message may reach a worker this much before the job's ``available_at`` (clock skew).
EARLY_TOLERANCE = datetime.timedelta(seconds=5)


class RetryLater(Exception):
    """Raised by a job's body: run the job again after ``countdown`` seconds."""

    def __init__(self, countdown: float, reason: str = "", result=None):
        super().__init__(reason)
        self.countdown = countdown
        self.reason = reason
        self.result = result


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.MLGOV_JOB_LEASE_SECONDS)


def _eager() -> bool:
    from mlgov.celery import app

    return bool(app.conf.task_always_eager)


def _task(name: str):
    """The task ``name``, importing every app's tasks module first when this process has not
    (the Celery app may have been finalized before autodiscovery imported them all)."""
    from mlgov.celery import app

    if name not in app.tasks:
        registry.import_tasks_modules()
    return app.tasks[name]


# --- the outbox -------------------------------------------------------------------------------


def job_enqueue(*, task: str, object_id: int) -> Job:
    """Record the intent to run ``task`` for ``object_id`` (in the caller's transaction) and
    send it after commit. Nothing here touches the broker before the commit."""
    job = Job.objects.create(
        task=task,
        object_id=object_id,
        available_at=clock.now(),
        max_runs=registry.max_runs(task),
    )
    transaction.on_commit(lambda: _send_after_commit(job.pk))
    return job


def job_restart(*, task: str, object_id: int) -> Job:
    """Queue a job again from the start (an owner's retry): attempts are counted afresh."""
    now = clock.now()
    job, _ = Job.objects.select_for_update().get_or_create(
        task=task,
        object_id=object_id,
        defaults={"available_at": now, "max_runs": registry.max_runs(task)},
    )
    job.state = Job.State.PENDING
    job.available_at = now
    job.runs = 0
    job.lease_owner = ""
    job.lease_expires_at = None
    job.finished_at = None
    job.last_error = ""
    job.send_error = ""
    job.save()
    transaction.on_commit(lambda: _send_after_commit(job.pk))
    return job


def _send_after_commit(job_id: int) -> None:
    """The request's own send: in process when there is no broker (errors propagate, as the
    work is the request's), otherwise a bounded attempt that never fails the request."""
    if _eager():
        job_send(job_id=job_id)
        return
    try:
        job_send(job_id=job_id)
    except Exception:
        logger.exception("Job %s could not be sent; the dispatcher will send it", job_id)


def job_send(*, job_id: int, countdown: float = 0, force: bool = False) -> bool:
    """Hand a pending (or long-unstarted) job to the broker. False when it could not be sent:
    it stays pending and the dispatcher sends it later. ``force`` ignores the breaker."""
    job = Job.objects.filter(pk=job_id, state__in=SENDABLE).first()
    if job is None:
        return False
    task = _task(job.task)
    if _eager():
        task.apply_async((job.object_id,), task_id=uuid.uuid4().hex)
        return True
    if broker.is_down() and not force:
        return False
    message_id = uuid.uuid4().hex
    try:
        broker.publish(task, (job.object_id,), task_id=message_id, countdown=countdown)
    except Exception as exc:
        broker.mark_down()
        logger.warning("The broker is unreachable; job %s stays pending (%s)", job_id, exc)
        Job.objects.filter(pk=job_id, state__in=SENDABLE).update(
            send_attempts=F("send_attempts") + 1, send_error=str(exc)[:1000]
        )
        return False
    Job.objects.filter(pk=job_id, state__in=SENDABLE).update(
        state=Job.State.SENT,
        sent_at=clock.now(),
        message_id=message_id,
        send_attempts=F("send_attempts") + 1,
        send_error="",
    )
    return True


# --- running a job ----------------------------------------------------------------------------


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


def job_claim(
    *, task: str, object_id: int, message_id: str = "", eager: bool = False
) -> Job | None:
    """Take the lease on a job; None when there is nothing to do here (done, failed, held by
    a live lease elsewhere, or not due yet)."""
    now = clock.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(task=task, object_id=object_id).first()
        if job is None:
            # A message sent without the outbox (a direct call): record it from now on.
            job = Job(
                task=task,
                object_id=object_id,
                available_at=now,
                max_runs=registry.max_runs(task),
            )
        elif _not_for_us(job, now=now, eager=eager):
            return None
        if job.runs >= job.max_runs:
            _give_up(job, _gave_up_message(job))
            return None
        job.state = Job.State.RUNNING
        job.runs += 1
        job.lease_owner = _owner()
        job.lease_expires_at = now + _lease()
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.message_id = message_id or job.message_id
        job.save()
    return job


def _owner_is_dead(owner: str) -> bool:
    """True when the lease's owner was a process on this host that no longer exists (a pool
    process or a worker killed here): its job is taken over at once, not after the lease."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _not_for_us(job: Job, *, now: datetime.datetime, eager: bool) -> bool:
    """Done or failed, held by a live lease elsewhere, or not due yet."""
    if job.is_final:
        return True
    if job.state == Job.State.RUNNING and job.lease_expires_at and job.lease_expires_at > now:
        return not _owner_is_dead(job.lease_owner)
    return not eager and job.available_at > now + EARLY_TOLERANCE


def _held(job: Job):
    return Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, lease_owner=job.lease_owner)


def _release(job: Job, *, state: str, error: str = "", **fields) -> bool:
    return bool(
        _held(job).update(
            state=state, lease_owner="", lease_expires_at=None, last_error=error[:4000], **fields
        )
    )


@contextmanager
def _heartbeat(job: Job, *, enabled: bool) -> Iterator[None]:
    """Renew the lease every third of its length while the work runs, from its own thread
    (and its own database connection), so a worker that dies stops renewing it."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    interval = max(settings.MLGOV_JOB_LEASE_SECONDS / 3, 0.2)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    now = clock.now()
                    _held(job).update(lease_expires_at=now + _lease(), heartbeat_at=now)
                except Exception:
                    logger.warning("Could not renew the lease of job %s", job.pk, exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"mlgov-job-heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _backoff(runs: int) -> float:
    return min(settings.MLGOV_JOB_RETRY_SECONDS * 2 ** max(runs - 1, 0), 3600)


def job_run(
    task_self, object_id: int, body: Callable[[], T], *, on_skip: Callable[[], T] | None = None
) -> T | None:
    """Run ``body`` for ``object_id`` under the lease of its job (see the module docstring);
    a message with nothing to do returns ``on_skip()`` (e.g. the record as it stands).

    ``body`` may raise ``RetryLater`` to be run again later. A transient database error is
    retried with backoff until ``max_runs``; any other error fails the job and its record.
    """
    request = task_self.request
    eager = bool(getattr(request, "is_eager", False))
    job = job_claim(
        task=task_self.name, object_id=object_id, message_id=request.id or "", eager=eager
    )
    if job is None:
        logger.info(
            "Job %s(%s) skipped: done, running elsewhere or not due", task_self.name, object_id
        )
        return on_skip() if on_skip is not None else None
    with _heartbeat(job, enabled=not eager):
        try:
            result = body()
        except RetryLater as later:
            _retry_later(job, countdown=later.countdown, error=later.reason)
            return later.result
        except TRANSIENT as exc:
            if eager:
                _release(job, state=Job.State.FAILED, error=str(exc), finished_at=clock.now())
                raise
            _after_transient(job, exc)
            return None
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            _release(job, state=Job.State.FAILED, error=error, finished_at=clock.now())
            _call_give_up(job, f"The job stopped with an unexpected error ({error}).")
            raise
        except BaseException:
            # The worker is shutting down: hand the job back to be sent again.
            _release(job, state=Job.State.PENDING, error="The worker stopped during the job.")
            raise
    _release(job, state=Job.State.DONE, finished_at=clock.now())
    return result


def _retry_later(job: Job, *, countdown: float, error: str) -> None:
    available = clock.now() + datetime.timedelta(seconds=countdown)
    released = _release(job, state=Job.State.PENDING, error=error, available_at=available)
    if released and not _eager():
        # In process (no broker) nothing waits out a backoff: the dispatcher sends it when due.
        job_send(job_id=job.pk, countdown=countdown)


def _after_transient(job: Job, exc: Exception) -> None:
    """The database failed under the work: try again later, or give up after ``max_runs``.
    If the database is still away, the lease runs out and the reaper does the same later."""
    try:
        if job.runs >= job.max_runs:
            with transaction.atomic():
                locked = Job.objects.select_for_update().get(pk=job.pk)
                _give_up(
                    locked,
                    f"The database was unavailable {job.runs} times; nothing was stored ({exc}).",
                )
        else:
            _retry_later(job, countdown=_backoff(job.runs), error=f"Database unavailable: {exc}")
    except TRANSIENT:
        logger.warning("Job %s: the database is still unavailable; the reaper retries it", job.pk)


# --- giving up, the reaper and the dispatcher -------------------------------------------------


def _gave_up_message(job: Job) -> str:
    last = f" Last: {job.last_error}" if job.last_error else ""
    return (
        f"mlgov gave up after {job.runs} attempt(s) to run this job.{last} "
        "Retry it when the cause is fixed."
    )


def _call_give_up(job: Job, error: str) -> None:
    handler = registry.give_up_handler(job.task)
    if handler is not None:
        handler(job.object_id, error)


def _give_up(job: Job, error: str) -> None:
    """Mark a (locked) job failed and its record failed with the reason."""
    job.state = Job.State.FAILED
    job.finished_at = clock.now()
    job.lease_owner = ""
    job.lease_expires_at = None
    job.last_error = error[:4000]
    job.save()
    _call_give_up(job, error)


def jobs_reap(*, now: datetime.datetime | None = None) -> list[int]:
    """Re-queue every running job whose lease ran out (its worker died), or give up on it
    after ``max_runs`` starts. Returns the ids handled."""
    now = now or clock.now()
    expired = list(
        Job.objects.filter(state=Job.State.RUNNING, lease_expires_at__lt=now)
        .order_by("lease_expires_at")
        .values_list("pk", flat=True)[:500]
    )
    handled = []
    for pk in expired:
        with transaction.atomic():
            job = (
                Job.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=Job.State.RUNNING, lease_expires_at__lt=now)
                .first()
            )
            if job is None:
                continue
            lost = (
                f"The worker running it stopped without finishing (lease expired at "
                f"{job.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC, attempt {job.runs})."
            )
            if job.runs >= job.max_runs:
                job.last_error = lost
                _give_up(job, _gave_up_message(job))
                logger.error("Job %s gave up: %s", job, lost)
            else:
                job.state = Job.State.PENDING
                job.available_at = now
                job.lease_owner = ""
                job.lease_expires_at = None
                job.last_error = lost
                job.save()
                logger.warning("Job %s re-queued: %s", job, lost)
        handled.append(pk)
    return handled


def _resend_due(job: Job, now: datetime.datetime) -> bool:
    """A sent job not started for a while is sent again (its message may have been lost
    with the broker's memory); the wait doubles with each send, so a long backlog is not
    flooded with copies."""
    wait = settings.MLGOV_JOB_RESEND_SECONDS * 2 ** min(max(job.send_attempts - 1, 0), 6)
    started_by = max(job.sent_at or job.available_at, job.available_at)
    return started_by + datetime.timedelta(seconds=wait) <= now


def jobs_dispatch_due(*, now: datetime.datetime | None = None, limit: int = 1000) -> list[int]:
    """Send every due job not sent yet, and every sent job that never started; stops at the
    first send that fails (the broker is down: the next tick tries again)."""
    now = now or clock.now()
    resend_floor = now - datetime.timedelta(seconds=settings.MLGOV_JOB_RESEND_SECONDS)
    candidates = (
        Job.objects.filter(
            Q(state=Job.State.PENDING, available_at__lte=now)
            | Q(state=Job.State.SENT, available_at__lte=resend_floor, sent_at__lte=resend_floor)
        )
        .order_by("available_at", "pk")
        .only("pk", "state", "sent_at", "available_at", "send_attempts")[:limit]
    )
    sent = []
    for job in candidates:
        if job.state == Job.State.SENT and not _resend_due(job, now):
            continue
        if not job_send(job_id=job.pk, force=True):
            break
        sent.append(job.pk)
    return sent


def jobs_tick(*, now: datetime.datetime | None = None) -> dict[str, list[int]]:
    """The dispatcher's beat: reap expired leases, then send what is due."""
    reaped = jobs_reap(now=now)
    sent = jobs_dispatch_due(now=now)
    return {"reaped": reaped, "sent": sent}
