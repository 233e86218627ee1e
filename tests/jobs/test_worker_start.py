"""A worker that starts asks for a dispatch at once (jobs that waited while no worker ran are
sent without waiting for the beat), and the broker never hands a running job out twice: a
message comes back only after a visibility timeout above the longest task's time limit."""

from __future__ import annotations

import logging

from celery.signals import worker_ready
from django.conf import settings

from apps.jobs import tasks
from mlgov.celery import app


class _App:
    def __init__(self, send_task):
        self.send_task = send_task


class _Worker:
    """What a starting worker sends the signal with: its app, through which it sends tasks."""

    def __init__(self, send_task):
        self.app = _App(send_task)


def _worker(send_task) -> _Worker:
    return _Worker(send_task)


def test_a_starting_worker_asks_for_a_dispatch_of_what_waited():
    sent = []
    worker_ready.send(sender=_worker(lambda name, **kw: sent.append(name)))

    assert sent == ["jobs.tick"]
    assert tasks.tick.name == "jobs.tick"  # the task the beat runs too


def test_a_start_up_dispatch_the_broker_refuses_is_logged_and_left_to_the_beat(caplog):
    def refused(name, **kw):
        raise ConnectionError("broker down")

    with caplog.at_level(logging.ERROR, logger="apps.jobs.signals"):
        worker_ready.send(sender=_worker(refused))  # the worker starts all the same

    assert "the beat will do it" in caplog.text
    assert "jobs-tick" in settings.CELERY_BEAT_SCHEDULE


def test_the_visibility_timeout_outlasts_the_longest_task():
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    longest = max(
        settings.CELERY_TASK_TIME_LIMIT,
        settings.MLGOV_INGEST_TIME_LIMIT,
        settings.MLGOV_REPORT_TIME_LIMIT,
    )

    assert timeout > longest
    assert app.conf.broker_transport_options["visibility_timeout"] == timeout
