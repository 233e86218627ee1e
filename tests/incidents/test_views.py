"""Incident pages: list with filters and deadlines, create, detail, forms, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.incidents import services
from apps.incidents.models import Incident
from tests.approvals.helpers import PASSWORD
from tests.factories import ModelVersionFactory, RegisteredModelFactory
from tests.monitoring.evaluation.helpers import day, ingest

pytestmark = pytest.mark.django_db

LIST = reverse("incidents:incident_list")


def _detail(incident) -> str:
    return reverse("incidents:incident_detail", kwargs={"reference": incident.reference})


def _make(model, actor, n: int, **kw) -> list[Incident]:
    return [
        services.incident_create(
            actor=actor, model=model, title=f"Incident {i}", severity="sev3", **kw
        )
        for i in range(n)
    ]


def test_the_list_shows_active_incidents_unless_filtered(client, validator, incident):
    closed = _make(incident.model, validator, 1)[0]
    services.incident_update(
        actor=validator, incident=closed, root_cause="x", corrective_actions="y"
    )
    for status in ("investigating", "resolved", "closed"):
        services.incident_transition(actor=validator, incident=closed, status=status)
    client.force_login(validator)
    content = client.get(LIST).content.decode()
    assert incident.reference in content and closed.reference not in content
    content = client.get(LIST, {"status": "closed"}).content.decode()
    assert closed.reference in content and incident.reference not in content
    content = client.get(LIST, {"q": ""}).content.decode()
    assert closed.reference in content and incident.reference in content


def test_the_list_filters_by_severity_serious_and_model(
    client, validator, owned_model, foreign_model, incident
):
    serious = services.incident_create(
        actor=validator,
        model=foreign_model,
        title="Refusals",
        severity="sev1",
        serious_category="fundamental_rights",
    )
    client.force_login(validator)
    got = client.get(LIST, {"severity": "sev1"}).content.decode()
    assert serious.reference in got and incident.reference not in got
    got = client.get(LIST, {"serious": "true"}).content.decode()
    assert serious.reference in got and incident.reference not in got
    got = client.get(LIST, {"model": owned_model.slug}).content.decode()
    assert incident.reference in got and serious.reference not in got


def test_an_overdue_deadline_is_red(client, validator, owned_model):
    late = services.incident_create(
        actor=validator,
        model=owned_model,
        title="Late",
        severity="sev1",
        serious_category="critical_infrastructure",
        awareness_at=timezone.now() - dt.timedelta(days=5),
        detected_at=timezone.now() - dt.timedelta(days=5),
    )
    client.force_login(validator)
    content = client.get(LIST).content.decode()
    assert late.reference in content
    assert 'badge badge--danger countdown">overdue by 3 days' in content
    assert "row--overdue" in content


def test_model_and_business_owners_see_only_their_models(
    client, model_owner, business_owner, validator, foreign_model, incident
):
    foreign = _make(foreign_model, validator, 1)[0]
    for user in (model_owner, business_owner):
        client.force_login(user)
        content = client.get(LIST).content.decode()
        assert incident.reference in content and foreign.reference not in content
        assert client.get(_detail(foreign)).status_code == 404


def test_opening_an_incident_by_hand(client, model_owner, owned_model, foreign_model):
    client.force_login(model_owner)
    page = client.get(reverse("incidents:incident_create"), {"model": owned_model.slug})
    assert page.status_code == 200
    assert page.context["form"].initial["model"] == owned_model
    assert list(page.context["form"].fields["model"].queryset) == [owned_model]
    response = client.post(
        reverse("incidents:incident_create"),
        {"model": owned_model.slug, "title": "Flat scores", "severity": "sev2"},
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == _detail(incident)
    assert incident.created_by == model_owner


def test_the_form_shows_service_refusals(client, validator, owned_model):
    client.force_login(validator)
    response = client.post(
        reverse("incidents:incident_create"),
        {"model": owned_model.slug, "title": "x", "severity": "sev2", "widespread": "on"},
    )
    assert response.status_code == 200
    assert "A widespread infringement is a serious incident" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_detail_shows_breaches_versions_and_timeline(client, viewer, make_threshold, v1, auc):
    make_threshold()
    ingest(v1, auc, [(day(0), 0.6)])
    incident = Incident.objects.get()
    client.force_login(viewer)
    content = client.get(_detail(incident)).content.decode()
    assert 'id="breach-table"' in content and "0.6" in content
    assert v1.version in content
    assert "opened by the threshold evaluation" in content
    assert "Breach" in content
    # A viewer reads only: no forms.
    assert "Add a comment" not in content and "Change status" not in content
    assert "Emergency rollback" not in content


def test_user_text_is_escaped(client, validator, owned_model):
    incident = services.incident_create(
        actor=validator, model=owned_model, title="<script>alert(1)</script>", severity="sev4"
    )
    services.incident_comment(actor=validator, incident=incident, text="<b>bold</b>")
    client.force_login(validator)
    content = client.get(_detail(incident)).content.decode()
    assert "<script>alert(1)</script>" not in content and "<b>bold</b>" not in content
    assert "&lt;b&gt;bold&lt;/b&gt;" in content


def test_comment_transition_and_edit_through_the_page(client, model_owner, incident):
    client.force_login(model_owner)
    url = reverse("incidents:incident_comment", kwargs={"reference": incident.reference})
    assert client.post(url, {"text": "Looking into it."}).status_code == 302
    url = reverse("incidents:incident_transition", kwargs={"reference": incident.reference})
    assert client.post(url, {"status": "investigating"}).status_code == 302
    refused = client.post(url, {"status": "resolved"})
    assert refused.status_code == 400
    assert "Record the root cause and the corrective actions" in refused.content.decode()
    edit = reverse("incidents:incident_edit", kwargs={"reference": incident.reference})
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {
            "title": incident.title,
            "severity": "sev2",
            "description": incident.description,
            "root_cause": "Bad deploy.",
            "corrective_actions": "Rolled forward.",
        },
    )
    assert response.status_code == 302
    assert client.post(url, {"status": "resolved"}).status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.severity) == ("resolved", "sev2")


def test_the_rollback_form_for_validators(client, validator, production_history, incident):
    client.force_login(validator)
    content = client.get(_detail(incident)).content.decode()
    assert "Roll back to 1.0.0" in content
    url = reverse("incidents:incident_rollback", kwargs={"reference": incident.reference})
    assert 'name="password"' in content and "data-confirm=" in content
    assert 'name="expected_version" value="1.0.0"' in content
    data = {"reason": "2.0.0 is broken.", "expected_version": "1.0.0"}
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "This field is required" in refused.content.decode()
    wrong = client.post(url, {**data, "password": "not-mine"})
    assert wrong.status_code == 400
    assert "The password is not correct" in wrong.content.decode()
    assert "not-mine" not in wrong.content.decode()
    incident.refresh_from_db()
    assert incident.rollback_request is None
    response = client.post(url, {**data, "password": PASSWORD})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.rollback_request is not None
    page = client.get(_detail(incident)).content.decode()
    assert "Request #" in page and "1.0.0 is back in production in place of 2.0.0" in page


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_is_constant(
    client, validator, owned_model, rows, django_assert_max_num_queries
):
    _make(owned_model, validator, rows, serious_category="health")
    client.force_login(validator)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200


ROLES = ("validator", "business_owner", "model_owner", "auditor")


@pytest.fixture
def worked_incident(production_history, make_threshold, auc, validator, model_owner):
    """An incident opened by a critical breach of production 2.0.0 on a model with a
    production history (so a validator is offered the rollback), worked on: comments, a
    status change, a second breach after a recovery."""
    _, new = production_history
    make_threshold()
    ingest(new, auc, [(day(0), 0.6)])
    incident = Incident.objects.get()
    services.incident_comment(actor=model_owner, incident=incident, text="Looking into it.")
    services.incident_transition(actor=validator, incident=incident, status="investigating")
    ingest(new, auc, [(day(1), 0.9)])
    ingest(new, auc, [(day(2), 0.6)])
    return incident


def _work_more_on(incident, validator, n: int = 5) -> None:
    """More of everything the page lists: comments, breaches (and with them timeline
    entries) and affected versions."""
    old = incident.model.versions.get(version="1.0.0")
    auc = incident.threshold.metric
    for i in range(n):
        services.incident_comment(actor=validator, incident=incident, text=f"Note {i}")
        ingest(old, auc, [(day(10 + 2 * i), 0.6)])
        ingest(old, auc, [(day(11 + 2 * i), 0.9)])
        incident.affected_versions.add(ModelVersionFactory(model=incident.model))


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ROLES)
def test_the_detail_query_count_is_constant(
    client, request, role, worked_incident, validator, django_assert_max_num_queries
):
    """At most 12 queries per role (the validator's page includes the rollback plan), and
    no more with more comments, breaches and affected versions."""
    client.force_login(request.getfixturevalue(role))
    url = _detail(worked_incident)
    client.get(url)
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    before = _queries(client, url)
    _work_more_on(worked_incident, validator)
    assert worked_incident.breaches.count() >= 7
    content = client.get(url).content.decode()
    assert "Note 4" in content
    assert _queries(client, url) == before


def test_the_detail_offers_each_role_its_actions(
    client, worked_incident, validator, business_owner, model_owner, auditor
):
    """What the page offers: validators everything and the rollback to the previous
    production version, the model owner the edit, status and comment forms, the business
    owner comments, the auditor nothing."""
    url = _detail(worked_incident)
    offers = {
        validator: {"Edit", "Add a comment", "Change status", "Roll back to 1.0.0"},
        model_owner: {"Edit", "Add a comment", "Change status"},
        business_owner: {"Add a comment"},
        auditor: set(),
    }
    everything = set().union(*offers.values())
    for user, offered in offers.items():
        client.force_login(user)
        content = client.get(url).content.decode()
        assert 'id="breach-table"' in content and "Looking into it." in content
        for text in everything:
            shown = text in content if text != "Edit" else "/edit/" in content
            assert shown == (text in offered), (user, text)


def test_no_rollback_plan_for_a_closed_incident(client, validator, worked_incident):
    """The rollback is offered (and worked out) only while the incident is active."""
    services.incident_update(
        actor=validator, incident=worked_incident, root_cause="x", corrective_actions="y"
    )
    for status in ("resolved", "closed"):
        services.incident_transition(actor=validator, incident=worked_incident, status=status)
    client.force_login(validator)
    content = client.get(_detail(worked_incident)).content.decode()
    assert "Emergency rollback" not in content and "Roll back to" not in content


def test_saving_the_edit_form_unchanged_changes_nothing(client, validator, owned_model):
    incident = services.incident_create(
        actor=validator,
        model=owned_model,
        title="Serious",
        severity="sev1",
        serious_category="health",
    )
    client.force_login(validator)
    edit = reverse("incidents:incident_edit", kwargs={"reference": incident.reference})
    form = client.get(edit).context["form"]
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data["awareness_at"] = timezone.localtime(incident.awareness_at).strftime("%Y-%m-%dT%H:%M")
    data["widespread"] = ""
    assert client.post(edit, data).status_code == 302
    assert list(incident.events.values_list("kind", flat=True)) == ["created"]


def test_the_model_filter_never_lists_the_inventory(
    client, validator, owned_model, incident, django_assert_max_num_queries
):
    """A type-ahead box, not a <select> of every model: the page's size and query count do
    not grow with the inventory."""
    client.force_login(validator)
    few = client.get(LIST).content
    RegisteredModelFactory.create_batch(40)
    with django_assert_max_num_queries(12):
        many = client.get(LIST).content
    assert len(many) == len(few)
    page = many.decode()
    assert 'data-suggest-url="/inventory/models/suggest.json"' in page
    assert "<option" not in page.split('name="model"')[1].split("</datalist>")[0]


def test_the_model_filter_searches_by_name_or_slug_without_javascript(
    client, validator, owned_model, foreign_model, incident
):
    other = services.incident_create(
        actor=validator, model=foreign_model, title="Elsewhere", severity="sev4"
    )
    client.force_login(validator)
    for typed in ("owned-model", "OWNED", "wned mod"):
        got = client.get(LIST, {"model": typed}).content.decode()
        assert incident.reference in got and other.reference not in got, typed
    # An exact slug keeps that model only, even where it is part of another's slug.
    longer = RegisteredModelFactory(slug="owned-model-two", name="Second")
    third = services.incident_create(actor=validator, model=longer, title="T", severity="sev4")
    got = client.get(LIST, {"model": "owned-model"}).content.decode()
    assert incident.reference in got and third.reference not in got


def test_the_model_filter_never_reaches_models_out_of_reach(
    client, model_owner, validator, owned_model, foreign_model
):
    hidden = services.incident_create(
        actor=validator, model=foreign_model, title="Hidden", severity="sev4"
    )
    client.force_login(model_owner)
    got = client.get(LIST, {"model": "foreign-model", "status": ""}).content.decode()
    assert hidden.reference not in got


def test_the_new_incident_form_never_lists_the_inventory(
    client, validator, owned_model, foreign_model, django_assert_max_num_queries
):
    client.force_login(validator)
    url = reverse("incidents:incident_create")
    few = client.get(url, {"model": owned_model.slug}).content
    RegisteredModelFactory.create_batch(30)
    with django_assert_max_num_queries(12):
        many = client.get(url, {"model": owned_model.slug}).content
    assert len(many) == len(few)
    page = many.decode()
    assert 'value="owned-model"' in page and "foreign-model" not in page


def test_a_model_out_of_reach_is_refused_by_slug(client, model_owner, owned_model, foreign_model):
    client.force_login(model_owner)
    response = client.post(
        reverse("incidents:incident_create"),
        {"model": foreign_model.slug, "title": "x", "severity": "sev2"},
    )
    assert response.status_code == 200
    assert "No model you may open an incident on has this slug." in response.content.decode()
    assert not Incident.objects.exists()
