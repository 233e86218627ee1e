"""Rows made once for many tests: written in a transaction that stays open while those tests
run and is rolled back after the last one, so no row outlives them.

Each test still runs in its own savepoint inside that transaction (pytest-django's ``db``
fixture), so what one test writes is gone before the next starts. For tests that read (or
write and expect their writes undone) a costly set of rows; never for transactional tests,
live servers or other processes, which cannot see rows that were never committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import transaction
from django.test.utils import override_settings

from mlgov.celery import app as celery_app

T = TypeVar("T")


@contextmanager
def shared_rows(django_db_blocker, make: Callable[[], T], **settings_while_making) -> Iterator[T]:
    """Call ``make`` in a new transaction (tasks in process, ``settings_while_making`` in force,
    as the tests' own fixtures would have them) and yield what it returns; the transaction is
    rolled back when the ``with`` block ends."""
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            with django_db_blocker.unblock(), override_settings(**settings_while_making):
                made = make()
        finally:
            celery_app.conf.task_always_eager = eager
        yield made
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
