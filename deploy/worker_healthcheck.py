"""Health check of a Celery worker: a ping task makes the round trip through the broker.

Exit 0 when a worker answered "pong" within the timeout, 1 otherwise. The ping goes through
the queue this worker consumes (``MLGOV_WORKER_QUEUE``, set per service in compose.yaml; the
default queue without it), so a worker of each kind is checked, not just any worker.
Usage (in the image):  python deploy/worker_healthcheck.py
"""

import os
import sys

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
    django.setup()
    from apps.core.tasks import ping

    try:
        queue = os.environ.get("MLGOV_WORKER_QUEUE") or None
        answer = ping.apply_async(expires=20, queue=queue).get(timeout=20)
    except Exception as exc:  # any failure means unhealthy; say why for `docker inspect`
        print(f"worker health check failed: {exc!r}", file=sys.stderr)
        return 1
    return 0 if answer == "pong" else 1


if __name__ == "__main__":
    sys.exit(main())
