"""Celery application. Without a broker configured, tasks run in process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")

app = Celery("mlgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
