"""An incident is assigned only to someone who may work on it: the model's owner or a
developer, a validator or an administrator. Never an auditor, a viewer, the business owner
(who comments only) or the owner of another model; the picker, the form and the API agree."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.errors import ApplicationError
from apps.incidents import services
from apps.incidents.forms import IncidentUpdateForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(owned_model, validator):
    return services.incident_create(
        actor=validator, model=owned_model, title="Scores went flat", severity="sev3"
    )


@pytest.fixture
def developer(other_model_owner, owned_model):
    owned_model.developers.add(other_model_owner)
    return other_model_owner


@pytest.fixture
def stranger(db):
    from apps.core import roles
    from tests.factories import UserFactory

    return UserFactory(username="sam.stranger", roles=[roles.MODEL_OWNER])


def test_the_picker_offers_only_people_who_may_work_on_it(
    incident,
    model_owner,
    developer,
    validator,
    admin_user,
    auditor,
    viewer,
    business_owner,
    stranger,
):
    offered = set(IncidentUpdateForm(instance=incident).fields["assignee"].queryset)
    assert offered == {model_owner, developer, validator, admin_user}


@pytest.mark.parametrize("who", ["auditor", "viewer", "business_owner", "stranger"])
def test_the_service_refuses_anyone_else(request, incident, validator, who):
    person = request.getfixturevalue(who)
    with pytest.raises(ApplicationError, match="cannot work on this incident") as refused:
        services.incident_update(actor=validator, incident=incident, assignee=person)
    assert "assignee" in refused.value.field_errors
    incident.refresh_from_db()
    assert incident.assignee is None


def test_the_browser_form_refuses_a_tampered_choice(client, incident, validator, auditor):
    client.force_login(validator)
    url = reverse("incidents:incident_edit", kwargs={"reference": incident.reference})
    page = client.get(url).content.decode()
    assert 'data-choices="local"' in page and "aud.auditor" not in page
    data = {"title": incident.title, "severity": incident.severity, "assignee": auditor.pk}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "assignee" in response.context["form"].errors
    incident.refresh_from_db()
    assert incident.assignee is None


def test_the_api_refuses_an_auditor_and_accepts_the_owner(
    incident, validator, auditor, model_owner
):
    api = APIClient()
    api.force_authenticate(validator)
    url = f"/api/v1/incidents/{incident.reference}/"
    refused = api.patch(url, {"assignee": auditor.username}, format="json")
    assert refused.status_code == 400
    assert "cannot work on this incident" in str(refused.json())
    accepted = api.patch(url, {"assignee": model_owner.username}, format="json")
    assert accepted.status_code == 200, accepted.json()
    incident.refresh_from_db()
    assert incident.assignee == model_owner


def test_an_assignee_no_longer_eligible_is_kept_until_changed(incident, validator, auditor):
    from apps.incidents.models import Incident

    Incident.objects.filter(pk=incident.pk).update(assignee=auditor)
    incident.refresh_from_db()
    form = IncidentUpdateForm(instance=incident)
    assert auditor in form.fields["assignee"].queryset
