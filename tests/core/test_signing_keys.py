"""The public signing keys: served at /.well-known/mlgov-signing-keys.json without sign-in,
printed by ``manage.py signing_keys``, and rotated for the embedded default by ``--rotate``."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.core import signing
from apps.core.signing import KeySet, Signer

URL = "/.well-known/mlgov-signing-keys.json"


@pytest.fixture
def keys(settings, tmp_path):
    """An embedded-style key in ``tmp_path`` and one retired key in the key-set file."""
    key_file = tmp_path / "signing_key.pem"
    signing.write_private_key(key_file, signing.generate_private_key_pem())
    retired = Signer.from_pem(signing.generate_private_key_pem())
    public_keys_file = tmp_path / "signing_public_keys.pem"
    signing.append_public_key(public_keys_file, retired.public_key)
    settings.MLGOV_SIGNING_KEY_PEM = key_file.read_text()
    settings.MLGOV_SIGNING_KEY_SOURCE = f"embedded:{key_file}"
    settings.MLGOV_SIGNING_PUBLIC_KEYS_FILE = public_keys_file
    current = Signer.from_pem(key_file.read_text())
    return {"current": current, "retired": retired, "key_file": key_file, "file": public_keys_file}


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("signing_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_key_set_is_served_to_anyone_as_a_jwk_set(client, keys):
    assert reverse("signing-keys") == URL
    response = client.get(URL)  # anonymous: public keys are not secret
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    assert [(k["kid"], k["mlgov_status"]) for k in document["keys"]] == [
        (keys["current"].key_id, "current"),
        (keys["retired"].key_id, "retired"),
    ]
    assert all("d" not in k for k in document["keys"])
    loaded = signing.load_public_keys(response.content, source=URL)
    assert {signing.key_id(k) for k in loaded} == {keys["current"].key_id, keys["retired"].key_id}


def test_the_key_set_url_only_answers_reads(client, keys):
    assert client.post(URL).status_code == 405
    assert client.head(URL).status_code == 200


def test_the_command_prints_each_key_as_pem_with_its_id_and_status(keys):
    out, _ = run()
    assert out.startswith(f"# key id {keys['current'].key_id} (current)\n-----BEGIN PUBLIC KEY")
    assert f"# key id {keys['retired'].key_id} (retired)\n" in out
    assert "PRIVATE" not in out
    assert len(signing.load_public_keys(out.encode(), source="stdout")) == 2


def test_the_command_prints_the_served_key_set_as_jwks(client, keys):
    out, _ = run("--format", "jwks")
    assert out.encode() == client.get(URL).content


def test_rotation_retires_the_key_and_keeps_its_public_key(settings, keys, client):
    old = keys["current"]
    out, err = run("--rotate")
    new = Signer.from_pem(keys["key_file"].read_text())
    assert new.key_id != old.key_id
    assert stat.S_IMODE(keys["key_file"].stat().st_mode) == 0o600
    assert f"Rotated: key {old.key_id} retired" in err and f"new key {new.key_id}" in err
    assert out.startswith(f"# key id {new.key_id} (current)")
    assert f"# key id {old.key_id} (retired)" in out
    # What a restarted server publishes: the new key, the old one and the one before.
    settings.MLGOV_SIGNING_KEY_PEM = keys["key_file"].read_text()
    served = KeySet.of(
        retired=signing.load_public_keys(client.get(URL).content, source=URL)
    ).key_ids()
    assert sorted(served) == sorted([new.key_id, old.key_id, keys["retired"].key_id])


def test_rotation_is_refused_when_the_key_comes_from_the_environment(settings, keys):
    settings.MLGOV_SIGNING_KEY_SOURCE = "MLGOV_SIGNING_KEY_FILE=/etc/mlgov/signing-key.pem"
    before = keys["key_file"].read_text()
    with pytest.raises(CommandError, match="comes from MLGOV_SIGNING_KEY_FILE; rotate it there"):
        run("--rotate")
    assert keys["key_file"].read_text() == before
