"""Requests and stage moves are offered only when they would succeed: the version page's
buttons, its stage choices and the Approvals tab's request form ask the same rules as the
approval engine and the stage service (``request_refusals``, ``stage_move_refusal``)."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from django.urls import reverse

from apps.approvals import services as approval_services
from apps.approvals.choices import ApprovalKind
from apps.core.errors import ApplicationError
from apps.inventory.approvals import request_refusals
from apps.inventory.choices import LifecycleStatus, VersionStage
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _model(owned_model, status, tier=2, eu="minimal"):
    owned_model.status = status
    owned_model.risk_tier = tier
    owned_model.eu_ai_act_class = eu
    owned_model.save()
    return owned_model


def _version_page(client, model, version) -> str:
    url = reverse(
        "inventory:version_detail", kwargs={"slug": model.slug, "version": version.version}
    )
    return client.get(url).content.decode()


def test_a_model_in_development_offers_no_validation_and_says_why(client, model_owner, owned_model):
    model = _model(owned_model, LifecycleStatus.DEVELOPMENT)
    version = ModelVersionFactory(model=model, version="1.0.0")
    client.force_login(model_owner)
    page = _version_page(client, model, version)
    assert "Request validation sign-off</a>" not in page
    assert "Request promotion</a>" not in page
    assert "move it to validation first" in page
    assert 'value="production"' not in page  # production is a promotion, never a move


def test_a_model_in_validation_offers_the_validation_sign_off(client, model_owner, owned_model):
    model = _model(owned_model, LifecycleStatus.VALIDATION)
    version = ModelVersionFactory(model=model, version="1.0.0")
    client.force_login(model_owner)
    page = _version_page(client, model, version)
    assert "Request validation sign-off</a>" in page
    assert "Request promotion</a>" not in page  # needs the model approved first
    assert "once the model is approved" in page


def test_the_approvals_tab_offers_only_what_the_engine_accepts(client, model_owner, owned_model):
    model = _model(owned_model, LifecycleStatus.DEVELOPMENT)
    ModelVersionFactory(model=model, version="1.0.0")
    client.force_login(model_owner)
    url = reverse("approvals:model_approvals", kwargs={"slug": model.slug})
    page = client.get(url).content.decode()
    assert f'value="{ApprovalKind.VALIDATION_SIGNOFF}"' not in page
    assert f'value="{ApprovalKind.PROMOTION}"' not in page
    assert f'value="{ApprovalKind.RETIREMENT}"' in page
    assert 'id="request-unavailable"' in page and "move it to validation first" in page
    # A request crafted anyway is refused on the form: the kind is not on offer.
    response = client.post(
        reverse("approvals:request_create", kwargs={"slug": model.slug}),
        {"kind": ApprovalKind.VALIDATION_SIGNOFF, "version": "1.0.0"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_a_waiting_request_is_not_offered_again(client, model_owner, owned_model):
    model = _model(owned_model, LifecycleStatus.VALIDATION)
    version = ModelVersionFactory(model=model, version="1.0.0")
    approval_services.approval_request_create(
        actor=model_owner, kind=ApprovalKind.VALIDATION_SIGNOFF, subject=version
    )
    client.force_login(model_owner)
    page = _version_page(client, model, version)
    assert "Request validation sign-off</a>" not in page
    assert "already waiting for approval" in page


STATUSES = list(LifecycleStatus.values)
STAGES = [VersionStage.DEVELOPMENT, VersionStage.STAGING, VersionStage.PRODUCTION]


@pytest.mark.parametrize(("status", "tier"), list(itertools.product(STATUSES, [1, 3, None])))
def test_the_offer_and_the_engine_agree_in_every_state(status, tier, model_owner, owned_model):
    """For each status, tier and version stage: offered (no refusal) exactly when the engine
    accepts the request, with the same reason when it refuses."""
    model = _model(owned_model, status, tier=tier, eu="minimal" if tier else "unassessed")
    versions = [
        ModelVersionFactory(model=model, version=f"1.{i}.0", stage=stage)
        for i, stage in enumerate(STAGES)
    ]
    refusals = request_refusals(user=model_owner, model=model, versions=versions)
    asks = [(kind, v) for v in versions for kind in (ApprovalKind.VALIDATION_SIGNOFF, "promotion")]
    asks.append((ApprovalKind.RETIREMENT, model))
    for kind, subject in asks:
        with transaction.atomic():
            sid = transaction.savepoint()
            try:
                approval_services.approval_request_create(
                    actor=model_owner, kind=kind, subject=subject, justification="Because."
                )
            except ApplicationError as exc:
                engine = exc.message
            else:
                engine = None
            transaction.savepoint_rollback(sid)
        assert refusals[(kind, subject.pk)] == engine, (kind, subject)


def test_the_version_page_reads_a_constant_number_of_queries(
    client, model_owner, owned_model, django_assert_max_num_queries
):
    model = _model(owned_model, LifecycleStatus.APPROVED, tier=1)
    versions = [ModelVersionFactory(model=model, version=f"2.{i}.0") for i in range(6)]
    client.force_login(model_owner)
    with django_assert_max_num_queries(12):
        _version_page(client, model, versions[0])
    url = reverse("approvals:model_approvals", kwargs={"slug": model.slug})
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
