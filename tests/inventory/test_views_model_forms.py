"""Create and edit forms, lifecycle moves and the risk questionnaire in the browser."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps.approvals.models import ApprovalRequest
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.inventory import accountability, services
from apps.inventory.choices import LifecycleStatus, RiskAssessmentStatus
from apps.inventory.models import RegisteredModel, RiskAssessment
from tests.factories import BusinessUnitFactory, RegisteredModelFactory
from tests.inventory.seats import two_hats

CREATE = reverse("inventory:model_create")
ANSWERS = {
    "financial_exposure": "low",
    "customer_impact": "low",
    "regulatory_use": "low",
    "automation": "low",
    "complexity": "medium",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, slug: str = "owned-model", **kwargs) -> str:
    return reverse(f"inventory:{name}", kwargs={"slug": slug, **kwargs})


def _create_data(unit, owner, business_owner, **extra) -> dict:
    data = {
        "name": "Failed-delivery predictor",
        "slug": "failed-delivery",
        "purpose": "Predict which parcels will fail delivery.",
        "business_unit": unit.pk,
        "origin": "in_house",
        "owner": owner.pk,
        "business_owner": business_owner.pk,
        "model_type": "classification",
    }
    data.update(extra)
    return data


def _edit_data(model: RegisteredModel, **changes) -> dict:
    data = {
        "name": model.name,
        "purpose": model.purpose,
        "business_unit": model.business_unit_id,
        "origin": model.origin,
        "owner": model.owner_id,
        "business_owner": model.business_owner_id,
        "validator": model.validator_id or "",
        "model_type": model.model_type,
    }
    data.update(changes)
    return data


# --- create ------------------------------------------------------------------------------


def test_a_model_owner_registers_a_model(client, model_owner, business_owner):
    unit = BusinessUnitFactory()
    client.force_login(model_owner)
    assert client.get(CREATE).status_code == 200
    response = client.post(CREATE, _create_data(unit, model_owner, business_owner))
    assert response.status_code == 302
    model = RegisteredModel.objects.get(slug="failed-delivery")
    assert response["Location"] == model.get_absolute_url()
    assert model.created_by == model_owner
    assert AuditEvent.objects.filter(model_ref=model.pk, action="create").exists()


@pytest.mark.parametrize("persona", ["validator", "business_owner", "auditor", "viewer"])
def test_other_roles_cannot_register_models(client, db, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, {}).status_code == 403


def test_bad_input_gets_field_messages_and_writes_nothing(client, model_owner, business_owner):
    unit = BusinessUnitFactory()
    client.force_login(model_owner)
    events = AuditEvent.objects.count()
    response = client.post(
        CREATE, _create_data(unit, model_owner, business_owner, slug="Not A Slug", purpose="")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "slug" in form.errors and "purpose" in form.errors
    assert b"Please correct the fields marked below" in response.content
    assert b'aria-invalid="true"' in response.content
    assert not RegisteredModel.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_duplicate_slug_is_reported_on_the_slug_field(
    client, model_owner, business_owner, owned_model
):
    client.force_login(model_owner)
    response = client.post(
        CREATE,
        _create_data(owned_model.business_unit, model_owner, business_owner, slug="owned-model"),
    )
    assert response.status_code == 200
    assert "slug" in response.context["form"].errors
    assert RegisteredModel.objects.count() == 1


def test_people_choices_are_limited_to_the_matching_role(
    client, admin_user, model_owner, business_owner, validator, viewer
):
    client.force_login(model_owner)
    form = client.get(CREATE).context["form"]
    owners = set(form.fields["owner"].queryset)
    business_owners = set(form.fields["business_owner"].queryset)
    validators = set(form.fields["validator"].queryset)
    assert owners == {model_owner, admin_user}
    assert business_owners == {business_owner}
    assert validators == {validator}


def test_choosing_someone_without_the_role_is_refused(client, model_owner, viewer):
    unit = BusinessUnitFactory()
    client.force_login(model_owner)
    response = client.post(CREATE, _create_data(unit, model_owner, viewer))
    errors = response.context["form"].errors
    assert errors["business_owner"] == [accountability.choose(accountability.BUSINESS_OWNER)]
    assert not RegisteredModel.objects.exists()


def test_a_business_owner_who_owns_the_model_is_refused_on_the_field(client, admin_user):
    both = two_hats(roles.MODEL_OWNER, roles.BUSINESS_OWNER)
    client.force_login(admin_user)
    response = client.post(CREATE, _create_data(BusinessUnitFactory(), both, both))
    assert response.status_code == 200
    [message] = response.context["form"].errors["business_owner"]
    assert message.startswith("The business owner must be someone other than the model's owner")
    assert escape(message) in response.content.decode()
    assert not RegisteredModel.objects.exists()


# --- edit --------------------------------------------------------------------------------


def test_the_owner_edits_their_model(client, model_owner, owned_model):
    client.force_login(model_owner)
    assert client.get(url("model_edit")).status_code == 200
    response = client.post(url("model_edit"), _edit_data(owned_model, purpose="Sharper purpose."))
    assert response.status_code == 302
    owned_model.refresh_from_db()
    assert owned_model.purpose == "Sharper purpose."


@pytest.mark.parametrize("persona", ["auditor", "viewer"])
def test_read_only_roles_cannot_edit(client, request, owned_model, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("model_edit")).status_code == 403
    assert client.post(url("model_edit"), _edit_data(owned_model)).status_code == 403


def test_a_model_outside_reach_is_not_found_for_editing(client, model_owner, foreign_model):
    client.force_login(model_owner)
    assert client.get(url("model_edit", "foreign-model")).status_code == 404


def test_a_refusal_from_the_service_lands_on_the_field(
    client, model_owner, owned_model, business_owner
):
    other_bo = business_owner.__class__.objects.create(username="bo2")
    other_bo.groups.add(*business_owner.groups.all())
    client.force_login(model_owner)
    response = client.post(url("model_edit"), _edit_data(owned_model, business_owner=other_bo.pk))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Only validators and administrators can change this." in errors["business_owner"]
    owned_model.refresh_from_db()
    assert owned_model.business_owner == business_owner


def test_an_edit_keeps_people_named_before_the_rule(client, validator, viewer, auditor):
    legacy = RegisteredModelFactory(slug="legacy", owner=viewer, business_owner=auditor)
    client.force_login(validator)
    form = client.get(url("model_edit", "legacy")).context["form"]
    assert viewer in form.fields["owner"].queryset
    response = client.post(url("model_edit", "legacy"), _edit_data(legacy, purpose="Reworded."))
    assert response.status_code == 302
    legacy.refresh_from_db()
    assert (legacy.owner, legacy.business_owner, legacy.purpose) == (viewer, auditor, "Reworded.")


def test_an_invalid_edit_writes_nothing(client, model_owner, owned_model):
    client.force_login(model_owner)
    events = AuditEvent.objects.count()
    response = client.post(url("model_edit"), _edit_data(owned_model, name="x"))
    assert "name" in response.context["form"].errors
    owned_model.refresh_from_db()
    assert owned_model.name == "Owned model"
    assert AuditEvent.objects.count() == events


# --- lifecycle -----------------------------------------------------------------------------


def test_a_lifecycle_move_is_recorded(client, model_owner, owned_model):
    client.force_login(model_owner)
    response = client.post(url("model_transition"), {"target": "validation", "reason": ""})
    assert response.status_code == 302
    owned_model.refresh_from_db()
    assert owned_model.status == LifecycleStatus.VALIDATION


def test_a_refused_move_shows_the_services_message(client, validator, owned_model):
    owned_model.status = LifecycleStatus.VALIDATION
    owned_model.save()
    client.force_login(validator)
    response = client.post(url("model_transition"), {"target": "approved", "reason": ""})
    assert response.status_code == 200
    assert "target" in response.context["transition_form"].errors  # a sign-off, not offered
    response = client.post(url("model_transition"), {"target": "development", "reason": ""})
    assert response.status_code == 200
    assert b"Give a reason" in response.content
    owned_model.refresh_from_db()
    assert owned_model.status == LifecycleStatus.VALIDATION


def test_a_move_not_offered_is_rejected(client, model_owner, owned_model):
    client.force_login(model_owner)
    response = client.post(url("model_transition"), {"target": "production"})
    assert "target" in response.context["transition_form"].errors
    owned_model.refresh_from_db()
    assert owned_model.status == LifecycleStatus.DEVELOPMENT


@pytest.mark.parametrize(
    ("status", "offered", "default"),
    [
        ("development", ["validation", "retired"], "validation"),
        ("validation", ["", "retired", "development"], ""),
        ("approved", ["", "development"], ""),
        ("production", ["", "validation"], ""),
    ],
)
def test_the_lifecycle_form_never_defaults_to_a_step_back(
    client, validator, owned_model, status, offered, default
):
    """Forward first, the next step forward chosen, else nothing chosen; sign-offs are not
    offered (they are requested for approval)."""
    RegisteredModel.objects.filter(pk=owned_model.pk).update(status=status)
    client.force_login(validator)
    form = client.get(url("model_detail")).context["transition_form"]
    assert [value for value, _ in form.fields["target"].choices] == offered
    assert form["target"].value() == default


def test_taking_a_model_out_of_production_is_signed(client, validator, owned_model):
    from tests.approvals.helpers import PASSWORD

    RegisteredModel.objects.filter(pk=owned_model.pk).update(
        status="production", risk_tier=2, eu_ai_act_class="minimal"
    )
    client.force_login(validator)
    page = client.get(url("model_detail")).content.decode()
    assert 'name="password"' in page and 'data-confirm-values="validation"' in page
    data = {"target": "validation", "reason": "Recall fell below the floor."}
    response = client.post(url("model_transition"), data)
    assert b"The password is not correct" in response.content
    owned_model.refresh_from_db()
    assert owned_model.status == "production"
    response = client.post(url("model_transition"), {**data, "password": PASSWORD})
    assert response.status_code == 302
    owned_model.refresh_from_db()
    assert owned_model.status == "validation"
    event = AuditEvent.objects.filter(action="transition").latest("sequence")
    assert "Signed electronically by" in event.message


def test_moves_are_post_only_and_checked(client, viewer, model_owner, owned_model):
    client.force_login(model_owner)
    assert client.get(url("model_transition")).status_code == 405
    client.force_login(viewer)
    assert client.post(url("model_transition"), {"target": "validation"}).status_code == 403


# --- risk ----------------------------------------------------------------------------------


def test_the_questionnaire_records_a_suggestion(client, model_owner, owned_model):
    client.force_login(model_owner)
    response = client.post(url("risk_assess"), {**ANSWERS, "eu_ai_act_class": "minimal"})
    assert response.status_code == 302
    assessment = RiskAssessment.objects.get(model=owned_model)
    assert assessment.suggested_tier == 3


def test_an_incomplete_questionnaire_is_rejected(client, model_owner, owned_model):
    client.force_login(model_owner)
    response = client.post(
        url("risk_assess"), {"financial_exposure": "low", "eu_ai_act_class": "high_risk"}
    )
    assert response.status_code == 200
    errors = response.context["questionnaire"].errors
    assert "customer_impact" in errors and "eu_annex_iii_point" in errors
    assert not RiskAssessment.objects.exists()


def test_viewers_cannot_assess(client, viewer, owned_model):
    client.force_login(viewer)
    assert client.post(url("risk_assess"), ANSWERS).status_code == 403


def _assessment(actor, model, eu_class="minimal"):
    return services.risk_assessment_submit(
        actor=actor, model=model, answers=ANSWERS, eu_ai_act_class=eu_class
    )


def test_a_validator_proposes_the_suggested_tier(client, validator, model_owner, owned_model):
    assessment = _assessment(model_owner, owned_model)
    client.force_login(validator)
    response = client.post(
        url("risk_decide", pk=assessment.pk),
        {f"decide-{assessment.pk}-tier": "3", f"decide-{assessment.pk}-reason": ""},
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    owned_model.refresh_from_db()
    assert assessment.status == RiskAssessmentStatus.AWAITING_APPROVAL
    # The tier waits for a second validator's approval.
    assert owned_model.risk_tier is None
    request = ApprovalRequest.objects.get(subject_id=str(assessment.pk))
    page = client.get(url("model_risk"))
    assert page.status_code == 200
    assert b"Tier proposed, awaiting approval" in page.content
    assert request.get_absolute_url().encode() in page.content
    assert b"Propose tier" not in page.content


def test_the_risk_tab_offers_to_propose_a_tier(client, validator, model_owner, owned_model):
    _assessment(model_owner, owned_model)
    client.force_login(validator)
    page = client.get(url("model_risk"))
    assert b"Propose tier" in page.content
    assert b"Record decision" not in page.content


def test_an_override_without_reason_is_refused_on_the_field(
    client, validator, model_owner, owned_model
):
    assessment = _assessment(model_owner, owned_model)
    client.force_login(validator)
    response = client.post(
        url("risk_decide", pk=assessment.pk), {f"decide-{assessment.pk}-tier": "1"}
    )
    assert response.status_code == 200
    assert b"Give the reason for overriding" in response.content
    assessment.refresh_from_db()
    assert assessment.status == RiskAssessmentStatus.PENDING


def test_model_owners_cannot_decide(client, model_owner, validator, owned_model):
    assessment = _assessment(validator, owned_model)
    client.force_login(model_owner)
    response = client.post(
        url("risk_decide", pk=assessment.pk), {f"decide-{assessment.pk}-tier": "3"}
    )
    assert response.status_code == 403


def test_an_assessment_of_another_model_is_not_found(client, validator, owned_model):
    other = RegisteredModelFactory()
    assessment = _assessment(validator, other)
    client.force_login(validator)
    response = client.post(url("risk_decide", pk=assessment.pk), {})
    assert response.status_code == 404


def test_the_assessor_cannot_confirm_their_own_tier(client, validator, owned_model):
    assessment = _assessment(validator, owned_model)
    client.force_login(validator)
    response = client.post(
        url("risk_decide", pk=assessment.pk),
        {f"decide-{assessment.pk}-tier": "3", f"decide-{assessment.pk}-reason": ""},
    )
    assert response.status_code == 200
    assert b"another validator must confirm" in response.content
    assessment.refresh_from_db()
    assert assessment.status == RiskAssessmentStatus.PENDING
