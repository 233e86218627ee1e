"""The register and the inventory's health and "Not assessed" filters: applied now, refused
as of a past time (health describes what is open now), and the tier matched in the past."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.reports import register, services
from tests.inventory.health_data import model_in

pytestmark = pytest.mark.django_db


def test_the_register_now_follows_the_health_filter(auditor):
    model_in("incident", slug="broken")
    model_in("ok", slug="fine")
    rows = register.register_rows(user=auditor, filters={"health": ["incident"]})
    assert [r["slug"] for r in rows] == ["broken"]


def test_a_register_as_of_a_past_time_refuses_the_health_filter(auditor):
    model_in("incident")
    then = timezone.now() + dt.timedelta(seconds=1)
    with pytest.raises(ApplicationError) as excinfo:
        register.register_rows(user=auditor, filters={"health": ["incident"]}, as_of=then)
    assert "health" in excinfo.value.field_errors


def test_a_register_request_as_of_a_past_time_refuses_the_health_filter(auditor):
    model_in("ok")
    with pytest.raises(ApplicationError) as excinfo:
        services.report_request(
            user=auditor,
            kind="register",
            fmt="csv",
            scope={"filters": {"health": ["ok"]}},
            as_of=timezone.now() - dt.timedelta(seconds=1),
            enqueue=False,
        )
    assert "health" in excinfo.value.message


def test_not_assessed_matches_models_without_a_tier_as_of_a_past_time(auditor):
    model_in("ok", slug="tiered", risk_tier=2)
    model_in("ok", slug="untiered", risk_tier=None)
    then = timezone.now() + dt.timedelta(seconds=1)
    rows = register.register_rows(user=auditor, filters={"risk_tier": ["none"]}, as_of=then)
    assert [r["slug"] for r in rows] == ["untiered"]
