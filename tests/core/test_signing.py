"""The signing key: Ed25519 signatures over exact bytes, key ids computed from the public key,
key sets that keep retired keys, and the key read from the environment at start-up."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apps.core import signing
from apps.core.signing import KeySet, Signature, SignatureError, Signer, SigningKeyError
from tests.core.fresh_process import run_with_settings

BASE_DIR = Path(__file__).resolve().parents[2]


def new_signer() -> Signer:
    return Signer.from_pem(signing.generate_private_key_pem())


# --- signatures ------------------------------------------------------------------------------


def test_a_signature_round_trips_through_its_document():
    signer = new_signer()
    signature = signer.sign(b"manifest bytes")
    parsed = Signature.from_document(signature.document_bytes())
    assert parsed == signature
    keys = KeySet.of(current=signer.public_key)
    assert keys.verify(b"manifest bytes", parsed).key_id == signer.key_id
    assert json.loads(signature.document_bytes()) == {
        "schema": "mlgov.signature/1",
        "algorithm": "Ed25519",
        "key_id": signer.key_id,
        "signature": base64.b64encode(signature.value).decode(),
    }


def test_the_key_id_is_the_first_16_hex_of_the_sha256_of_the_raw_public_key():
    signer = new_signer()
    raw = signer.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_one_changed_byte_fails_the_signature():
    signer = new_signer()
    signature = signer.sign(b'{"sha256": "aa"}')
    with pytest.raises(SignatureError, match=f"by key {signer.key_id} does not match"):
        KeySet.of(current=signer.public_key).verify(b'{"sha256": "ab"}', signature)


def test_a_tampered_signature_fails():
    signer = new_signer()
    signature = signer.sign(b"data")
    flipped = bytes([signature.value[0] ^ 1]) + signature.value[1:]
    with pytest.raises(SignatureError, match="does not match"):
        KeySet.of(current=signer.public_key).verify(
            b"data", Signature(key_id=signer.key_id, value=flipped)
        )


def test_a_signature_by_a_key_outside_the_set_is_refused_naming_its_id():
    trusted, stranger = new_signer(), new_signer()
    with pytest.raises(SignatureError) as error:
        KeySet.of(current=trusted.public_key).verify(b"data", stranger.sign(b"data"))
    assert str(error.value) == (
        f"signed with key {stranger.key_id}, which is not among the trusted keys ({trusted.key_id})"
    )


def test_a_signature_claiming_a_trusted_key_id_is_checked_with_that_key():
    """The key id only selects the key: a stranger's signature relabelled with the trusted
    key's id still fails."""
    trusted, stranger = new_signer(), new_signer()
    forged = Signature(key_id=trusted.key_id, value=stranger.sign(b"data").value)
    with pytest.raises(SignatureError, match="does not match"):
        KeySet.of(current=trusted.public_key).verify(b"data", forged)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"schema": "other"}', "schema is not mlgov.signature/1"),
        (
            b'{"schema": "mlgov.signature/1", "algorithm": "RS256", "key_id": "0123456789abcdef"}',
            "algorithm is 'RS256'",
        ),
        (
            b'{"schema": "mlgov.signature/1", "algorithm": "Ed25519", "key_id": "nope"}',
            "key id 'nope' is malformed",
        ),
        (
            b'{"schema": "mlgov.signature/1", "algorithm": "Ed25519", '
            b'"key_id": "0123456789abcdef", "signature": "***"}',
            "not base64",
        ),
        (
            b'{"schema": "mlgov.signature/1", "algorithm": "Ed25519", '
            b'"key_id": "0123456789abcdef", "signature": "AAAA"}',
            "is 3 bytes",
        ),
    ],
)
def test_a_malformed_signature_document_is_named(document, words):
    with pytest.raises(SignatureError, match=words):
        Signature.from_document(document)


# --- key sets ----------------------------------------------------------------------------------


def test_rotation_keeps_old_signatures_verifiable_with_the_retired_key():
    old, new = new_signer(), new_signer()
    old_signature = old.sign(b"filed last year")
    keys = KeySet.of(current=new.public_key, retired=[old.public_key])
    assert keys.verify(b"filed last year", old_signature).status == signing.RETIRED
    assert keys.verify(b"filed today", new.sign(b"filed today")).status == signing.CURRENT
    assert keys.key_ids() == [new.key_id, old.key_id]  # current first


def test_a_key_set_reads_back_from_its_pem_and_its_jwks():
    old, new = new_signer(), new_signer()
    keys = KeySet.of(current=new.public_key, retired=[old.public_key])
    for data in (keys.pem().encode(), keys.jwks_bytes()):
        loaded = signing.load_public_keys(data, source="test")
        assert sorted(signing.key_id(k) for k in loaded) == sorted([old.key_id, new.key_id])
    jwk = keys.jwks()["keys"][0]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA"
    assert jwk["kid"] == new.key_id and jwk["mlgov_status"] == "current"
    assert "d" not in jwk


def test_a_jwk_whose_kid_is_not_its_keys_id_is_refused():
    signer, other = new_signer(), new_signer()
    jwk = signing.public_key_jwk(signer.public_key)
    jwk["kid"] = other.key_id
    with pytest.raises(SigningKeyError, match=f"declares key id {other.key_id}"):
        signing.load_public_keys(json.dumps({"keys": [jwk]}).encode(), source="keys.json")


