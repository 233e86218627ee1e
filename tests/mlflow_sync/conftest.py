"""Fixtures of the MLflow sync tests: a real MLflow server (tests/mlflow_sync/server.py), the
service user a connection acts as, and a connection to the server."""

from __future__ import annotations

import pytest

from apps.core import roles
from apps.mlflow_sync import services
from tests.factories import BusinessUnitFactory, UserFactory
from tests.mlflow_sync.server import start_server


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    server, why = start_server(tmp_path_factory.mktemp("mlflow"))
    if server is None:
        print(f"MLflow server tests skipped: {why}")
        pytest.skip(why)
    yield server
    server.stop()


@pytest.fixture
def service_user(db):
    return UserFactory(username="svc.mlflow", roles=[roles.MODEL_OWNER])


@pytest.fixture
def unit(db):
    return BusinessUnitFactory(code="discovered", name="Discovered")


def make_connection(admin_user, service_user, unit, url, **extra):
    return services.connection_create(
        actor=admin_user,
        name=extra.pop("name", "Bank registry"),
        tracking_url=url,
        business_unit=unit,
        run_as=service_user,
        **extra,
    )
