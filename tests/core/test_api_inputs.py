"""API input a database would refuse answers 400 naming the field, everywhere.

PostgreSQL refuses NUL in text and jsonb and UTC offsets beyond ±15:59; SQLite accepts all
three, so these tests assert the 400 and its message rather than wait for a database error.
The last tests make sure no API serializer or filterset escapes the shared fields and base
class (apps/core/api/fields.py, apps/core/filters.py).
"""

from __future__ import annotations

import importlib
import pkgutil

import django_filters
import pytest
from django.urls import get_resolver
from rest_framework import serializers
from rest_framework.test import APIClient

import apps
from apps.core.api import fields as safe
from apps.core.filters import FilterSet
from apps.inventory.choices import VersionStage
from tests.factories import BusinessUnitFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# --- list filters ------------------------------------------------------------------------

LISTS = {
    "/api/v1/models/": "RegisteredModelViewSet",
    "/api/v1/datasets/": "DatasetViewSet",
    "/api/v1/deployments/": "DeploymentViewSet",
    "/api/v1/models/owned-model/versions/": "ModelVersionViewSet",
    "/api/v1/audit-events/": "AuditEventViewSet",
    "/api/v1/thresholds/": "ThresholdViewSet",
    "/api/v1/ingestion/": "IngestionBatchViewSet",
    "/api/v1/drift-runs/": "DriftRunViewSet",
    "/api/v1/incidents/": "IncidentViewSet",
    "/api/v1/reports/": "ReportViewSet",
    "/api/v1/approvals/": "ApprovalRequestViewSet",
    "/api/v1/findings/": "FindingViewSet",
}


def api_view_classes() -> set[type]:
    found: set[type] = set()

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
            elif getattr(pattern.callback, "cls", None) is not None:
                found.add(pattern.callback.cls)  # DRF views (Django's set view_class)

    walk(get_resolver().url_patterns)
    return found


NUL_MESSAGE = "Contains a NUL character; names and filter values cannot."


def test_every_filtered_api_list_is_tested_here():
    filtered = {v.__name__ for v in api_view_classes() if getattr(v, "filterset_class", None)}
    assert filtered == set(LISTS.values())


@pytest.mark.parametrize("url", sorted(LISTS))
def test_it_refuses_a_nul_byte_in_every_filter_of_every_list(url, admin_user, owned_model):
    view = next(v for v in api_view_classes() if v.__name__ == LISTS[url])
    client = api(admin_user)
    for name, spec in view.filterset_class.base_filters.items():
        response = client.get(url, {name: "abc\x00def"})
        assert response.status_code in (200, 400), (name, response.status_code)
        if isinstance(spec, django_filters.BooleanFilter):
            continue  # anything but true/false/1/0 means "not filtered", as before
        assert response.status_code == 400, (url, name, response.content)
        # The guard's message, before any lookup (PostgreSQL would refuse the NUL with a
        # server error in a model lookup; Django's own checks do not cover those).
        assert response.json()[name] == [NUL_MESSAGE], (url, name, response.json())


def test_it_names_the_control_character_it_refuses(admin_user):
    response = api(admin_user).get("/api/v1/approvals/", {"model": "churn\x1b[31m"})
    assert response.status_code == 400
    assert response.json() == {
        "model": ["Contains a control character (U+001B); names and filter values cannot."]
    }


def test_a_reported_case_a_nul_in_the_approval_kind_answers_400(viewer):
    response = api(viewer).get("/api/v1/approvals/?kind=%00")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_a_utc_offset_postgresql_refuses_answers_400_in_filters(auditor):
    client = api(auditor)
    response = client.get("/api/v1/audit-events/", {"since": "2026-01-01T00:00:00+19:00"})
    assert response.status_code == 400
    assert response.json() == {"since": ["The UTC offset must be between -15:59 and +15:59."]}
    response = client.get("/api/v1/audit-events/", {"until": "9999-12-31T23:00:00-05:00"})
    assert response.status_code == 400
    assert "out of range" in response.json()["until"][0]
    # A real offset still filters, compared in UTC.
    response = client.get("/api/v1/audit-events/", {"since": "2026-01-01T00:00:00+14:00"})
    assert response.status_code == 200


# --- references and free text in bodies ------------------------------------------------------


