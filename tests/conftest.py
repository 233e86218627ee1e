"""Shared fixtures: named personas (one per role, plus an outsider) and service detection."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from apps.core import roles
from tests.audit.isolation import _audit_checkpoint_per_test, allow_test_flush  # noqa: F401
from tests.factories import RegisteredModelFactory, UserFactory

# Live-server request threads would otherwise keep their PostgreSQL connections open after the
# test, which stops the test database from being dropped.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
allow_test_flush()

SERVICES_REASON = "needs DATABASE_URL (PostgreSQL) and REDIS_URL; set both to run service tests"


def services_available() -> bool:
    return bool(
        os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")
    )


def pytest_collection_modifyitems(config, items):
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
