"""What to do with a job's record when mlgov gives up on the job.

Each task that runs through the outbox registers a handler that marks its record (batch,
report, drift run, delivery) failed with the reason, so the owner sees why and can retry.
"""

from __future__ import annotations

from collections.abc import Callable

GiveUp = Callable[[int, str], object]

_handlers: dict[str, GiveUp] = {}
_max_runs: dict[str, int] = {}


def register(task_name: str, *, give_up: GiveUp, max_runs: int | None = None) -> None:
    """``max_runs``: starts before giving up, when the task needs more than the default
    (a webhook's own retries each start it again)."""
    _handlers[task_name] = give_up
    if max_runs is not None:
        _max_runs[task_name] = max_runs


def max_runs(task_name: str) -> int:
    from django.conf import settings

    if task_name not in _handlers:
        import_tasks_modules()
    return _max_runs.get(task_name, settings.MLGOV_JOB_MAX_RUNS)


def give_up_handler(task_name: str) -> GiveUp | None:
    if task_name not in _handlers:
        import_tasks_modules()
    return _handlers.get(task_name)


def import_tasks_modules() -> None:
    """Import every app's ``tasks`` module, as the worker does on start, so that their
    handlers are registered in any process (a test, a management command)."""
    import importlib
    import importlib.util

    from django.apps import apps

    for config in apps.get_app_configs():
        name = f"{config.name}.tasks"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
