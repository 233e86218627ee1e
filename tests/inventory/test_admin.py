"""The Django admin for inventory records: admin role only, writes audited through services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core import roles
from apps.inventory.models import RegisteredModel
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


MODEL_FORM_FIELDS = (
    "name",
    "description",
    "business_unit",
    "purpose",
    "out_of_scope_uses",
    "intended_users",
    "downstream_consumers",
    "owner",
    "business_owner",
    "validator",
    "human_oversight_contact",
    "origin",
    "vendor",
    "model_type",
    "algorithm",
    "inputs",
    "outputs",
    "limitations",
    "assumptions",
    "ethical_considerations",
    "explainability",
    "next_review_date",
)


def _form_data(model: RegisteredModel, **changes) -> dict:
    data = {}
    for name in MODEL_FORM_FIELDS:
        field = model._meta.get_field(name)
        value = getattr(model, field.attname)
        data[name] = "" if value is None else value
    data["developers"] = [u.pk for u in model.developers.all()]
    data.update(changes)
    return data


def test_an_admin_opens_the_admin_site(client, admin_user, owned_model):
    client.force_login(admin_user)
    assert client.get(reverse("admin:index")).status_code == 200
    response = client.get(reverse("admin:inventory_registeredmodel_changelist"))
    assert response.status_code == 200
    assert owned_model.name in response.content.decode()


def test_an_admin_changes_a_model_and_the_change_is_audited(client, admin_user, owned_model):
    client.force_login(admin_user)
    url = reverse("admin:inventory_registeredmodel_change", args=[owned_model.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, _form_data(owned_model, purpose="Forecast parcel volumes."))
    assert response.status_code == 302, response.context["adminform"].form.errors
    owned_model.refresh_from_db()
    assert owned_model.purpose == "Forecast parcel volumes."
    event = AuditEvent.objects.get(object_type="inventory.registeredmodel", action="update")
    assert event.actor == admin_user
    assert event.changes["purpose"]["after"] == "Forecast parcel volumes."


def test_an_admin_adds_a_model_through_the_service(client, admin_user, model_owner, business_owner):
    client.force_login(admin_user)
    unit = BusinessUnitFactory()
    data = {
        "slug": "parcel-volume-forecast",
        "name": "Parcel volume forecast",
        "purpose": "Forecast daily parcel volumes per hub.",
        "business_unit": unit.pk,
        "owner": model_owner.pk,
        "business_owner": business_owner.pk,
        "origin": "in_house",
        "model_type": "forecasting",
    }
    response = client.post(reverse("admin:inventory_registeredmodel_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    model = RegisteredModel.objects.get(slug="parcel-volume-forecast")
    assert model.created_by == admin_user
    assert model.status == "development"
    assert AuditEvent.objects.filter(
        object_type="inventory.registeredmodel", object_id=str(model.pk), action="create"
    ).exists()


def test_governed_fields_cannot_be_edited_in_the_admin(client, admin_user, owned_model):
    client.force_login(admin_user)
    url = reverse("admin:inventory_registeredmodel_change", args=[owned_model.pk])
    form = client.get(url).context["adminform"].form
    for name in ("slug", "risk_tier", "eu_ai_act_class", "status", "retired_at"):
        assert name not in form.fields
    client.post(url, _form_data(owned_model, risk_tier=1, status="production"))
    owned_model.refresh_from_db()
    assert owned_model.risk_tier is None
    assert owned_model.status == "development"


def test_a_refused_delete_shows_the_reason_and_keeps_the_model(client, admin_user, owned_model):
    RegisteredModel.objects.filter(pk=owned_model.pk).update(status="validation")
    client.force_login(admin_user)
    url = reverse("admin:inventory_registeredmodel_delete", args=[owned_model.pk])
    response = client.post(url, {"post": "yes"}, follow=True)
    assert RegisteredModel.objects.filter(pk=owned_model.pk).exists()
    assert "retire it instead" in response.content.decode()
    assert not AuditEvent.objects.filter(action="delete").exists()


def test_an_admin_deletes_a_model_registered_by_mistake(client, admin_user, owned_model):
    client.force_login(admin_user)
    url = reverse("admin:inventory_registeredmodel_delete", args=[owned_model.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not RegisteredModel.objects.filter(pk=owned_model.pk).exists()
    assert AuditEvent.objects.filter(action="delete", object_id=str(owned_model.pk)).exists()


@pytest.mark.parametrize(
    "role",
    [roles.VALIDATOR, roles.BUSINESS_OWNER, roles.MODEL_OWNER, roles.AUDITOR, roles.VIEWER, None],
)
def test_other_roles_get_no_admin_access(client, role, owned_model):
    user = UserFactory(username=f"no-admin-{role}", roles=[role] if role else [])
    client.force_login(user)
    for url in (
        reverse("admin:index"),
        reverse("admin:inventory_registeredmodel_changelist"),
        reverse("admin:inventory_registeredmodel_change", args=[owned_model.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


def test_staff_status_without_the_admin_role_does_not_open_the_admin(client, owned_model):
    user = UserFactory(username="stale.staff", roles=[roles.VALIDATOR], is_staff=True)
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    url = reverse("admin:inventory_registeredmodel_change", args=[owned_model.pk])
    assert client.post(url, _form_data(owned_model, purpose="x")).status_code == 302
    owned_model.refresh_from_db()
    assert owned_model.purpose != "x"
