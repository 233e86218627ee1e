"""Every Celery task has a queue of its kind, and every queue has workers: in `make worker`, in
deploy/compose.yaml (one service per queue) and in the worker health check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from apps.jobs.registry import import_tasks_modules
from mlgov.celery import app

ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "monitoring.ingest_batch": "ingestion",
    "monitoring.pull_source": "ingestion",
    "reports.generate_report": "reports",
    "monitoring.run_drift": "drift",
    "notifications.deliver_webhook": "notifications",
    "jobs.tick": "default",
}


def mlgov_tasks() -> list[str]:
    import_tasks_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def routed_queue(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def per_task_routes() -> dict:
    return next(r for r in settings.CELERY_TASK_ROUTES if isinstance(r, dict))


def test_every_task_has_its_own_route_to_a_consumed_queue():
    routes = per_task_routes()
    missing = [name for name in mlgov_tasks() if name not in routes]
    assert not missing, (
        f"{missing}: add each to CELERY_TASK_ROUTES (mlgov/settings.py), or it lands on the "
        "default queue by accident"
    )
    for name in mlgov_tasks():
        assert routed_queue(name) in settings.MLGOV_CELERY_QUEUES, name


def test_the_kinds_of_work_go_to_their_queues():
    assert {name: routed_queue(name) for name in KINDS} == KINDS
    assert set(settings.MLGOV_CELERY_QUEUES) == {
        "default",
        "ingestion",
        "reports",
        "drift",
        "notifications",
    }


def test_a_process_that_redirects_its_default_queue_sends_everything_there():
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = "mlgov-test-private"
    try:
        assert routed_queue("reports.generate_report") == "mlgov-test-private"
        assert routed_queue("jobs.tick") == "mlgov-test-private"
    finally:
        app.conf.task_default_queue = previous
    assert routed_queue("reports.generate_report") == "reports"


def test_an_explicit_queue_wins_over_the_route():
    options = app.amqp.router.route({"queue": "elsewhere"}, "reports.generate_report")
    assert options["queue"].name == "elsewhere"


def test_a_worker_without_q_consumes_every_queue():
    assert [q.name for q in app.conf.task_queues] == list(settings.MLGOV_CELERY_QUEUES)


def test_make_worker_consumes_every_queue_by_default_and_takes_queues():
    makefile = (ROOT / "Makefile").read_text()
    default = re.search(r"^QUEUES \?= (\S+)$", makefile, re.M).group(1)
    assert default.split(",") == list(settings.MLGOV_CELERY_QUEUES)
    assert "-Q $(QUEUES)" in makefile


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def test_compose_runs_one_worker_service_per_queue(compose):
    consumed = {}
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if "worker" in command and "celery" in command:
            queue = command[command.index("-Q") + 1]
            consumed[queue] = name
            assert service["environment"]["MLGOV_WORKER_QUEUE"] == queue
            assert service["healthcheck"]["test"][-1] == "deploy/worker_healthcheck.py"
    assert set(consumed) == set(settings.MLGOV_CELERY_QUEUES)
    assert consumed["reports"] == "worker-reports"


@pytest.mark.parametrize(("env", "queue"), [("reports", "reports"), ("", None)])
def test_the_health_check_pings_through_the_workers_own_queue(monkeypatch, env, queue):
    from apps.core.tasks import ping
    from deploy import worker_healthcheck

    sent = []

    class Answer:
        def get(self, timeout):
            return "pong"

    def apply_async(**options):
        sent.append(options.get("queue"))
        return Answer()

    monkeypatch.setenv("MLGOV_WORKER_QUEUE", env)
    monkeypatch.setattr(ping, "apply_async", apply_async)
    assert worker_healthcheck.main() == 0
    assert sent == [queue]


def test_every_beat_entry_names_a_registered_task_with_a_route():
    tasks = set(mlgov_tasks())
    for entry, spec in settings.CELERY_BEAT_SCHEDULE.items():
        assert spec["task"] in tasks, entry
        assert spec["task"] in per_task_routes(), entry
