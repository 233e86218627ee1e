"""gunicorn settings for mlgov's web container. Each value can be overridden from the
environment; gunicorn also reads GUNICORN_CMD_ARGS and FORWARDED_ALLOW_IPS itself."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # inside the container only
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak never takes the site down.
max_requests = 1000
max_requests_jitter = 100
# Heartbeat files on tmpfs: a container's overlay filesystem can stall them.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - tmpfs in the container, not a shared temp dir
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


def post_worker_init(worker):
    """Before a new worker serves: the API schema generated and rendered, so that neither
    the first reader of the API docs nor any reader after a worker recycling waits for it."""
    from apps.core.api.views import SchemaView

    SchemaView.warm()
