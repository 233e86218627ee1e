"""Infrastructure tasks."""

from celery import shared_task


@shared_task(name="core.ping")
def ping() -> str:
    """Answer "pong": the worker health check and integration tests send it round trip."""
    return "pong"
