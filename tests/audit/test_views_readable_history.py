"""The audit log and a model's History tab read like a record for people: object types by
name, objects and models linked, ids in changes named, governance events by default with a
toggle to every event, a model filter with a type-ahead; in constant queries."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.urls import reverse

from apps.audit import kinds
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.inventory import services
from tests.factories import DatasetFactory, ModelVersionFactory, RegisteredModelFactory
from tests.monitoring.factories import ThresholdFactory

pytestmark = pytest.mark.django_db
LIST = reverse("audit:event_list")


def record(actor, obj=None, *, action=AuditEvent.Action.UPDATE, model=None, **kwargs):
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=action,
            obj=obj,
            model_ref=model.pk if model is not None else None,
            **kwargs,
        )


def automated(model, n: int = 1):
    """Drift runs and an ingestion batch as the jobs record them (no person behind them)."""
    for i in range(n):
        record(
            None,
            action=AuditEvent.Action.CREATE,
            object_type="monitoring.driftrun",
            object_id=str(1000 + i),
            object_repr=f"Drift run {i}",
            model=model,
        )


def mixed_page(admin_user, model, rounds: int):
    """Events of many kinds about one model: its edits, a version, a dataset, a threshold whose
    change names the model and version by id, and automated ones between."""
    for i in range(rounds):
        services.registered_model_update(actor=admin_user, model=model, purpose=f"P{i}")
        version = ModelVersionFactory(model=model, version=f"1.{i}.0")
        record(admin_user, version, model=model, changes={"stage": {"before": "", "after": "x"}})
        dataset = DatasetFactory()
        record(admin_user, dataset, changes={"name": {"before": "a", "after": "b"}})
        threshold = ThresholdFactory(model=model, version=version)
        record(
            admin_user,
            threshold,
            action=AuditEvent.Action.CREATE,
            model=model,
            changes={
                "model": {"before": None, "after": model.pk},
                "version": {"before": None, "after": version.pk},
            },
        )
        automated(model)


def rows(response):
    return response.context["events"]


def test_it_names_types_links_objects_and_names_ids_in_changes(client, auditor, admin_user):
    model = RegisteredModelFactory(name="Failed-delivery predictor", slug="failed-delivery")
    mixed_page(admin_user, model, 1)
    client.force_login(auditor)
    response = client.get(LIST)
    body = response.content.decode()
    threshold_row = next(r for r in rows(response) if r.event.object_type == "monitoring.threshold")
    assert threshold_row.type_label == "Threshold"
    assert threshold_row.url == reverse(
        "monitoring:threshold_detail",
        kwargs={"slug": "failed-delivery", "pk": int(threshold_row.event.object_id)},
    )
    named = {c.field: c.after for c in threshold_row.changes}
    assert named == {"model": "Failed-delivery predictor", "version": "1.0.0"}
    assert not re.search(r"model: \d", body) and "monitoring.threshold:" not in body
    assert f'href="{model.get_absolute_url()}"' in body
    version_row = next(r for r in rows(response) if r.event.object_type == "inventory.modelversion")
    assert version_row.type_label == "Model version"
    assert version_row.url == reverse(
        "inventory:version_detail", kwargs={"slug": "failed-delivery", "version": "1.0.0"}
    )
    dataset_row = next(r for r in rows(response) if r.event.object_type == "inventory.dataset")
    dataset = dataset_row.event.object_repr
    assert dataset_row.url == reverse(
        "inventory:dataset_detail",
        kwargs={
            "slug": DatasetFactory._meta.model.objects.get(pk=dataset_row.event.object_id).slug
        },
    ), dataset


def test_governance_events_show_by_default_and_automated_ones_on_asking(
    client, auditor, admin_user, owned_model
):
    services.registered_model_update(actor=admin_user, model=owned_model, purpose="Decided.")
    automated(owned_model, 3)
    client.force_login(auditor)
    shown = rows(client.get(LIST))
    assert [r.event.object_type for r in shown] == ["inventory.registeredmodel"]
    everything = client.get(LIST, {"scope": "all"})
    assert len(rows(everything)) == 4
    assert sum(r.automated for r in rows(everything)) == 3
    body = everything.content.decode()
    assert "Drift run" in body and "Automated" in body and "mlgov (automatic)" in body
    # The toggle is kept by the other filters and by the page links.
    assert rows(client.get(LIST, {"scope": "all", "model": owned_model.slug}))
    assert 'value="all" class="scope-toggle"' in body or 'value="all"' in body


def test_sign_ins_and_data_feeds_by_a_person_are_not_governance(client, auditor, admin_user):
    model = RegisteredModelFactory()
    record(admin_user, admin_user, action=AuditEvent.Action.LOGIN)
    record(
        admin_user,
        object_type="monitoring.ingestionbatch",
        object_id="7",
        object_repr="Batch 7",
        action=AuditEvent.Action.CREATE,
        model=model,
    )
    client.force_login(auditor)
    assert rows(client.get(LIST)) == []
    assert "Show automated events too" in client.get(LIST).content.decode()
    assert len(rows(client.get(LIST, {"scope": "all"}))) == 2


def test_the_governance_filter_and_the_python_twin_agree(admin_user, owned_model):
    record(admin_user, owned_model, model=owned_model)
    record(admin_user, admin_user, action=AuditEvent.Action.LOGIN_FAILED)
    automated(owned_model, 2)
    governance = set(AuditEvent.objects.filter(kinds.governance_q()).values_list("pk", flat=True))
    for event in AuditEvent.objects.all():
        twin = not kinds.is_automated(
            actor_id=event.actor_id, object_type=event.object_type, action=event.action
        )
        assert twin == (event.pk in governance)


def test_every_automated_type_names_an_installed_model():
    from django.apps import apps

    for object_type in kinds.AUTOMATED_TYPES:
        assert apps.get_model(object_type)
        assert kinds.type_label(object_type) != object_type
    assert kinds.type_label("gone.model") == "gone.model"


def test_the_model_filter_offers_a_type_ahead_and_keeps_to_the_model(
    client, auditor, admin_user, owned_model
):
    other = RegisteredModelFactory(slug="other-model")
    services.registered_model_update(actor=admin_user, model=owned_model, purpose="Mine.")
    services.registered_model_update(actor=admin_user, model=other, purpose="Theirs.")
    client.force_login(auditor)
    page = client.get(LIST)
    assert f'data-suggest-url="{reverse("inventory:model_suggest")}"' in page.content.decode()
    only = rows(client.get(LIST, {"model": owned_model.slug}))
    assert [r.event.model_ref for r in only] == [owned_model.pk]


@pytest.mark.parametrize("rounds", [2, 8])
def test_a_page_of_every_kind_costs_constant_queries(
    client, auditor, admin_user, rounds, django_assert_max_num_queries
):
    model = RegisteredModelFactory()
    mixed_page(admin_user, model, rounds)
    client.force_login(auditor)
    with django_assert_max_num_queries(12):
        assert client.get(LIST, {"scope": "all"}).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(LIST, {"model": model.slug, "scope": "all"}).status_code == 200


def test_the_history_tab_shows_decisions_and_toggles_to_everything(
    client, auditor, admin_user, django_assert_max_num_queries
):
    model = RegisteredModelFactory(slug="churn")
    mixed_page(admin_user, model, 8)  # 32 events about the model: more than a page
    url = reverse("inventory:model_history", args=["churn"])
    client.force_login(auditor)
    with django_assert_max_num_queries(12):
        decisions = client.get(url)
    assert decisions.context["scope"] == "governance"
    assert not any(r.automated for r in rows(decisions))
    assert "Drift run" not in decisions.content.decode()
    with django_assert_max_num_queries(12):
        everything = client.get(url, {"scope": "all"})
    assert any(r.automated for r in rows(everything))
    body = everything.content.decode()
    assert 'aria-current="true">All events' in body
    assert "Threshold:" in body and "Model version:" in body
    # Older pages keep the scope.
    assert "scope=all" in body.split('rel="next"')[0].rsplit("href=", 1)[-1]


def test_user_text_is_escaped(client, auditor, admin_user):
    model = RegisteredModelFactory(name="<script>alert(1)</script>")
    record(admin_user, model, model=model, changes={"model": {"before": None, "after": model.pk}})
    client.force_login(auditor)
    body = client.get(LIST).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_choice_codes_and_field_names_read_as_the_models_labels(client, auditor, admin_user):
    model = RegisteredModelFactory()
    threshold = ThresholdFactory(model=model)
    record(
        admin_user,
        threshold,
        model=model,
        changes={
            "status": {"before": "pending_signoff", "after": "active"},
            "reminder": {"before": None, "after": "review_due:30"},
        },
    )
    client.force_login(auditor)
    (row,) = rows(client.get(LIST))
    changes = {c.field: (c.before, c.after) for c in row.changes}
    status_field = threshold._meta.get_field("status")
    labels = dict(status_field.flatchoices)
    assert changes[str(status_field.verbose_name)] == (
        labels["pending_signoff"],
        labels["active"],
    )
    assert changes["reminder"] == (None, "review_due:30")


def test_a_change_named_like_a_reverse_relation_keeps_its_name(client, auditor, admin_user):
    model = RegisteredModelFactory()
    record(
        admin_user,
        model,
        model=model,
        changes={
            "incidents": {"before": None, "after": 2},
            "developers": {"before": [], "after": [admin_user.pk]},
        },
    )
    client.force_login(auditor)
    for scope in ("governance", "all"):
        (row,) = rows(client.get(LIST, {"scope": scope}))
        changes = {c.field: c.after for c in row.changes}
        assert changes["incidents"] == 2
        assert admin_user.username in str(list(changes.values()))
    history = client.get(reverse("inventory:model_history", args=[model.slug]), {"scope": "all"})
    assert history.status_code == 200


def test_object_references_lists_and_hashes_read_as_words(client, auditor, admin_user):
    # As an approval request's creation is recorded: its subject as "app.model:pk", its
    # required slots as a list, its content hash under a field the model does not declare.
    model = RegisteredModelFactory()
    record(
        admin_user,
        model,
        model=model,
        action=AuditEvent.Action.CREATE,
        changes={
            "subject": {"before": None, "after": "inventory.modelversion:17"},
            "required_slots": {"before": None, "after": ["business_owner", "validator"]},
            "content_sha256": {"before": None, "after": "ab" * 32},
            "gone": {"before": None, "after": "nothing.here:3"},
        },
    )
    client.force_login(auditor)
    (row,) = rows(client.get(LIST))
    changes = {c.field: c.after for c in row.changes}
    assert changes["subject"] == "Model version #17"
    assert changes["required slots"] == "Named business owner, Validator"
    assert changes["content SHA-256"] == "ab" * 32
    assert changes["gone"] == "nothing.here:3"
    # A declared field whose name Django turned into words ("content sha256") too.
    assert kinds.field_label("approvals.approvalrequest", "content_sha256") == "content SHA-256"


def test_a_decisions_codes_and_structured_values_read_as_words(client, auditor, admin_user):
    # As a decision is recorded on its request: verdict and slot are the decision's fields
    # (not the request's), the signature a structured note.
    model = RegisteredModelFactory()
    record(
        admin_user,
        object_type="approvals.approvalrequest",
        object_id="7",
        object_repr="Validation sign-off",
        model=model,
        action=AuditEvent.Action.DECIDE,
        changes={
            "verdict": {"before": None, "after": "reject"},
            "slot": {"before": None, "after": "business_owner"},
            "signature": {
                "before": None,
                "after": {"method": "provider", "issuer": "https://idp.example", "note": None},
            },
        },
    )
    client.force_login(auditor)
    (row,) = rows(client.get(LIST))
    changes = {c.field: c.after for c in row.changes}
    assert changes["verdict"] == "Reject"
    assert changes["slot"] == "Named business owner"
    assert changes["signature"] == "note: —; issuer: https://idp.example; method: provider"
    assert "{" not in client.get(LIST).content.decode().split("<main", 1)[1]
