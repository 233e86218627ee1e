"""The Incidents tab of the model page, registered by the incidents app."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.inventory.health_data import add_incident

ROLES = ["admin_user", "validator", "business_owner", "model_owner", "auditor", "viewer"]


def url(slug: str = "owned-model") -> str:
    return reverse("incidents:model_incidents", kwargs={"slug": slug})


@pytest.mark.parametrize("role", ROLES)
def test_everyone_who_sees_the_model_sees_its_incidents_open_first(
    client, request, owned_model, role
):
    add_incident(owned_model, status="closed", title="Old outage")
    add_incident(owned_model, status="investigating", title="Recall collapsed")
    client.force_login(request.getfixturevalue(role))
    response = client.get(url())
    assert response.status_code == 200
    body = response.content.decode()
    assert 'aria-current="page">Incidents' in body
    assert body.index("Recall collapsed") < body.index("Old outage")


def test_the_tab_is_listed_on_every_model_tab(client, viewer, owned_model):
    client.force_login(viewer)
    body = client.get(reverse("inventory:model_detail", args=[owned_model.slug])).content.decode()
    assert f'href="{url()}"' in body


def test_a_model_out_of_reach_answers_404(client, model_owner, foreign_model):
    add_incident(foreign_model, title="Not yours")
    client.force_login(model_owner)
    assert client.get(url(foreign_model.slug)).status_code == 404


def test_responders_are_offered_to_open_one_and_readers_are_not(
    client, model_owner, viewer, owned_model
):
    client.force_login(model_owner)
    assert "Open an incident" in client.get(url()).content.decode()
    client.force_login(viewer)
    assert "Open an incident" not in client.get(url()).content.decode()


def test_a_model_without_incidents_says_so(client, viewer, owned_model):
    client.force_login(viewer)
    assert "No incident has been recorded" in client.get(url()).content.decode()


def test_titles_are_escaped(client, viewer, owned_model):
    add_incident(owned_model, title="<script>alert(1)</script>")
    client.force_login(viewer)
    body = client.get(url()).content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("role", ["validator", "model_owner"])
def test_queries_do_not_grow_with_incidents(
    client, request, owned_model, role, django_assert_max_num_queries
):
    for i in range(3):
        add_incident(owned_model, title=f"Incident {i}")
    client.force_login(request.getfixturevalue(role))
    with django_assert_max_num_queries(12) as few:
        assert client.get(url()).status_code == 200
    queries = len(few.captured_queries)
    for i in range(30):
        add_incident(owned_model, serious=i % 2 == 0, status="closed" if i % 3 else "open")
    with django_assert_max_num_queries(queries):
        response = client.get(url())
    assert response.status_code == 200
