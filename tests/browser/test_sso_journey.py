"""Single sign-on in a real Chromium, against a real mlgov server process and a real OpenID
provider (oidc-provider on 127.0.0.1): a person signs in at the provider, arrives with the
role their group gives, loses it at their next sign-in once the provider drops the group,
and signing out of mlgov ends the provider's session too (the next sign-in asks for the
password again). A business owner who signed in at the provider signs an approval by
signing in there again: a browser that skips the provider's password form (its earlier,
stale authentication) is refused and nothing is recorded; the forced re-authentication is
recorded as signed at the provider. A validator who signed in at the provider signs an
incident's emergency rollback the same way: a cancelled sign-in there rolls nothing back,
the completed one puts the previous version back into production, signed at the provider.

Skipped, saying why, without Chromium or without node and npm.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import pytest

from tests import live_server
from tests.identity import provider as oidc_provider

# Ports of the identity tests' own range (18300–18349), not the in-process tests' 18310, or
# from MLGOV_TEST_SSO_PORT and the next five (when several test runs share a machine).
_BASE_PORT = int(os.environ.get("MLGOV_TEST_SSO_PORT") or 18320)
PROVIDER_PORT, MLGOV_PORT = _BASE_PORT, _BASE_PORT + 1
SIGNING_PROVIDER_PORT, SIGNING_MLGOV_PORT = _BASE_PORT + 2, _BASE_PORT + 3
ROLLBACK_PROVIDER_PORT, ROLLBACK_MLGOV_PORT = _BASE_PORT + 4, _BASE_PORT + 5
PASSWORD = "provider-password-1"


@contextlib.contextmanager
def mlgov_at_provider(
    tmp_path, label: str, *, ports: tuple[int, int], person: str, group: str, role: str, **env
) -> Iterator[tuple[str, oidc_provider.Provider, live_server.Site]]:
    """A provider where ``person`` is in ``group`` (``role`` in mlgov), and mlgov served by
    a real server signing in (and signing) at it, with ``env`` added; yields mlgov's base
    URL, the provider and the installation."""
    provider_port, mlgov_port = ports
    base = f"http://127.0.0.1:{mlgov_port}"
    with oidc_provider.running(
        tmp_path,
        port=provider_port,
        redirect_uris=[f"{base}/oidc/callback/", f"{base}/oidc/signature/callback/"],
        logout_uris=[f"{base}/accounts/login/"],
    ) as idp:
        idp.set_user(
            person,
            password=PASSWORD,
            email=f"{person}@bank.example",
            given_name=person.capitalize(),
            family_name="Banker",
            groups=[group],
        )
        env = {
            "MLGOV_OIDC_ISSUER": idp.issuer,
            "MLGOV_OIDC_CLIENT_ID": oidc_provider.CLIENT_ID,
            "MLGOV_OIDC_CLIENT_SECRET": idp.secrets[oidc_provider.CLIENT_ID],
            "MLGOV_OIDC_PROVIDER_NAME": "Bank SSO",
            "MLGOV_OIDC_GROUP_ROLES": f"{group}={role}",
            "MLGOV_EGRESS_ALLOW": idp.allow,
            **env,
        }
        with live_server.site(tmp_path, label, **env) as site:
            # Pages, not only the API: the server serves the collected, hashed static files.
            site.manage("collectstatic", "--noinput", "-v", "0")
            log = tmp_path / "mlgov.log"
            with live_server.server(site, "runserver", log=log, port=mlgov_port):
                yield base, idp, site


def sign_in(page, base: str, login: str, lands_on: str = "Dashboard") -> None:
    """From mlgov's sign-in page through the provider's password form and back."""
    from playwright.sync_api import expect

    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_role("link", name="Sign in with Bank SSO").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page.get_by_role("heading", name=lands_on)).to_be_visible()


@pytest.mark.browser
def test_a_person_signs_in_at_the_provider_and_gets_the_role_of_their_group(tmp_path, chromium):
    with mlgov_at_provider(
        tmp_path,
        "sso",
        ports=(PROVIDER_PORT, MLGOV_PORT),
        person="rita",
        group="mlgov-validators",
        role="validator",
    ) as (base, idp, site):
        journey(chromium, base, idp, site)


def journey(chromium, base: str, idp: oidc_provider.Provider, site: live_server.Site) -> None:
    from playwright.sync_api import expect

    page = chromium.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base, "rita")
    expect(page.locator(".account-roles")).to_have_text("Risk & compliance (validator)")
    page.goto(f"{base}/audit/")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()

    # The provider drops the group; signing out of mlgov ends the provider's session too.
    idp.set_user("rita", groups=[])
    page.goto(f"{base}/")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/accounts/login/"))

    # So the next sign-in asks for the password again (sign_in fills the provider's form),
    # and the role is gone: with no role left, mlgov shows nothing.
    sign_in(page, base, "rita", lands_on="You are not allowed to do this")
    page.goto(f"{base}/audit/")
    expect(page.get_by_role("heading", name="You are not allowed to do this")).to_be_visible()

    held = site.manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from apps.identity.models import ProviderIdentity as P;"
        "u = P.objects.get(subject='rita').user;"
        "print(u.username, sorted(u.groups.values_list('name', flat=True)))",
    )
    assert held.strip() == "rita []"


SIGNING_SETUP = """
from tests.approvals.ui_world import promotable_model, request_promotion
from tests.factories import UserFactory
from apps.identity.models import ProviderIdentity
bea = ProviderIdentity.objects.get(subject="bea").user
owner = UserFactory(username="omar.owner", roles=["model_owner"])
model = promotable_model(owner, bea, "sso-scorer")
print(request_promotion(model, owner).pk)
"""

SIGNED = """
from apps.approvals.models import Decision
d = Decision.objects.get(request_id={pk})
print(d.approver.username, d.signature_method, d.signature_issuer, d.signature_auth_time.year)
"""


@pytest.mark.browser
def test_a_person_signs_an_approval_by_signing_in_again_at_the_provider(tmp_path, chromium):
    with mlgov_at_provider(
        tmp_path,
        "sso-sign",
        ports=(SIGNING_PROVIDER_PORT, SIGNING_MLGOV_PORT),
        person="bea",
        group="mlgov-business-owners",
        role="business_owner",
        # auth_time must not be before the signature began (whole seconds, no skew).
        MLGOV_OIDC_SIGNATURE_SKEW_SECONDS="0",
    ) as (base, idp, site):
        signing_journey(chromium, base, idp, site)


def signing_journey(chromium, base: str, idp: oidc_provider.Provider, site) -> None:
    import time

    from playwright.sync_api import expect

    page = chromium.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base, "bea")
    expect(page.locator(".account-roles")).to_have_text("Business owner")
    # The last line: the console e-mail backend prints the approver's notification first.
    pk = site.manage("shell", "-v", "0", "-c", SIGNING_SETUP).strip().splitlines()[-1]
    assert pk.isdigit(), pk
    time.sleep(1.2)  # the sign-in's authentication is now at least a second old

    # The form offers the provider, not a password.
    page.goto(f"{base}/approvals/requests/{pk}/")
    form = page.locator("form.decision-form")
    expect(form.get_by_role("button", name="Sign with Bank SSO")).to_be_visible()
    expect(form.locator("input[type=password]")).to_have_count(0)

    # A browser that drops prompt=login and max_age (here: from mlgov's redirect to the
    # provider) is answered from the provider's session, with the sign-in's auth_time:
    # refused, nothing recorded.
    decide = f"{base}/approvals/requests/{pk}/decide/"

    def skip_login(route):
        answer = route.fetch(max_redirects=0)
        location = re.sub(r"&(prompt|max_age)=[^&]*", "", answer.headers["location"])
        assert "prompt=" not in location and "max_age=" not in location
        route.fulfill(response=answer, headers={**answer.headers, "location": location})

    page.route(decide, skip_login)
    form.get_by_label("Approve", exact=True).check()
    form.get_by_role("button", name="Sign with Bank SSO").click()
    expect(page.locator(".messages")).to_contain_text("was not fresh")
    expect(page).to_have_url(re.compile(rf"/approvals/requests/{pk}/$"))
    expect(page.locator("#decisions-table")).to_have_count(0)
    page.unroute(decide)

    # Signing again: the provider asks for the password although its session is open.
    form = page.locator("form.decision-form")
    form.get_by_label("Approve", exact=True).check()
    form.get_by_role("button", name="Sign with Bank SSO").click()
    expect(page.locator("input[name=login]")).to_be_visible()
    page.locator("input[name=login]").fill("bea")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page.get_by_text("has been signed")).to_be_visible()
    expect(page.locator("#decisions-table .signature-method")).to_contain_text(
        f"re-authenticated at {idp.issuer}"
    )

    signed = site.manage("shell", "-v", "0", "-c", SIGNED.format(pk=pk)).splitlines()[-1].split()
    assert signed[:3] == ["bea", "provider", idp.issuer]


ROLLBACK_SETUP = """
from django.db import transaction
from apps.identity.models import ProviderIdentity
from apps.incidents.services import incident_create
from apps.inventory.services import promote_version
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory
owner = UserFactory(username="omar.owner", roles=["model_owner"])
admin = UserFactory(username="ada.admin", roles=["admin"])
model = RegisteredModelFactory(
    slug="sso-live", name="Sso live", owner=owner, risk_tier=1, eu_ai_act_class="minimal",
    status="approved",
)
for number in ("1.0.0", "2.0.0"):
    with transaction.atomic():
        promote_version(actor=admin, version=ModelVersionFactory(model=model, version=number))
