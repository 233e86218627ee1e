"""A finding is owned by someone who may remediate it: the model's owner, a developer or its
business owner, a validator or an administrator. Never an auditor, a viewer or the owner of
another model; the picker, the form and the service agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.reviews import services
from apps.reviews.forms import FindingCreateForm, FindingForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def stranger(db):
    from apps.core import roles
    from tests.factories import UserFactory

    return UserFactory(username="sam.stranger", roles=[roles.MODEL_OWNER])


def _finding(model, validator, owner):
    return services.finding_create(
        actor=validator,
        model=model,
        title="Calibration drift",
        severity="high",
        description="Scores over-predict in the top decile.",
        owner=owner,
        due_date=timezone.localdate() + dt.timedelta(days=30),
    )


def test_the_picker_offers_the_models_team_and_oversight(
    tier2_model, validator, model_owner, business_owner, admin_user, auditor, viewer, stranger
):
    finding = _finding(tier2_model, validator, model_owner)
    offered = set(FindingForm(instance=finding).fields["owner"].queryset)
    assert offered == {model_owner, business_owner, validator, admin_user}


def test_before_a_model_is_chosen_no_reader_is_offered(
    tier2_model, validator, model_owner, auditor, viewer
):
    from apps.inventory.models import RegisteredModel

    form = FindingCreateForm(models=RegisteredModel.objects.all())
    offered = set(form.fields["owner"].queryset)
    assert {model_owner, validator} <= offered
    assert not offered & {auditor, viewer}


@pytest.mark.parametrize("who", ["auditor", "viewer", "stranger"])
def test_the_service_refuses_anyone_else(request, tier2_model, validator, who):
    with pytest.raises(ApplicationError, match="cannot remediate") as refused:
        _finding(tier2_model, validator, request.getfixturevalue(who))
    assert "owner" in refused.value.field_errors


def test_the_create_form_checks_the_owner_against_the_chosen_model(
    client, tier2_model, validator, stranger
):
    client.force_login(validator)
    url = reverse("reviews:finding_create")
    page = client.get(url).content.decode()
    assert 'data-choices="local"' in page and "---------" not in page
    data = {
        "model": tier2_model.slug,
        "title": "Gap",
        "severity": "high",
        "description": "No drift alerting.",
        "owner": stranger.pk,
        "due_date": "2030-01-01",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "cannot remediate" in str(response.context["form"].errors["owner"])
