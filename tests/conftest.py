"""Shared fixtures: named personas (one per role, plus an outsider) and service detection."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test.utils import override_settings

from apps.core import roles
from tests.audit.isolation import _audit_checkpoint_per_test, allow_test_flush  # noqa: F401
from tests.factories import RegisteredModelFactory, UserFactory

# Live-server request threads would otherwise keep their PostgreSQL connections open after the
# test, which stops the test database from being dropped.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
allow_test_flush()

SERVICES_REASON = "needs DATABASE_URL (PostgreSQL) and REDIS_URL; set both to run service tests"

# --- pytest-xdist (`make test` runs the suite on two workers) ------------------------------
# Each worker has its own test database (pytest-django names it after the worker), its own
# Redis database for the cache and its own media folder (the session fixture below), so the two
# never see each other's rows, cache keys or stored files.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# Tests that must run one after the other on one worker. pytest-xdist hands out work by
# scope: the scheduler below (``pytest_xdist_make_scheduler``) makes each group named here one
# scope, and every other module its own scope (as ``--dist loadfile`` does), so a module's
# fixtures are made once and its tests never run at the same time as each other. (Our own
# scheduler rather than ``--dist loadgroup`` with ``xdist_group`` marks: pytest-xdist 3.8 does
# not see those marks under pytest 9.) By path prefix; the first match names the group.
XDIST_GROUPS = {
    # Job fault tests: a throwaway redis-server, real Celery workers and timed recoveries.
    "tests/jobs/": "jobs",
    # Real Celery workers on the shared broker: one at a time, or one takes the other's tasks.
    "tests/core/test_worker.py": "celery-worker",
    "tests/core/test_worker_queues.py": "celery-worker",
    "tests/monitoring/drift/test_worker.py": "celery-worker",
    "tests/monitoring/ingestion/test_worker.py": "celery-worker",
    "tests/reports/test_tasks.py": "celery-worker",
    "tests/reviews/test_worker.py": "celery-worker",
    # The demo, seeded once for the package (tests/demo/seeded/conftest.py).
    "tests/demo/seeded/": "demo-seeded",
    # Databases and roles made on the PostgreSQL server itself, which every worker shares:
    # the restore drill checks no drill database is left, whoever made it.
    "tests/audit/test_restore_drill.py": "postgres-server",
    "tests/audit/test_database_roles.py": "postgres-server",
    "tests/audit/test_deploy_roles.py": "postgres-server",
    "tests/core/test_deploy_check.py": "postgres-server",
}
# The longest groups start first, so the workers finish at about the same time.
XDIST_LONGEST_FIRST = (
    "tests/core/test_api_fuzz.py",
    "tests/browser/test_csp_crawl.py",
    "postgres-server",
    "demo-seeded",
    "jobs",
    "tests/test_permission_matrix.py",
    "tests/browser/test_mlflow_journey.py",
)


def _xdist_group(path: str) -> str:
    return next((g for prefix, g in XDIST_GROUPS.items() if path.startswith(prefix)), path)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; absent under -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """Hand out whole groups (see ``XDIST_GROUPS``) and whole modules to the workers."""
    if config.getoption("dist") not in ("load", "loadscope", "loadfile", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _xdist_group(nodeid.split("::", 1)[0])

    return GroupScheduling(config, log)


def _redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis URL with the database number moved by the worker's index (gw0 keeps it)."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{(db + index) % 16}"))


def _use_own_redis_database(worker: str) -> None:
    """Point this worker's cache at its own Redis database (lockout counters, throttles and
    cached reads never meet the other worker's). Settings were read before any conftest runs,
    so they are changed here, before any test. The Celery broker stays shared: tests send tasks
    in process (eager) except the real-worker tests, which run as one group (``XDIST_GROUPS``),
    and the job fault tests, which bring their own Redis. (Moving Celery's broker by hand here
    left later tests sending to a fault test's closed port.)"""
    shared = settings.REDIS_URL
    if not shared or not worker:
        return
    own = _redis_url_for_worker(shared, worker)
    for name, cache in settings.CACHES.items():
        if cache.get("LOCATION") == shared:
            settings.CACHES[name] = {**cache, "LOCATION": own}


_use_own_redis_database(XDIST_WORKER)


def services_available() -> bool:
    return bool(
        os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")
    )


def _empties_the_tables(item) -> bool:
    """A transactional test, as pytest-django tells them (it flushes the database after)."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # tryfirst: the order is settled before other plugins look at the items.
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        root = config.rootpath
        groups = {item: _xdist_group(item.path.relative_to(root).as_posix()) for item in items}
        first = {group: rank for rank, group in enumerate(XDIST_LONGEST_FIRST)}
        # A transactional test ends by emptying every table, rows of data migrations too (the
        # review cadences): as in a serial run, where pytest-django runs them after the rest,
        # a worker takes the groups holding one only once no other group is left.
        flushing = {groups[item] for item in items if _empties_the_tables(item)}
        items.sort(key=lambda item: (groups[item] in flushing, first.get(groups[item], len(first))))
    if services_available():
        return
    skip = pytest.mark.skip(reason=SERVICES_REASON)
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    db = (
        "PostgreSQL"
        if services_available()
        else "SQLite (service tests skipped: " + SERVICES_REASON + ")"
    )
    return f"mlgov: database {db}"


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests render templates without running collectstatic first (no hashed manifest);
    passwords use a fast hasher so personas are cheap to create."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _card_preview_built_afresh(settings):
    """Tests change models without always auditing it (factories), and cache keys outlive a
    test's rolled-back rows: the card preview's cache is on only in the tests about it."""
    settings.MLGOV_CARD_PREVIEW_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _tasks_in_process():
    """Tasks run in process unless a test starts a real worker (tests/celery_worker.py)."""
    from mlgov.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada.admin", roles=[roles.ADMIN], is_staff=True)


@pytest.fixture
def validator(db):
    return UserFactory(username="val.validator", roles=[roles.VALIDATOR])


@pytest.fixture
def business_owner(db):
    return UserFactory(username="bea.business", roles=[roles.BUSINESS_OWNER])


@pytest.fixture
def model_owner(db):
    return UserFactory(username="mo.owner", roles=[roles.MODEL_OWNER])


@pytest.fixture
def other_model_owner(db):
    return UserFactory(username="oz.otherowner", roles=[roles.MODEL_OWNER])


@pytest.fixture
def auditor(db):
    return UserFactory(username="aud.auditor", roles=[roles.AUDITOR])


@pytest.fixture
def viewer(db):
    return UserFactory(username="vic.viewer", roles=[roles.VIEWER])


@pytest.fixture
def outsider(db):
    """Logged in but holding no role."""
    return UserFactory(username="out.sider")


@pytest.fixture
def owned_model(db, model_owner, business_owner):
    """A model owned by ``model_owner`` with ``business_owner`` named."""
    return RegisteredModelFactory(
        slug="owned-model", name="Owned model", owner=model_owner, business_owner=business_owner
    )


@pytest.fixture
def foreign_model(db, other_model_owner):
    """A model neither ``model_owner`` nor ``business_owner`` is named on."""
    return RegisteredModelFactory(
        slug="foreign-model", name="Foreign model", owner=other_model_owner
    )


@pytest.fixture(scope="session", autouse=True)
def _session_media_root(tmp_path_factory):
    """Stored files (reports, batches, drift samples) go to this session's own folder, not to
    var/media, which another session or xdist worker may be filling at the same time."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(scope="session", autouse=True)
def _release_test_database(django_db_setup, django_db_blocker):
    """Before the PostgreSQL test database is dropped, end the sessions that live-server request
    threads left open, so the drop does not fail with "being accessed by other users"."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