def test_a_private_key_is_refused_where_public_keys_are_expected():
    pem = signing.generate_private_key_pem().encode()
    with pytest.raises(SigningKeyError, match=r"keys\.pem: block 1 is a private key"):
        signing.load_public_keys(pem, source="keys.pem")
    jwk = signing.public_key_jwk(new_signer().public_key) | {"d": "secret"}
    with pytest.raises(SigningKeyError, match="holds a private key"):
        signing.load_public_keys(json.dumps({"keys": [jwk]}).encode(), source="keys.json")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"hello", "no PEM public key and no JSON key set"),
        (b'{"keys": []}', "non-empty"),
        (b'{"keys": [{"kty": "RSA"}]}', "not an Ed25519 JWK"),
        (b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}', "32-byte x"),
    ],
)
def test_unusable_public_key_files_are_named(data, words):
    with pytest.raises(SigningKeyError, match=words):
        signing.load_public_keys(data, source="keys")


def test_only_unencrypted_ed25519_private_keys_are_accepted():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(
        SigningKeyError, match="MLGOV_SIGNING_KEY: the signing key must be an Ed25519"
    ):
        signing.private_key_from_pem(ec_pem, source="MLGOV_SIGNING_KEY")
    encrypted = signing.Signer.from_pem(signing.generate_private_key_pem())._private_key
    encrypted_pem = encrypted.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    with pytest.raises(SigningKeyError, match="encrypted"):
        signing.private_key_from_pem(encrypted_pem, source="MLGOV_SIGNING_KEY")
    with pytest.raises(SigningKeyError, match="not a PEM private key"):
        signing.private_key_from_pem("garbage", source="MLGOV_SIGNING_KEY")


def test_the_embedded_key_file_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "signing_key.pem"
    signing.write_private_key(path, signing.generate_private_key_pem())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer.from_pem(path.read_text()).key_id
    assert [p.name for p in tmp_path.iterdir()] == ["signing_key.pem"]  # no temporary left


def test_a_signer_never_shows_its_key():
    signer = new_signer()
    assert repr(signer) == f"<Signer {signer.key_id}>"


# --- the key at start-up (settings, in a fresh process) ---------------------------------------

PRINT_KEY = (
    "import json, django; django.setup(); from apps.core import signing; "
    "print(json.dumps({'key_id': signing.installation_signer().key_id, "
    "'keys': signing.installation_keyset().key_ids()}))"
)


def start(tmp_path, **env_values: str) -> subprocess.CompletedProcess:
    return run_with_settings(PRINT_KEY, tmp_path, **env_values)


def test_the_embedded_default_generates_its_key_into_var_once(tmp_path):
    first = start(tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "signing_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_id = json.loads(first.stdout)["key_id"]
    assert key_id == Signer.from_pem(key_file.read_text()).key_id
    second = start(tmp_path)
    assert json.loads(second.stdout)["key_id"] == key_id  # kept, not regenerated


def test_a_production_start_without_a_signing_key_is_refused(tmp_path):
    result = start(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/mlgov",
        DJANGO_SECRET_KEY="k" * 60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: MLGOV_SIGNING_KEY or MLGOV_SIGNING_KEY_FILE must be set" in (
        result.stderr
    )
    assert not (tmp_path / "signing_key.pem").exists()


def test_a_production_start_reads_the_key_from_the_environment_or_a_file(tmp_path):
    pem = signing.generate_private_key_pem()
    expected = Signer.from_pem(pem).key_id
    production = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mlgov",
        "DJANGO_SECRET_KEY": "k" * 60,
    }
    inline = start(tmp_path, MLGOV_SIGNING_KEY=pem.replace("\n", "\\n"), **production)
    assert inline.returncode == 0, inline.stderr
    assert json.loads(inline.stdout)["key_id"] == expected
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem)
    from_file = start(tmp_path, MLGOV_SIGNING_KEY_FILE=str(key_file), **production)
    assert json.loads(from_file.stdout)["key_id"] == expected


@pytest.mark.parametrize(
    ("env_values", "words"),
    [
        ({"MLGOV_SIGNING_KEY": "not a key"}, "MLGOV_SIGNING_KEY: not a PEM private key"),
        ({"MLGOV_SIGNING_KEY_FILE": "/nonexistent/key.pem"}, "MLGOV_SIGNING_KEY_FILE=/nonexistent"),
        (
            {"MLGOV_SIGNING_PUBLIC_KEYS_FILE": "/nonexistent/keys.pem"},
            "MLGOV_SIGNING_PUBLIC_KEYS_FILE: cannot read",
        ),
    ],
)
def test_an_unusable_key_setting_stops_the_start_up_naming_it(tmp_path, env_values, words):
    result = start(tmp_path, **env_values)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and words in result.stderr


def test_both_key_variables_at_once_are_refused(tmp_path):
    pem = signing.generate_private_key_pem()
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem)
    result = start(tmp_path, MLGOV_SIGNING_KEY=pem, MLGOV_SIGNING_KEY_FILE=str(key_file))
    assert result.returncode != 0
    assert "Set MLGOV_SIGNING_KEY or MLGOV_SIGNING_KEY_FILE, not both" in result.stderr


def test_retired_public_keys_from_the_environment_join_the_key_set(tmp_path):
    old, current_pem = new_signer(), signing.generate_private_key_pem()
    keys_file = tmp_path / "retired.json"
    keys_file.write_bytes(KeySet.of(retired=[old.public_key]).jwks_bytes())
    result = start(
        tmp_path, MLGOV_SIGNING_KEY=current_pem, MLGOV_SIGNING_PUBLIC_KEYS_FILE=str(keys_file)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["keys"] == [Signer.from_pem(current_pem).key_id, old.key_id]


def test_processes_starting_together_end_up_with_the_same_embedded_key(tmp_path):
    path = tmp_path / "var" / "signing_key.pem"
    with ProcessPoolExecutor(max_workers=6) as pool:
        keys = set(pool.map(signing.ensure_private_key, [path] * 12))
    assert len(keys) == 1 and keys == {path.read_text()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["signing_key.pem"]
    assert signing.ensure_private_key(path) == path.read_text()  # an existing key is kept
