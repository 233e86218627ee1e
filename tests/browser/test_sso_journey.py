"""Single sign-on in a real Chromium, against a real mlgov server process and a real OpenID
provider (oidc-provider on 127.0.0.1): a person signs in at the provider, arrives with the
role their group gives, loses it at their next sign-in once the provider drops the group,
and signing out of mlgov ends the provider's session too (the next sign-in asks for the
password again).

Skipped, saying why, without Chromium or without node and npm.
"""

from __future__ import annotations

import re

import pytest

from tests import live_server
from tests.browser.test_journey import CHROMIUM_ARGS, chromium_path
from tests.identity import provider as oidc_provider

# Ports of the identity tests' own range (18300–18349), not the in-process tests' 18310.
PROVIDER_PORT = 18320
MLGOV_PORT = 18321
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
