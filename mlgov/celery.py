"""Celery application. Without a broker configured, tasks run in process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")

app = Celery("mlgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def route_to_redirected_default(name, args, kwargs, options, task=None, **kw):
    """The first of ``CELERY_TASK_ROUTES``: when this process has pointed
    ``task_default_queue`` somewhere else than the installation's default queue (a test or a
    benchmark sending everything to its own throwaway worker), every task goes there; otherwise
    None, and the per-task routes decide."""
    from django.conf import settings

    queue = app.conf.task_default_queue
    if queue and queue != settings.CELERY_TASK_DEFAULT_QUEUE:
        return {"queue": queue}
    return None
