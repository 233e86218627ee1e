"""A real OpenID provider for the sign-in tests: panva's oidc-provider (npm), run by Node from
``tests/identity/oidc_provider/provider.mjs`` on a 127.0.0.1 port, started and stopped by the
test's fixture.

The npm package is installed into ``var/oidc-provider`` the first time (as the browser tests
install axe-core into ``var/axe``). Without node or npm the tests that need the provider are
skipped, saying so; a failed install fails them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "oidc_provider"
INSTALL_DIR = ROOT / "var" / "oidc-provider"
PACKAGE = "oidc-provider"
START_SECONDS = 60
CLIENT_ID = "mlgov"
OTHER_CLIENT_ID = "other-app"


def node_and_npm() -> tuple[str, str] | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    return (node, npm) if node and npm else None


def install() -> Path:
    """The provider script in ``var/oidc-provider`` with its npm package; skips the test when
    node or npm is missing."""
    tools = node_and_npm()
    if tools is None:
        reason = "node and npm are needed to run the OpenID provider (oidc-provider): skipped"
        print(reason)
        pytest.skip(reason)
    _, npm = tools
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"][PACKAGE]
    installed = INSTALL_DIR / "node_modules" / PACKAGE / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        shutil.copy(HERE / "package.json", INSTALL_DIR / "package.json")
        completed = subprocess.run(
            [npm, "install", "--prefix", str(INSTALL_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if completed.returncode != 0 or not installed.exists():
            pytest.fail(f"npm install {PACKAGE}@{wanted} failed:\n{completed.stderr[-2000:]}")
    shutil.copy(HERE / "provider.mjs", INSTALL_DIR / "provider.mjs")
    return INSTALL_DIR / "provider.mjs"


def rsa_jwk(kid: str) -> tuple[dict, rsa.RSAPrivateKey]:
    """A new RSA signing key as a private JWK (for the provider) and as a key object."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    # PyJWT marks a private JWK "key_ops": ["sign"], which would forbid the provider to
    # verify its own tokens with it (an id_token_hint at sign-out).
    jwk.pop("key_ops", None)
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return jwk, key


@dataclass
class Provider:
    """A running provider: its issuer, the secrets of its clients and its users."""

    issuer: str
    port: int
    users_file: Path
    secrets: dict[str, str]
    kid: str
    users: dict[str, dict] = field(default_factory=dict)

    @property
    def allow(self) -> str:
        """The ``MLGOV_EGRESS_ALLOW`` entry that lets mlgov reach it."""
        return f"127.0.0.1:{self.port}"

    def set_user(self, login: str, **fields) -> None:
        """Add or change a user at the provider (read at their next sign-in)."""
        self.users[login] = {**self.users.get(login, {}), **fields}
        self.users_file.write_text(json.dumps(self.users))

    def discovery(self) -> dict:
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()


@contextlib.contextmanager
def running(
    tmp_path: Path, *, port: int, redirect_uris: list[str], logout_uris: list[str]
) -> Iterator[Provider]:
    """Start the provider on ``port`` with mlgov's client and a second one
    (``other-app``), stopped afterwards whatever happens."""
    script = install()
    node, _ = node_and_npm()
    issuer = f"http://127.0.0.1:{port}"
    kid = f"test-{secrets.token_hex(4)}"
    jwk, _ = rsa_jwk(kid)
    client_secrets = {
        CLIENT_ID: secrets.token_urlsafe(24),
        OTHER_CLIENT_ID: secrets.token_urlsafe(24),
    }
    clients = [
        {
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": logout_uris,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            # auth_time in every ID token, as mlgov's signatures need (and as Keycloak and
            # Okta send it), also when a request leaves out max_age and prompt=login.
            "require_auth_time": True,
        }
        for client_id, secret in client_secrets.items()
    ]
    users_file = tmp_path / "oidc-users.json"
    users_file.write_text("{}")
    config = tmp_path / "oidc-provider.json"
    config.write_text(
        json.dumps(
            {
                "issuer": issuer,
                "port": port,
                "users_file": str(users_file),
                "clients": clients,
                "jwks": {"keys": [jwk]},
                "cookie_keys": [secrets.token_urlsafe(32)],
                "lifetime_seconds": 1800,
            }
        )
    )
    log = tmp_path / "oidc-provider.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [node, str(script), str(config)],
            cwd=script.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            _wait_ready(process, log)
            yield Provider(
                issuer=issuer, port=port, users_file=users_file, secrets=client_secrets, kid=kid
            )
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the OpenID provider exited:\n{log.read_text()[-3000:]}")
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready and process.stdout.readline().startswith(b"ready "):
            return
    raise AssertionError(f"the OpenID provider did not start:\n{log.read_text()[-3000:]}")


# --- a browser's part of the flow, without a browser ------------------------------------------


def sign_in_at_provider(
    session: requests.Session,
    authorization_url: str,
    *,
    login: str,
    password: str,
    until: str,
    asked: list[str] | None = None,
) -> str:
    """Follow ``authorization_url`` at the provider as a browser would, signing in with the
    provider's login form when it asks (noted in ``asked``); returns the URL it finally sends
    the browser to (the one starting with ``until``: the client's redirect URI with the code)."""
    response = session.get(authorization_url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(until):
                return location
            response = session.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        assert action and 'name="login"' in response.text, response.text[:500]
        if asked is not None:
            asked.append(login)
        response = session.post(
            urljoin(response.url, action.group(1)),
            data={"prompt": "login", "login": login, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code != 401, f"the provider refused {login}'s password"
    raise AssertionError("the provider never sent the browser back")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def id_token_for(
    provider: Provider,
    client_id: str,
    *,
    login: str,
    password: str,
    nonce: str,
    redirect_uri: str,
    **extra: str,
) -> str:
    """A real ID token the provider issues to ``client_id`` for ``login`` (a whole code flow
    with PKCE, in a session of its own; ``extra`` authorisation parameters such as
    ``prompt`` and ``max_age``)."""
    found = provider.discovery()
    verifier, challenge = pkce_pair()
    query = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid email profile groups",
        "redirect_uri": redirect_uri,
        "state": secrets.token_urlsafe(16),
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    with requests.Session() as session:
        back = sign_in_at_provider(
            session,
            f"{found['authorization_endpoint']}?{urlencode(query)}",
            login=login,
            password=password,
            until=redirect_uri,
        )
        code = parse_qs(urlsplit(back).query)["code"][0]
        answer = session.post(
            found["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(client_id, provider.secrets[client_id]),
            timeout=10,
        )
    answer.raise_for_status()
    return answer.json()["id_token"]
