"""The upload form's model box: a type-ahead by slug, never a list of the inventory."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.monitoring.models import IngestionBatch
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db
URL = reverse("monitoring:batch_create")


def test_the_upload_form_never_lists_the_inventory(
    client, model_owner, owned_model, foreign_model, django_assert_max_num_queries
):
    client.force_login(model_owner)
    RegisteredModelFactory.create_batch(5, owner=model_owner)
    few = client.get(URL, {"model": owned_model.slug}).content
    RegisteredModelFactory.create_batch(55, owner=model_owner)
    RegisteredModelFactory.create_batch(5)
    with django_assert_max_num_queries(12):
        many = client.get(URL, {"model": owned_model.slug}).content
    assert len(many) == len(few)
    page = many.decode()
    assert 'value="owned-model"' in page and 'data-suggest-url="' in page
    assert "<option" not in page.split('name="model"')[1].split("</datalist>")[0]
    assert "foreign-model" not in page


def test_a_model_the_user_may_not_push_to_is_refused_by_slug(
    client, model_owner, owned_model, foreign_model
):
    client.force_login(model_owner)
    csv = b"model,metric,value,timestamp\n"
    for slug in ("foreign-model", "no-such-model"):
        upload = SimpleUploadedFile("m.csv", csv, content_type="text/csv")
        response = client.post(URL, {"file": upload, "model": slug})
        assert response.status_code in (200, 400)
        errors = response.context["form"].errors
        assert errors["model"] == [f"No model you may push to has the slug “{slug}”."]
    assert not IngestionBatch.objects.exists()
    # Nor is it preselected from the address.
    page = client.get(URL, {"model": "foreign-model"}).content.decode()
    assert "foreign-model" not in page
