"""Single sign-on in a real Chromium, against a real mlgov server process and a real OpenID
provider (oidc-provider on 127.0.0.1): a person signs in at the provider, arrives with the
role their group gives, loses it at their next sign-in once the provider drops the group,
and signing out of mlgov ends the provider's session too (the next sign-in asks for the
password again). A business owner who signed in at the provider signs an approval by
signing in there again: a browser that skips the provider's password form (its earlier,
stale authentication) is refused and nothing is recorded; the forced re-authentication is
recorded as signed at the provider.

Skipped, saying why, without Chromium or without node and npm.
"""

from __future__ import annotations

import os
import re

import pytest

from tests import live_server
from tests.browser.test_journey import CHROMIUM_ARGS, chromium_path
from tests.identity import provider as oidc_provider

# Ports of the identity tests' own range (18300–18349), not the in-process tests' 18310, or
# from MLGOV_TEST_SSO_PORT and the next three (when several test runs share a machine).
_BASE_PORT = int(os.environ.get("MLGOV_TEST_SSO_PORT") or 18320)
PROVIDER_PORT, MLGOV_PORT = _BASE_PORT, _BASE_PORT + 1
SIGNING_PROVIDER_PORT, SIGNING_MLGOV_PORT = _BASE_PORT + 2, _BASE_PORT + 3
PASSWORD = "provider-password-1"


@pytest.fixture
def chromium():
    executable = chromium_path()
    if executable is None:
        reason = "no Chromium binary found (set MLGOV_CHROMIUM): single sign-on journey skipped"
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_a_person_signs_in_at_the_provider_and_gets_the_role_of_their_group(tmp_path, chromium):
    base = f"http://127.0.0.1:{MLGOV_PORT}"
    with oidc_provider.running(
        tmp_path,
        port=PROVIDER_PORT,
        redirect_uris=[f"{base}/oidc/callback/"],
        logout_uris=[f"{base}/accounts/login/"],
    ) as idp:
        idp.set_user(
            "rita",
            password=PASSWORD,
            email="rita@bank.example",
            given_name="Rita",
            family_name="Risk",
            groups=["mlgov-validators"],
        )
        env = {
            "MLGOV_OIDC_ISSUER": idp.issuer,
            "MLGOV_OIDC_CLIENT_ID": oidc_provider.CLIENT_ID,
            "MLGOV_OIDC_CLIENT_SECRET": idp.secrets[oidc_provider.CLIENT_ID],
            "MLGOV_OIDC_PROVIDER_NAME": "Bank SSO",
            "MLGOV_OIDC_GROUP_ROLES": "mlgov-validators=validator",
            "MLGOV_EGRESS_ALLOW": idp.allow,
        }
        with live_server.site(tmp_path, "sso", **env) as site:
            # Pages, not only the API: the server serves the collected, hashed static files.
            site.manage("collectstatic", "--noinput", "-v", "0")
            with live_server.server(site, "runserver", log=tmp_path / "mlgov.log", port=MLGOV_PORT):
                journey(chromium, base, idp, site)


def journey(chromium, base: str, idp: oidc_provider.Provider, site: live_server.Site) -> None:
    from playwright.sync_api import expect

    page = chromium.new_page()
    page.set_default_timeout(20_000)

    def sign_in(lands_on: str = "Dashboard") -> None:
        """From mlgov's sign-in page through the provider's password form and back."""
        page.goto(f"{base}/")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.get_by_role("link", name="Sign in with Bank SSO").click()
        page.locator("input[name=login]").fill("rita")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("button[type=submit]").first.click()
        expect(page.get_by_role("heading", name=lands_on)).to_be_visible()

    sign_in()
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
    sign_in(lands_on="You are not allowed to do this")
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
    base = f"http://127.0.0.1:{SIGNING_MLGOV_PORT}"
    with oidc_provider.running(
        tmp_path,
        port=SIGNING_PROVIDER_PORT,
        redirect_uris=[f"{base}/oidc/callback/", f"{base}/oidc/signature/callback/"],
        logout_uris=[f"{base}/accounts/login/"],
    ) as idp:
        idp.set_user(
            "bea",
            password=PASSWORD,
            email="bea@bank.example",
            given_name="Bea",
            family_name="Business",
            groups=["mlgov-business-owners"],
        )
        env = {
            "MLGOV_OIDC_ISSUER": idp.issuer,
            "MLGOV_OIDC_CLIENT_ID": oidc_provider.CLIENT_ID,
            "MLGOV_OIDC_CLIENT_SECRET": idp.secrets[oidc_provider.CLIENT_ID],
            "MLGOV_OIDC_PROVIDER_NAME": "Bank SSO",
            "MLGOV_OIDC_GROUP_ROLES": "mlgov-business-owners=business_owner",
            "MLGOV_EGRESS_ALLOW": idp.allow,
            # auth_time must not be before the signature began (whole seconds, no skew).
            "MLGOV_OIDC_SIGNATURE_SKEW_SECONDS": "0",
        }
        with live_server.site(tmp_path, "sso-sign", **env) as site:
            site.manage("collectstatic", "--noinput", "-v", "0")
            log = tmp_path / "mlgov.log"
            with live_server.server(site, "runserver", log=log, port=SIGNING_MLGOV_PORT):
                signing_journey(chromium, base, idp, site)


def signing_journey(chromium, base: str, idp: oidc_provider.Provider, site) -> None:
    import time

    from playwright.sync_api import expect

    page = chromium.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/")
    page.get_by_role("link", name="Sign in with Bank SSO").click()
    page.locator("input[name=login]").fill("bea")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
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
