"""Electronic signatures under single sign-on, against the real OpenID provider: a person who
signed in through the provider signs an approval by signing in there again (prompt=login,
max_age=0), and mlgov records the decision with the method, the issuer and the provider's
auth_time; a re-authentication that is not fresh, a token changed on its way (another key,
another client, another person, expired, replayed) or an answer that comes twice records
nothing and is audited as a failed signature. API clients do the same with a challenge.

The bad tokens are the provider's own, changed in transit (``in_transit``, as in the sign-in
tests); the stale one is what the provider answers when the browser leaves out prompt=login
and max_age (as a person could by editing the URL): its session's earlier authentication.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.approvals.choices import RequestStatus
from apps.approvals.models import Decision
from apps.audit.models import AuditEvent
from tests.approvals import ui_world
from tests.factories import UserFactory, api_token_key
from tests.identity import provider as oidc_provider
from tests.identity.conftest import CALLBACK, SIGNATURE_CALLBACK
from tests.identity.test_sign_in import PASSWORD, _sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def signer(client, browser, sso):
    """Sara, a business owner at the provider, signed in to mlgov through it."""
    sso.set_user(
        "sara",
        password=PASSWORD,
        email="sara@bank.example",
        given_name="Sara",
        family_name="Sign",
        groups=["mlgov-business-owners"],
    )
    _sign_in(client, browser, "sara")
    return User.objects.get(provider_identities__subject="sara")


@pytest.fixture
def approval(signer):
    owner = UserFactory(username="omar", roles=["model_owner"])
    model = ui_world.promotable_model(owner, signer, "sso-scorer")
    return ui_world.request_promotion(model, owner)


def _begin(client, approval, verdict: str = "approve", comment: str = "") -> tuple[str, dict]:
    """Sign on the request's page: the answer sends the browser to the provider."""
    prefix = f"r{approval.pk}"
    response = client.post(
        reverse("approvals:request_decide", args=[approval.pk]),
        {f"{prefix}-verdict": verdict, f"{prefix}-comment": comment},
    )
    assert response.status_code == 302, response.content[:500]
    url = response["Location"]
    return url, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _finish(client, browser, url: str, login: str = "sara", asked=None):
    back = oidc_provider.sign_in_at_provider(
        browser, url, login=login, password=PASSWORD, until=SIGNATURE_CALLBACK, asked=asked
    )
    return client.get(back.removeprefix("http://testserver"))


def _refused(client, response, approval, reason: str) -> None:
    """Nothing recorded, the refusal audited with its reason, the page says so."""
    assert response.status_code == 302 and response["Location"] == approval.get_absolute_url()
    assert not Decision.objects.filter(request=approval).exists()
    approval.refresh_from_db()
    assert approval.status == RequestStatus.PENDING
    failure = AuditEvent.objects.filter(action="signature_failed").latest("sequence")
    assert reason in failure.message, failure.message
    assert failure.object_id == str(approval.pk)
    assert "nothing was signed" in failure.message
    page = client.get(response["Location"]).content.decode()
    assert "was not accepted" in page and "Nothing was signed." in page


def test_the_form_offers_the_provider_instead_of_a_password(client, signer, approval):
    page = client.get(approval.get_absolute_url()).content.decode()
    assert "Sign with Test IdP" in page
    assert 'type="password"' not in page
    assert "Signing in again at Test IdP is your electronic signature" in page


