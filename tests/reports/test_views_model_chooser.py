"""The reports page's model boxes (the request form's and the list filter's): a type-ahead
by slug, never a list of the inventory."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.reports.models import Report
from tests.factories import RegisteredModelFactory
from tests.reports.jobs import fake_generation

pytestmark = pytest.mark.django_db
LIST = reverse("reports:report_list")


def test_the_reports_page_never_lists_the_inventory(
    client, auditor, owned_model, django_assert_max_num_queries
):
    client.force_login(auditor)
    # One business unit throughout: the register's unit box lists the units (not models).
    unit = {"business_unit": owned_model.business_unit}
    RegisteredModelFactory.create_batch(5, **unit)
    few = client.get(LIST).content
    RegisteredModelFactory.create_batch(55, **unit)
    with django_assert_max_num_queries(12):
        many = client.get(LIST).content
    assert len(many) == len(few)
    page = many.decode()
    for box in ('id="id_model"', 'id="filter-model"'):
        assert box in page, box
        assert "<option" not in page.split(box)[1].split("</datalist>")[0]
    assert page.count('data-suggest-url="/inventory/models/suggest.json"') == 2


def test_a_card_is_asked_for_by_slug_and_an_unknown_one_refused(
    client, auditor, owned_model, django_capture_on_commit_callbacks
):
    client.force_login(auditor)
    response = client.post(LIST, {"report": "model_card:pdf", "model": "no-such-model"})
    assert response.status_code == 400
    assert response.context["form"].errors["model"] == [
        "No model you see has the slug “no-such-model”."
    ]
    assert not Report.objects.exists()
    with fake_generation(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST, {"report": "model_card:pdf", "model": "owned-model"})
    assert response.status_code == 302
    assert Report.objects.get().model == owned_model


def test_a_model_out_of_reach_is_refused_by_slug(client, model_owner, owned_model, foreign_model):
    client.force_login(model_owner)
    response = client.post(LIST, {"report": "model_card:pdf", "model": "foreign-model"})
    assert response.status_code == 400
    assert response.context["form"].errors["model"] == [
        "No model you see has the slug “foreign-model”."
    ]
    assert not Report.objects.exists()