def test_it_refuses_a_nul_in_a_username_reference_before_looking_it_up(model_owner):
    BusinessUnitFactory(code="retail")
    response = api(model_owner).post(
        "/api/v1/models/",
        {"slug": "a-model", "name": "A model", "business_unit": "retail", "business_owner": "\x00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["business_owner"] == [NUL_MESSAGE]


def test_it_refuses_an_unpaired_surrogate_in_a_reference(model_owner):
    response = api(model_owner).post(
        "/api/v1/approvals/",
        b'{"kind": "validation", "model": "owned-model\\ud800"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "unpaired surrogate" in response.json()["model"][0]


# --- JSON fields ----------------------------------------------------------------------------


def nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def draft_version(owned_model):
    return ModelVersionFactory(model=owned_model, version="0.9.0", stage=VersionStage.DEVELOPMENT)


def test_the_form_value_null_for_a_json_field_answers_400(model_owner, draft_version):
    # The reported case: PATCH …/versions/V/ -d hyperparameters=null
    response = api(model_owner).patch(
        "/api/v1/models/owned-model/versions/0.9.0/",
        "hyperparameters=null",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json() == {"hyperparameters": ["This field may not be null."]}


def test_an_unpaired_surrogate_in_json_answers_400(model_owner, draft_version):
    response = api(model_owner).patch(
        "/api/v1/models/owned-model/versions/0.9.0/",
        b'{"hyperparameters": ["ok", "\\ud800"]}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "hyperparameters": [
            "Contains an unpaired surrogate (not a character), which cannot be stored (at $[1])."
        ]
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": {"b": "x\u0000y"}}, "Contains a NUL character, which cannot be stored (at $.a.b)."),
        ({"a\u0000": 1}, "A key contains a NUL character, which cannot be stored (at $)."),
        ({"d": nested(40)}, "Nested deeper than 32 levels at $.d"),
    ],
)
def test_json_postgresql_refuses_answers_400_naming_the_place(
    model_owner, draft_version, value, message
):
    response = api(model_owner).patch(
        "/api/v1/models/owned-model/versions/0.9.0/", {"hyperparameters": value}, format="json"
    )
    assert response.status_code == 400, response.content
    assert message in response.json()["hyperparameters"][0]


def test_json_nested_too_deeply_for_the_parser_answers_400(model_owner):
    body = "[" * 50_000 + "]" * 50_000
    response = api(model_owner).post("/api/v1/models/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested too deeply."}


# --- datetimes in bodies --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-01-01T00:00:00+19:00", "The UTC offset must be between -15:59 and +15:59."),
        ("0001-01-01T00:00:00+01:00", "The time is out of range (years 1 to 9999, in UTC)."),
        ("10000-01-01T00:00:00Z", "Datetime has wrong format"),
        ("0000-01-01T00:00:00Z", "Datetime has wrong format"),
    ],
)
def test_times_postgresql_cannot_store_answer_400(admin_user, as_of, message):
    response = api(admin_user).post(
        "/api/v1/reports/", {"kind": "register", "format": "csv", "as_of": as_of}, format="json"
    )
    assert response.status_code == 400
    assert message in response.json()["as_of"][0]


# --- routes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/deployments/1/", "/api/v1/models/owned-model/risk-assessments/1/"]
)
def test_resources_that_cannot_be_edited_answer_put_with_405(admin_user, owned_model, url):
    response = api(admin_user).put(url, {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}


# --- nothing escapes the shared fields and filterset base ----------------------------------


def api_modules():
    for info in pkgutil.walk_packages(apps.__path__, "apps."):
        if ".api" in info.name and "migrations" not in info.name:
            yield importlib.import_module(info.name)


def all_fields(serializer, path=""):
    for name, field in serializer.fields.items():
        yield f"{path}{name}", field
        child = getattr(field, "child", None) or getattr(field, "child_relation", None)
        if isinstance(child, serializers.Serializer):
            yield from all_fields(child, f"{path}{name}[].")
        elif child is not None:
            yield f"{path}{name}[]", child
        if isinstance(field, serializers.Serializer):
            yield from all_fields(field, f"{path}{name}.")


UNSAFE = {
    serializers.SlugRelatedField: safe.SlugRelatedField,
    serializers.JSONField: safe.JSONField,
    serializers.DateTimeField: safe.DateTimeField,
}


def test_no_api_serializer_uses_a_field_the_database_could_refuse():
    offenders = []
    for module in api_modules():
        for obj in vars(module).values():
            if not (
                isinstance(obj, type)
                and issubclass(obj, serializers.Serializer)
                and obj.__module__ == module.__name__
                and not module.__name__.startswith("apps.core.api")
            ):
                continue
            for name, field in all_fields(obj(context={})):
                for unsafe, replacement in UNSAFE.items():
                    if isinstance(field, unsafe) and not isinstance(field, replacement):
                        offenders.append(f"{obj.__module__}.{obj.__name__}.{name}")
    assert offenders == []


def test_every_filterset_inherits_the_guarded_base():
    filtersets = {
        v.filterset_class for v in api_view_classes() if getattr(v, "filterset_class", None)
    }
    for module in (
        "apps.inventory.filters",
        "apps.incidents.filters",
        "apps.reports.filters",
        "apps.approvals.filters",
        "apps.reviews.filters",
    ):
        filtersets |= {
            obj
            for obj in vars(importlib.import_module(module)).values()
            if isinstance(obj, type) and issubclass(obj, django_filters.FilterSet)
        }
    assert [f.__name__ for f in filtersets if not issubclass(f, FilterSet)] == []


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("0001-01-01T00:00:00+01:00", "scope.start: The time is out of range"),
        ("2026-01-01T00:00:00+19:00", "scope.start: The UTC offset must be between"),
    ],
)
def test_times_inside_a_report_scope_postgresql_cannot_store_answer_400(auditor, start, message):
    response = api(auditor).post(
        "/api/v1/reports/",
        {"kind": "audit_extract", "format": "csv", "scope": {"start": start}},
        format="json",
    )
    assert response.status_code == 400
    assert message in response.json()["scope"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"rows": [{"model": "\\ud800", "value": 1}]}', "an unpaired surrogate"),
        (b'{"rows": [{"model": "a\\u0000b", "value": 1}]}', "a NUL character"),
    ],
)
def test_metric_rows_with_text_that_cannot_be_stored_answer_400(admin_user, body, message):
    response = api(admin_user).post("/api/v1/ingestion/", body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["rows"][0]