def test_the_inbox_sends_the_browser_to_the_provider_with_a_full_page_redirect(
    client, sso, signer, approval
):
    inbox = client.get(reverse("approvals:inbox")).content.decode()
    assert "Sign with Test IdP" in inbox and 'type="password"' not in inbox
    prefix = f"r{approval.pk}"
    response = client.post(
        reverse("approvals:request_decide", args=[approval.pk]),
        {f"{prefix}-verdict": "approve"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(sso.discovery()["authorization_endpoint"])
    assert "prompt=login" in response["HX-Redirect"]


def test_a_fresh_re_authentication_records_the_decision(client, browser, sso, signer, approval):
    url, params = _begin(client, approval)
    assert url.startswith(sso.discovery()["authorization_endpoint"])
    assert params["prompt"] == "login" and params["max_age"] == "0"
    assert params["redirect_uri"] == SIGNATURE_CALLBACK
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    before = time.time()

    asked: list[str] = []
    response = _finish(client, browser, url, asked=asked)

    # The provider asked for the password again, though its session was still open.
    assert asked == ["sara"]
    assert response.status_code == 302 and response["Location"] == approval.get_absolute_url()
    decision = Decision.objects.get(request=approval)
    assert decision.approver == signer and decision.verdict == "approve"
    assert decision.signature_method == "provider"
    assert decision.signature_issuer == sso.issuer
    assert before - 1 <= decision.signature_auth_time.timestamp() <= time.time()
    approval.refresh_from_db()
    assert approval.status == RequestStatus.APPROVED
    event = AuditEvent.objects.filter(action="decide", object_id=str(approval.pk)).get()
    assert event.changes["signature"]["after"] == {
        "method": "provider",
        "issuer": sso.issuer,
        "auth_time": decision.signature_auth_time.isoformat(),
    }
    assert f"re-authenticated at {sso.issuer}" in event.message
    page = client.get(response["Location"]).content.decode()
    assert "has been signed" in page and f"re-authenticated at {sso.issuer}" in page

    # The same answer again (a replayed state and code) is refused and records nothing more.
    repeat = client.get(response.wsgi_request.get_full_path())
    assert repeat.status_code == 302 and repeat["Location"] == reverse("dashboard:home")
    assert Decision.objects.filter(request=approval).count() == 1
    failure = AuditEvent.objects.filter(action="signature_failed").latest("sequence")
    assert "no signature of this browser session waits" in failure.message


def test_a_stale_auth_time_is_refused(client, browser, sso, settings, signer, approval):
    settings.MLGOV_OIDC_SIGNATURE_SKEW_SECONDS = 0
    time.sleep(1.2)  # the provider authenticated Sara at sign-in, a second before signing
    url, params = _begin(client, approval)
    # The browser leaves out prompt=login and max_age: the provider answers from its session.
    endpoint = url.split("?")[0]
    kept = {k: v for k, v in params.items() if k not in ("prompt", "max_age")}
    asked: list[str] = []
    response = _finish(client, browser, f"{endpoint}?{urlencode(kept)}", asked=asked)
    assert asked == []  # no password asked: the provider's earlier authentication
    _refused(client, response, approval, "the re-authentication was not fresh")


def test_an_authentication_older_than_the_max_age_is_refused(
    client, browser, sso, settings, signer, approval, in_transit
):
    settings.MLGOV_OIDC_SIGNATURE_MAX_AGE_SECONDS = 1

    def late(tokens):
        time.sleep(2.2)
        return tokens

    in_transit.rewrite = late
    url, _ = _begin(client, approval)
    response = _finish(client, browser, url)
    _refused(client, response, approval, "more than the 1 seconds a signature allows")


def test_a_token_signed_with_another_key_is_refused(
    client, browser, sso, signer, approval, in_transit
):
    forger, _ = oidc_provider.rsa_jwk(sso.kid)
    forged_key = jwt.PyJWK(forger).key

    def resign(tokens):
        claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        tokens["id_token"] = jwt.encode(
            claims, forged_key, algorithm="RS256", headers={"kid": sso.kid}
        )
        return tokens

    in_transit.rewrite = resign
    url, _ = _begin(client, approval)
    response = _finish(client, browser, url)
    _refused(client, response, approval, "signature does not verify")


def test_a_token_for_another_client_is_refused(client, browser, sso, signer, approval, in_transit):
    url, params = _begin(client, approval)
    other = oidc_provider.id_token_for(
        sso,
        oidc_provider.OTHER_CLIENT_ID,
        login="sara",
        password=PASSWORD,
        nonce=params["nonce"],
        redirect_uri="http://testserver/other-app/callback/",
        prompt="login",
        max_age="0",
    )
    in_transit.rewrite = lambda tokens: {**tokens, "id_token": other}
    response = _finish(client, browser, url)
    _refused(client, response, approval, "not for mlgov's client 'mlgov'")


def test_a_token_for_another_person_is_refused(client, browser, sso, signer, approval, in_transit):
    sso.set_user("tom", password=PASSWORD, groups=["mlgov-business-owners"])
    url, params = _begin(client, approval)
    # Tom's real, fresh token for mlgov, with this signature's nonce.
    toms = oidc_provider.id_token_for(
        sso,
        oidc_provider.CLIENT_ID,
        login="tom",
        password=PASSWORD,
        nonce=params["nonce"],
        redirect_uri=CALLBACK,
        prompt="login",
        max_age="0",
    )
    in_transit.rewrite = lambda tokens: {**tokens, "id_token": toms}
    response = _finish(client, browser, url)
    _refused(client, response, approval, "not for the person signed in to mlgov")


def test_an_expired_token_is_refused(client, browser, sso, settings, signer, approval, in_transit):
    settings.MLGOV_OIDC_LEEWAY_SECONDS = 0
    sso.set_user("sara", id_token_ttl=1)

    def delay(tokens):
        time.sleep(2.5)
        return tokens

    in_transit.rewrite = delay
    url, _ = _begin(client, approval)
    response = _finish(client, browser, url)
    _refused(client, response, approval, "The ID token expired")


def test_a_token_from_an_earlier_signature_is_refused(
    client, browser, sso, signer, approval, in_transit
):
    first, _ = _begin(client, approval)
    _finish(client, browser, first)
    assert Decision.objects.filter(request=approval).exists()
    earlier = in_transit.seen[-1]
    owner = User.objects.get(username="omar")
    second = ui_world.request_promotion(ui_world.promotable_model(owner, signer, "sso-2"), owner)

    in_transit.rewrite = lambda tokens: {**tokens, "id_token": earlier}
    url, _ = _begin(client, second)
    response = _finish(client, browser, url)
    _refused(client, response, second, "nonce is not the one this sign-in sent")


def test_a_cancelled_re_authentication_records_nothing(client, signer, approval):
    _, params = _begin(client, approval)
    response = client.get(
        reverse("identity:signature_callback")
        + "?"
        + urlencode({"state": params["state"], "error": "access_denied"})
    )
    _refused(client, response, approval, "the provider answered 'access_denied'")


def test_an_answer_after_the_pending_signature_expired_records_nothing(
    client, browser, settings, signer, approval
):
    settings.MLGOV_OIDC_SIGNATURE_CHALLENGE_SECONDS = 1
    url, _ = _begin(client, approval)
    time.sleep(1.5)
    response = _finish(client, browser, url)
    _refused(client, response, approval, "more than 1 seconds after the signature began")


def test_a_request_they_cannot_sign_does_not_send_them_to_the_provider(client, signer, approval):
    from apps.approvals import services

    services.approval_withdraw(actor=approval.requested_by, request=approval)
    prefix = f"r{approval.pk}"
    response = client.post(
        reverse("approvals:request_decide", args=[approval.pk]),
        {f"{prefix}-verdict": "approve"},
    )
    # Refused on the page, before any re-authentication at the provider.
    assert response.status_code == 200
    assert client.session.get("mlgov_pending_signatures", {}) == {}
    assert not Decision.objects.exists()


def test_a_changed_request_refuses_the_signature(client, browser, signer, approval):
    url, _ = _begin(client, approval)
    version = approval.model.versions.get(version="2.0.0")
    version.evaluation_metrics = {"auc": 0.5}
    version.save(update_fields=["evaluation_metrics"])

    response = _finish(client, browser, url)

    assert response["Location"] == approval.get_absolute_url()
    assert not Decision.objects.filter(request=approval).exists()
    approval.refresh_from_db()
    assert approval.status == RequestStatus.STALE


# --- API clients -----------------------------------------------------------------------------


def _api(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(user)}")
    return api


def _fresh_token(sso, nonce: str, login: str = "sara") -> str:
    return oidc_provider.id_token_for(
        sso,
        oidc_provider.CLIENT_ID,
        login=login,
        password=PASSWORD,
        nonce=nonce,
        redirect_uri=CALLBACK,
        prompt="login",
        max_age="0",
    )


def test_an_api_client_signs_with_a_challenge(sso, signer, approval):
    api = _api(signer)
    base = f"/api/v1/approvals/{approval.pk}"
    challenge = api.post(f"{base}/signature-challenge/")
    assert challenge.status_code == 201, challenge.content
    body = challenge.json()
    assert body["issuer"] == sso.issuer and body["client_id"] == "mlgov"
    assert (body["prompt"], body["max_age"]) == ("login", 0)
    token = _fresh_token(sso, body["nonce"])

    answer = api.post(f"{base}/decide/", {"verdict": "approve", "id_token": token}, format="json")

    assert answer.status_code == 200, answer.content
    signed = answer.json()["decisions"][0]
    assert signed["signature_method"] == "provider"
    assert signed["signature_issuer"] == sso.issuer
    assert signed["signature_auth_time"]
    # The challenge is used up: the same token again is refused.
    again = api.post(f"{base}/decide/", {"verdict": "approve", "id_token": token}, format="json")
    assert again.status_code == 400
    assert "not a challenge mlgov holds" in again.json()["detail"]


def test_an_api_token_without_a_challenge_or_for_another_request_is_refused(sso, signer, approval):
    api = _api(signer)
    base = f"/api/v1/approvals/{approval.pk}"
    # A nonce mlgov never issued.
    answer = api.post(
        f"{base}/decide/",
        {"verdict": "approve", "id_token": _fresh_token(sso, "made-up-nonce")},
        format="json",
    )
    assert answer.status_code == 400 and "not a challenge mlgov holds" in answer.json()["detail"]
    # A challenge for another request is not this one's.
    owner = User.objects.get(username="omar")
    model = ui_world.promotable_model(owner, signer, "sso-other")
    other = ui_world.request_promotion(model, owner)
    nonce = api.post(f"/api/v1/approvals/{other.pk}/signature-challenge/").json()["nonce"]
    answer = api.post(
        f"{base}/decide/",
        {"verdict": "approve", "id_token": _fresh_token(sso, nonce)},
        format="json",
    )
    assert answer.status_code == 400 and "another signature" in answer.json()["detail"]
    assert not Decision.objects.exists()
    assert AuditEvent.objects.filter(action="signature_failed").count() == 2


def test_an_api_token_re_signed_with_another_key_is_refused(sso, signer, approval):
    api = _api(signer)
    base = f"/api/v1/approvals/{approval.pk}"
    nonce = api.post(f"{base}/signature-challenge/").json()["nonce"]
    claims = jwt.decode(_fresh_token(sso, nonce), options={"verify_signature": False})
    forger, _ = oidc_provider.rsa_jwk(sso.kid)
    forged = jwt.encode(claims, jwt.PyJWK(forger).key, algorithm="RS256", headers={"kid": sso.kid})

    answer = api.post(f"{base}/decide/", {"verdict": "approve", "id_token": forged}, format="json")

    assert answer.status_code == 400 and "signature does not verify" in answer.json()["detail"]
    assert not Decision.objects.exists()
    failure = AuditEvent.objects.get(action="signature_failed")
    assert failure.actor == signer and failure.object_id == str(approval.pk)


def test_an_api_client_sends_a_password_or_a_token_not_both(sso, signer, approval):
    api = _api(signer)
    answer = api.post(
        f"/api/v1/approvals/{approval.pk}/decide/",
        {"verdict": "approve", "password": "x", "id_token": "y"},
        format="json",
    )
    assert answer.status_code == 400
    assert not Decision.objects.exists()


# --- who signs how ---------------------------------------------------------------------------


def test_who_signs_at_the_provider_and_who_with_a_password(sso, settings):
    from datetime import UTC, datetime

    from apps.accounts.signatures import method_for
    from apps.identity.models import ProviderIdentity

    def linked(username: str, **kwargs):
        user = UserFactory(username=username, **kwargs)
        ProviderIdentity.objects.create(
            user=user,
            issuer=sso.issuer,
            subject=username,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        return user

    local = UserFactory(username="lou", password="local-password-1")
    without_password = linked("pia")
    without_password.set_unusable_password()
    without_password.save()
    with_password = linked("pat", password="local-password-1")
    settings.MLGOV_BREAK_GLASS_USERS = ("bg",)
    break_glass = linked("bg", password="local-password-1")

    assert method_for(user=local) == "password"
    assert method_for(user=without_password) == "provider"
    assert method_for(user=with_password) == "password"
    settings.MLGOV_LOCAL_LOGIN = False
    assert method_for(user=with_password) == "provider"
    assert method_for(user=break_glass) == "password"
    settings.MLGOV_OIDC_ISSUER = ""
    assert method_for(user=without_password) == "password"


def test_a_password_decision_records_the_password_method(settings, business_owner, db):
    from apps.approvals import services

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    business_owner.set_password(ui_world.PASSWORD)
    business_owner.save()
    owner = UserFactory(username="omar", roles=["model_owner"])
    approval = ui_world.request_promotion(
        ui_world.promotable_model(owner, business_owner, "pw-scorer"), owner
    )
    decision = services.approval_decide(
        actor=business_owner, request=approval, verdict="approve", password=ui_world.PASSWORD
    )
    assert (decision.signature_method, decision.signature_issuer) == ("password", "")
    assert decision.signature_auth_time is None
    event = AuditEvent.objects.get(action="decide", object_id=str(approval.pk))
    assert event.changes["signature"]["after"] == {"method": "password"}
    assert "Signed: password re-entered." in event.message
