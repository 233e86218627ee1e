"""Browser forms that name another object (a model by slug, a user by username, datasets,
business units) refuse control characters before the lookup: PostgreSQL refuses NUL in a
query, which used to escape the form as a server error instead of a message on the field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import User
from apps.core.forms import ReferenceChoiceField, ReferenceMultipleChoiceField
from apps.inventory.forms import JSONObjectField
from apps.inventory.models import RegisteredModel
from apps.reports.models import Report

pytestmark = pytest.mark.django_db


def test_a_single_reference_refuses_a_nul_before_the_lookup(owned_model):
    field = ReferenceChoiceField(queryset=RegisteredModel.objects.all(), to_field_name="slug")
    assert field.clean(owned_model.slug) == owned_model
    with pytest.raises(ValidationError, match="NUL"):
        field.clean(f"{owned_model.slug}\x00")


def test_several_references_refuse_a_control_character_in_any_of_them(validator):
    field = ReferenceMultipleChoiceField(queryset=User.objects.all(), to_field_name="username")
    assert list(field.clean([validator.username])) == [validator]
    with pytest.raises(ValidationError, match="U\\+001B"):
        field.clean([validator.username, "someone\x1b"])


def test_a_json_object_typed_in_a_form_refuses_what_the_database_cannot_store():
    field = JSONObjectField(example='{"depth": 6}')
    assert field.clean('{"depth": 6}') == {"depth": 6}
    with pytest.raises(ValidationError, match="NUL"):
        field.clean('{"depth": "\\u0000"}')


def test_the_report_form_answers_a_nul_in_the_model_with_a_message(client, auditor, owned_model):
    client.force_login(auditor)
    response = client.post(
        "/reports/", {"report": "model_card:pdf", "model": f"{owned_model.slug}\x00"}
    )
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert not Report.objects.exists()