incident = incident_create(
    actor=owner, model=model, title="Scores went flat", severity="sev2", description="Flat."
)
print(incident.reference)
"""

ROLLED_BACK = """
from apps.incidents.models import IncidentEvent
e = IncidentEvent.objects.get(incident__reference="{reference}", kind="rollback")
s = e.data["signature"]
print(e.data["to"], s["signed_by"], s["method"], s["issuer"], bool(s["auth_time"]))
print(e.incident.rollback_request.content["signature"] == s)
"""


@pytest.mark.browser
def test_a_validator_signs_a_rollback_by_signing_in_again_at_the_provider(tmp_path, chromium):
    with mlgov_at_provider(
        tmp_path,
        "sso-rollback",
        ports=(ROLLBACK_PROVIDER_PORT, ROLLBACK_MLGOV_PORT),
        person="rita",
        group="mlgov-validators",
        role="validator",
        MLGOV_OIDC_SIGNATURE_SKEW_SECONDS="0",
    ) as (base, idp, site):
        rollback_journey(chromium, base, idp, site)


def rollback_journey(chromium, base: str, idp: oidc_provider.Provider, site) -> None:
    from playwright.sync_api import expect

    page = chromium.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base, "rita")
    reference = site.manage("shell", "-v", "0", "-c", ROLLBACK_SETUP).strip().splitlines()[-1]
    assert reference.startswith("INC-"), reference
    incident_url = f"{base}/incidents/{reference}/"

    def rollback_section():
        return page.locator("section", has=page.get_by_role("heading", name="Emergency rollback"))

    # The form offers the provider, not a password; the confirmation says how it is signed.
    page.goto(incident_url)
    section = rollback_section()
    button = section.get_by_role("button", name="Sign with Bank SSO and roll back to 1.0.0…")
    expect(button).to_be_visible()
    expect(section.locator("input[type=password]")).to_have_count(0)
    questions: list[str] = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    # A sign-in cancelled at the provider (the provider answers access_denied): nothing is
    # rolled back and the page says why.
    def cancel(route):
        answer = route.fetch(max_redirects=0)
        authorize = answer.headers["location"]
        state = re.search(r"[?&]state=([^&]+)", authorize).group(1)
        location = f"{base}/oidc/signature/callback/?state={state}&error=access_denied"
        route.fulfill(response=answer, headers={**answer.headers, "location": location})

    rollback = f"{incident_url}rollback/"
    page.route(rollback, cancel)
    section.get_by_label("Reason").fill("2.0.0 scores everything 0.5.")
    page.once("dialog", accept)
    button.click()
    expect(page.locator(".messages")).to_contain_text("the provider answered 'access_denied'")
    expect(page).to_have_url(incident_url)
    expect(page.locator("#timeline")).not_to_contain_text("Production version 2.0.0 → 1.0.0")
    page.unroute(rollback)
    assert "signed by signing in again at Bank SSO" in questions[0]

    # Signing again: the provider asks for the password although its session is open.
    section = rollback_section()
    section.get_by_label("Reason").fill("2.0.0 scores everything 0.5.")
    page.once("dialog", accept)
    section.get_by_role("button", name="Sign with Bank SSO and roll back to 1.0.0…").click()
    expect(page.locator("input[name=login]")).to_be_visible()
    page.locator("input[name=login]").fill("rita")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page.locator(".messages")).to_contain_text("1.0.0 is back in production")
    expect(page).to_have_url(incident_url)
    expect(page.locator("#timeline")).to_contain_text("Production version 2.0.0 → 1.0.0")
    expect(page.locator("#timeline .signature-method")).to_contain_text(
        f"re-authenticated at {idp.issuer}"
    )

    recorded = site.manage("shell", "-v", "0", "-c", ROLLED_BACK.format(reference=reference))
    signed, ratification = recorded.strip().splitlines()[-2:]
    assert signed.split() == ["1.0.0", "rita", "provider", idp.issuer, "True"]
    assert ratification == "True"
