"""The other signed actions under single sign-on, against the real OpenID provider: an
incident's emergency rollback, taking a version out of production and a signed lifecycle
move of a model. A validator who signs in only through the provider (no password in mlgov)
signs each by signing in there again, in the browser and through the API, and each record
states the method, the issuer and the provider's auth_time. A stale re-authentication,
another person's token, or a change of what the person saw while they were at the provider
does nothing and is audited as a refused signature; a challenge is used once, for its own
object and action.

Helpers and the provider come from the approvals' signature tests (``test_signatures``).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import User
from apps.approvals.choices import ApprovalKind
from apps.audit.models import AuditEvent
from apps.incidents import services as incident_services
from apps.incidents.choices import EventKind
from apps.inventory import services as inventory_services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion, RegisteredModel
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory
from tests.identity.test_sign_in import PASSWORD, _sign_in
from tests.identity.test_signatures import _api, _finish, _fresh_token

pytestmark = pytest.mark.django_db

PENDING = "mlgov_pending_signatures"


@pytest.fixture
def vera(client, browser, sso):
    """Vera, a validator at the provider, signed in to mlgov through it (no password)."""
    sso.set_user(
        "vera",
        password=PASSWORD,
        email="vera@bank.example",
        given_name="Vera",
        family_name="Valid",
        groups=["mlgov-validators"],
    )
    _sign_in(client, browser, "vera")
    user = User.objects.get(provider_identities__subject="vera")
    assert not user.has_usable_password()
    return user


@pytest.fixture
def owner(db):
    return UserFactory(username="omar", roles=["model_owner"])


@pytest.fixture
def live_model(owner):
    """A Tier 1 model in production with 2.0.0, where 1.0.0 was in production before."""
    model = RegisteredModelFactory(
        slug="sso-live",
        name="Sso live",
        owner=owner,
        risk_tier=1,
        eu_ai_act_class=EUAIActClass.MINIMAL,
        status=LifecycleStatus.APPROVED,
    )
    admin = UserFactory(username="ada", roles=["admin"])
    for number in ("1.0.0", "2.0.0"):
        version = ModelVersionFactory(model=model, version=number)
        with transaction.atomic():
            inventory_services.promote_version(actor=admin, version=version, message="Release.")
    return RegisteredModel.objects.get(pk=model.pk)


@pytest.fixture
def revalidating(live_model):
    """The live model moved out of production for revalidation: its production version may
    now be taken out of production."""
    RegisteredModel.objects.filter(pk=live_model.pk).update(status=LifecycleStatus.VALIDATION)
    live_model.refresh_from_db()
    return live_model


@pytest.fixture
def incident(live_model, owner):
    return incident_services.incident_create(
        actor=owner,
        model=live_model,
        title="Scores went flat",
        severity="sev2",
        description="Every score is 0.5 since 2.0.0.",
    )


def _version(model, number: str) -> ModelVersion:
    return ModelVersion.objects.get(model=model, version=number)


def _begin(client, url: str, data: dict) -> tuple[str, dict]:
    """Submit a signed form: the answer sends the browser to the provider."""
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:800]
    location = response["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _rollback(client, incident, **extra) -> tuple[str, dict]:
    url = reverse("incidents:incident_rollback", args=[incident.reference])
    return _begin(
        client, url, {"reason": "2.0.0 scores flat.", "expected_version": "1.0.0", **extra}
    )


def _stage(client, model, number: str = "2.0.0", stage: str = "archived") -> tuple[str, dict]:
    url = reverse("inventory:version_stage", args=[model.slug, number])
    return _begin(client, url, {"stage": stage})


def _transition(client, model, target: str, reason: str) -> tuple[str, dict]:
    url = reverse("inventory:model_transition", args=[model.slug])
    return _begin(client, url, {"target": target, "reason": reason})


def _proof(sso, note: dict, started: float) -> None:
    """The signature note says provider, issuer and an auth_time of this signature."""
    from datetime import datetime

    assert note["method"] == "provider" and note["issuer"] == sso.issuer
    assert note["signed_by"] == "vera"
    auth_time = datetime.fromisoformat(note["auth_time"]).timestamp()
    assert started - 1 <= auth_time <= time.time()


def _signed_move(sso, obj, started: float) -> AuditEvent:
    """The latest move of ``obj`` (a version or a model): its audit event states the proof."""
    moved = AuditEvent.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk), action="transition"
    ).latest("sequence")
    _proof(sso, moved.changes["signature"]["after"], started)
    assert f"Signed electronically by vera (re-authenticated at {sso.issuer}" in moved.message
    return moved


def _refused(client, response, back: str, reason: str, obj) -> None:
    """Back on the page with the reason; the refusal audited against the object."""
    assert response.status_code == 302 and response["Location"] == back
    failure = AuditEvent.objects.filter(action="signature_failed").latest("sequence")
    assert reason in failure.message, failure.message
    assert failure.object_id == str(obj.pk) and "nothing was signed" in failure.message
    page = client.get(back).content.decode()
    assert reason.split(" (")[0][:40] in page.replace("&#x27;", "'"), page[:3000]


def _rolled_back_nothing(incident) -> None:
    incident.refresh_from_db()
    assert incident.rollback_request is None
    assert not incident.events.filter(kind=EventKind.ROLLBACK).exists()


# --- the emergency rollback ---------------------------------------------------------------


def test_the_rollback_form_offers_the_provider_instead_of_a_password(client, vera, incident):
    page = client.get(incident.get_absolute_url()).content.decode()
    section = page[page.index('id="rollback-heading"') :]
    assert "Sign with Test IdP and roll back to 1.0.0" in section
    assert 'type="password"' not in section
    assert "signed by signing in again at Test IdP" in section


def test_a_rollback_signed_at_the_provider_is_made_and_states_its_proof(
    client, browser, sso, vera, incident, live_model
):
    url, params = _rollback(client, incident)
    assert url.startswith(sso.discovery()["authorization_endpoint"])
    assert params["prompt"] == "login" and params["max_age"] == "0"
    started = time.time()
    asked: list[str] = []

    response = _finish(client, browser, url, login="vera", asked=asked)

    assert asked == ["vera"]  # the provider asked for the password again
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert _version(live_model, "1.0.0").stage == VersionStage.PRODUCTION
    assert _version(live_model, "2.0.0").stage == VersionStage.ARCHIVED
    event = incident.events.get(kind=EventKind.ROLLBACK)
    _proof(sso, event.data["signature"], started)
    assert event.data["signed"].startswith(f"re-authenticated at {sso.issuer} (auth_time ")
    incident.refresh_from_db()
    request = incident.rollback_request
    assert request.kind == ApprovalKind.EMERGENCY_CHANGE
    assert request.content["signature"] == event.data["signature"]
    audit = AuditEvent.objects.get(
        object_type="incidents.incident", object_id=str(incident.pk), changes__has_key="rollback"
    )
    assert audit.changes["signature"]["after"] == event.data["signature"]
    assert f"signed electronically by vera (re-authenticated at {sso.issuer}" in audit.message
    page = client.get(response["Location"]).content.decode()
    assert "1.0.0 is back in production in place of 2.0.0" in page
    assert f"Signed electronically: re-authenticated at {sso.issuer}" in page


def test_a_stale_re_authentication_rolls_nothing_back(
    client, browser, settings, vera, incident, live_model
):
    settings.MLGOV_OIDC_SIGNATURE_SKEW_SECONDS = 0
    time.sleep(1.2)  # the sign-in's authentication is a second old
    url, params = _rollback(client, incident)
    # The browser leaves out prompt=login and max_age: the provider answers from its session.
    kept = {k: v for k, v in params.items() if k not in ("prompt", "max_age")}
    asked: list[str] = []
    response = _finish(
        client, browser, f"{url.split('?')[0]}?{urlencode(kept)}", login="vera", asked=asked
    )
    assert asked == []
    _refused(
        client,
        response,
        incident.get_absolute_url(),
        "the re-authentication was not fresh",
        incident,
    )
    _rolled_back_nothing(incident)
    assert _version(live_model, "2.0.0").stage == VersionStage.PRODUCTION


def test_another_persons_token_rolls_nothing_back(
    client, browser, sso, vera, incident, live_model, in_transit
):
    sso.set_user("tom", password=PASSWORD, groups=["mlgov-validators"])
    url, params = _rollback(client, incident)
    toms = _fresh_token(sso, params["nonce"], login="tom")
    in_transit.rewrite = lambda tokens: {**tokens, "id_token": toms}
    response = _finish(client, browser, url, login="vera")
    _refused(
        client,
        response,
        incident.get_absolute_url(),
        "not for the person signed in to mlgov",
        incident,
    )
    _rolled_back_nothing(incident)


def test_a_rollback_whose_plan_changed_at_the_provider_does_nothing(
    client, browser, vera, incident, live_model, owner
):
    url, _ = _rollback(client, incident)
    # While Vera signs in again, 3.0.0 goes to production: the rollback would now restore
    # 2.0.0, not the 1.0.0 she saw offered.
    admin = User.objects.get(username="ada")
    with transaction.atomic():
        inventory_services.promote_version(
            actor=admin, version=ModelVersionFactory(model=live_model, version="3.0.0")
        )

    response = _finish(client, browser, url, login="vera")

    _refused(client, response, incident.get_absolute_url(), "not 1.0.0 as offered", incident)
    _rolled_back_nothing(incident)
    assert _version(live_model, "3.0.0").stage == VersionStage.PRODUCTION


def test_a_rollback_that_would_be_refused_does_not_send_them_to_the_provider(
    client, vera, incident
):
    response = client.post(
        reverse("incidents:incident_rollback", args=[incident.reference]),
        {"reason": "Flat scores.", "expected_version": "0.9.0"},
    )
    assert response.status_code == 400
    assert "not 0.9.0 as offered" in response.content.decode()
    assert client.session.get(PENDING, {}) == {}
    _rolled_back_nothing(incident)


def test_an_api_client_rolls_back_with_a_challenge(sso, vera, incident, live_model):
    api = _api(vera)
    base = f"/api/v1/incidents/{incident.reference}"
    challenge = api.post(f"{base}/signature-challenge/")
    assert challenge.status_code == 201, challenge.content
    body = challenge.json()
    assert (body["issuer"], body["client_id"], body["prompt"], body["max_age"]) == (
        sso.issuer,
        "mlgov",
        "login",
        0,
    )
    token = _fresh_token(sso, body["nonce"], login="vera")
    started = time.time() - 30

    answer = api.post(
        f"{base}/rollback/", {"reason": "Flat scores.", "id_token": token}, format="json"
    )

    assert answer.status_code == 202, answer.content
    assert _version(live_model, "1.0.0").stage == VersionStage.PRODUCTION
    _proof(sso, incident.events.get(kind=EventKind.ROLLBACK).data["signature"], started)
    # The challenge is used up: the same token again is refused.
    again = api.post(f"{base}/rollback/", {"reason": "Again.", "id_token": token}, format="json")
    assert again.status_code == 400 and "not a challenge mlgov holds" in again.json()["detail"]


def test_an_api_rollback_with_a_nonce_of_another_object_or_action_is_refused(
    sso, vera, incident, live_model, owner
):
    api = _api(vera)
    other = incident_services.incident_create(
        actor=owner, model=live_model, title="Another", severity="sev3", description="x"
    )
    for issued_at in (
        f"/api/v1/incidents/{other.reference}/signature-challenge/",
        f"/api/v1/models/{live_model.slug}/signature-challenge/",  # a lifecycle move's
    ):
        nonce = api.post(issued_at).json()["nonce"]
        answer = api.post(
            f"/api/v1/incidents/{incident.reference}/rollback/",
            {"reason": "Flat.", "id_token": _fresh_token(sso, nonce, login="vera")},
            format="json",
        )
        assert answer.status_code == 400, answer.content
        assert "another user or another signature" in answer.json()["detail"]
    _rolled_back_nothing(incident)
    assert AuditEvent.objects.filter(action="signature_failed").count() == 2


def test_an_api_rollback_names_both_ways_of_signing_when_it_has_neither_or_both(vera, incident):
    api = _api(vera)
    for body in ({"reason": "x"}, {"reason": "x", "password": "p", "id_token": "t"}):
        answer = api.post(f"/api/v1/incidents/{incident.reference}/rollback/", body, format="json")
        assert answer.status_code == 400
        assert set(answer.json()) >= {"password", "id_token"}
    _rolled_back_nothing(incident)


# --- taking a version out of production -----------------------------------------------------


def test_the_stage_form_offers_the_provider_for_a_production_version(client, vera, revalidating):
    page = client.get(_version(revalidating, "2.0.0").get_absolute_url()).content.decode()
    section = page[page.index('id="stage-heading"') :]
    assert "Sign with Test IdP" in section and 'type="password"' not in section


def test_a_version_taken_out_of_production_at_the_provider_states_its_proof(
    client, browser, sso, vera, revalidating
):
    version = _version(revalidating, "2.0.0")
    url, _ = _stage(client, revalidating)
    started = time.time()

    response = _finish(client, browser, url, login="vera")

    assert response["Location"] == version.get_absolute_url()
    version.refresh_from_db()
    assert version.stage == VersionStage.ARCHIVED
    moved = _signed_move(sso, version, started)
    assert moved.changes["stage"] == {"before": "production", "after": "archived"}
    page = client.get(response["Location"]).content.decode()
    assert "Version 2.0.0 is now Archived." in page


def test_a_version_moved_while_they_were_at_the_provider_is_left_alone(
    client, browser, vera, incident, revalidating
):
    version = _version(revalidating, "2.0.0")
    url, _ = _stage(client, revalidating, stage="staging")
    # Meanwhile an emergency rollback archives 2.0.0 (signed by an administrator's password).
    admin = User.objects.get(username="ada")
    admin.set_password("admin-password-1")
    admin.save()
    incident_services.incident_rollback(
        actor=admin, incident=incident, reason="Flat.", password="admin-password-1"
    )

    response = _finish(client, browser, url, login="vera")

    _refused(
        client,
        response,
        version.get_absolute_url(),
        "is Archived now, not Production as when you began signing",
        version,
    )
    version.refresh_from_db()
    assert version.stage == VersionStage.ARCHIVED  # not staging


def test_an_api_client_takes_a_version_out_of_production_with_a_challenge(sso, vera, revalidating):
    api = _api(vera)
    version = _version(revalidating, "2.0.0")
    base = f"/api/v1/models/{revalidating.slug}/versions/2.0.0"
    nonce = api.post(f"{base}/signature-challenge/").json()["nonce"]
    token = _fresh_token(sso, nonce, login="vera")
    # A challenge for another version is not this one's.
    other = api.post(
        f"/api/v1/models/{revalidating.slug}/versions/1.0.0/signature-challenge/"
    ).json()["nonce"]
    refused = api.post(
        f"{base}/stage/",
        {"stage": "archived", "id_token": _fresh_token(sso, other, login="vera")},
        format="json",
    )
    assert refused.status_code == 400 and "another signature" in refused.json()["detail"]

    answer = api.post(f"{base}/stage/", {"stage": "archived", "id_token": token}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["stage"] == "archived"
    version.refresh_from_db()
    assert version.stage == VersionStage.ARCHIVED
    moved = AuditEvent.objects.filter(
        object_id=str(version.pk), action="transition", changes__has_key="signature"
    ).get()
    assert moved.changes["signature"]["after"]["method"] == "provider"


def test_an_api_stage_move_without_a_signature_says_how_this_person_signs(vera, revalidating):
    api = _api(vera)
    answer = api.post(
        f"/api/v1/models/{revalidating.slug}/versions/2.0.0/stage/",
        {"stage": "archived"},
        format="json",
    )
    assert answer.status_code == 400
    assert "You sign by signing in again at Test IdP" in answer.json()["detail"]
    assert set(answer.json()) >= {"password", "id_token"}
    assert _version(revalidating, "2.0.0").stage == VersionStage.PRODUCTION


# --- signed lifecycle moves of a model ------------------------------------------------------


def test_a_lifecycle_move_signed_at_the_provider_states_its_proof(
    client, browser, sso, vera, live_model
):
    page = client.get(live_model.get_absolute_url()).content.decode()
    assert "Sign with Test IdP to move to Validation" in page
    url, _ = _transition(client, live_model, "validation", "Revalidate after the incident.")
    started = time.time()

    response = _finish(client, browser, url, login="vera")

    assert response["Location"] == live_model.get_absolute_url()
    live_model.refresh_from_db()
    assert live_model.status == LifecycleStatus.VALIDATION
    moved = _signed_move(sso, live_model, started)
    assert moved.changes["status"]["after"] == "validation"
    assert moved.message.startswith("Revalidate after the incident. Signed electronically by vera")
    assert "is now in Validation" in client.get(response["Location"]).content.decode()


def test_a_model_moved_while_they_were_at_the_provider_is_left_alone(client, browser, vera, owner):
    model = RegisteredModelFactory(
        slug="sso-draft", owner=owner, status=LifecycleStatus.VALIDATION, risk_tier=3
    )
    url, _ = _transition(client, model, "retired", "Replaced by another model.")
    # Meanwhile the owner sends it back to development.
    inventory_services.registered_model_transition(
        actor=owner, model=model, target="development", reason="More work."
    )

    response = _finish(client, browser, url, login="vera")

    _refused(
        client,
        response,
        model.get_absolute_url(),
        "is in Development now, not Validation as when you began signing",
        model,
    )
    assert RegisteredModel.objects.get(pk=model.pk).status == LifecycleStatus.DEVELOPMENT


def test_a_lifecycle_move_with_another_persons_token_is_refused(
    client, browser, sso, vera, live_model, in_transit
):
    sso.set_user("tom", password=PASSWORD, groups=["mlgov-validators"])
    url, params = _transition(client, live_model, "validation", "Revalidate.")
    toms = _fresh_token(sso, params["nonce"], login="tom")
    in_transit.rewrite = lambda tokens: {**tokens, "id_token": toms}
    response = _finish(client, browser, url, login="vera")
    _refused(
        client,
        response,
        live_model.get_absolute_url(),
        "not for the person signed in to mlgov",
        live_model,
    )
    assert RegisteredModel.objects.get(pk=live_model.pk).status == LifecycleStatus.PRODUCTION


def test_a_lifecycle_move_that_would_be_refused_does_not_send_them_to_the_provider(
    client, vera, live_model
):
    # A step back needs a reason: said on the page, before any re-authentication.
    response = client.post(
        reverse("inventory:model_transition", args=[live_model.slug]), {"target": "validation"}
    )
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    assert client.session.get(PENDING, {}) == {}
    assert not AuditEvent.objects.filter(action="signature_failed").exists()


def test_an_api_client_makes_a_signed_lifecycle_move_with_a_challenge(sso, vera, live_model):
    api = _api(vera)
    base = f"/api/v1/models/{live_model.slug}"
    nonce = api.post(f"{base}/signature-challenge/").json()["nonce"]
    token = _fresh_token(sso, nonce, login="vera")
    body = {"target": "validation", "reason": "Revalidate.", "id_token": token}

    answer = api.post(f"{base}/transition/", body, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "validation"
    # Used up: the same token cannot sign another move.
    again = api.post(
        f"{base}/transition/", {**body, "target": "retired", "reason": "End."}, format="json"
    )
    assert again.status_code == 400 and "not a challenge mlgov holds" in again.json()["detail"]
    assert RegisteredModel.objects.get(pk=live_model.pk).status == LifecycleStatus.VALIDATION


def test_a_local_user_still_signs_with_the_password(client, sso, validator, revalidating, incident):
    """Under single sign-on, a local validator (a password, no subject at the provider)
    keeps the password field on each of these forms."""
    client.force_login(validator)
    for url in (
        incident.get_absolute_url(),
        _version(revalidating, "2.0.0").get_absolute_url(),
        revalidating.get_absolute_url(),
    ):
        page = client.get(url).content.decode()
        assert 'type="password"' in page and "Sign with Test IdP" not in page, url
