"""The installation's Ed25519 signing key: it signs report manifests and evidence packs (and,
later, audit checkpoints), so that a file and its manifest cannot be rewritten together
without the signature failing.

- The **private key** comes from the environment (``MLGOV_SIGNING_KEY`` as PEM or
  ``MLGOV_SIGNING_KEY_FILE``), read and checked once by ``mlgov/settings.py``; the embedded
  default generates one into ``var/`` (mode 0600).
- A **key id** names a key: the first 16 hex digits of the SHA-256 of its raw 32-byte public
  key. It is computed, never trusted from a file, so a key set cannot claim another key's id.
- **Rotation keeps old public keys**: the public keys of retired keys are listed in a file the
  operator controls (``MLGOV_SIGNING_PUBLIC_KEYS_FILE``: PEM blocks or the JWK set this module
  writes). They are configuration, not database rows, so whoever can write to the database
  cannot add a key the installation would then vouch for.
- Signatures are **detached** and cover the exact bytes signed (a manifest as stored); the
  signature document (``Signature.document_bytes``) names the algorithm and the key id.

Everything here is pure (no ORM); only ``installation_signer`` and ``installation_keyset`` read
Django settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
#: The ``schema`` of a signature document (``manifest.sig`` in a pack, the API's signature).
SIGNATURE_SCHEMA = "mlgov.signature/1"
CURRENT, RETIRED = "current", "retired"
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_PEM_BLOCK_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", flags=re.DOTALL
)


class SigningKeyError(ValueError):
    """A key (or key set) cannot be used; the message names where it came from."""


class SignatureError(Exception):
    """A signature does not verify; the message says why in one line (unknown key id, bad
    signature, malformed signature document)."""


# --- keys ------------------------------------------------------------------------------------


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def generate_private_key_pem() -> str:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM (what ``openssl genpkey
    -algorithm ed25519`` writes)."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def private_key_from_pem(text: str | bytes, *, source: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``text`` (PKCS#8 PEM, unencrypted); ``source`` names where it
    came from in the error."""
    data = text.encode() if isinstance(text, str) else text
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted: a password would be needed
        raise SigningKeyError(
            f"{source}: the signing key is encrypted; give an unencrypted PKCS#8 PEM key."
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(
            f"{source}: not a PEM private key (make one with `openssl genpkey -algorithm ed25519`)."
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{source}: the signing key must be an Ed25519 key, not {type(key).__name__}."
        )
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_jwk(public_key: Ed25519PublicKey, *, status: str | None = None) -> dict:
    """The key as a JSON Web Key (RFC 8037: ``kty`` OKP, ``crv`` Ed25519)."""
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw(public_key)),
        "kid": key_id(public_key),
        "alg": "EdDSA",
        "use": "sig",
    }
    if status:
        jwk["mlgov_status"] = status
    return jwk


def _public_key_from_jwk(jwk: Any, *, source: str, position: int) -> Ed25519PublicKey:
    where = f"{source}: key {position}"
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise SigningKeyError(f'{where} is not an Ed25519 JWK (kty "OKP", crv "Ed25519").')
    if "d" in jwk:
        raise SigningKeyError(f"{where} holds a private key; publish public keys only.")
    try:
        raw = _b64url_decode(str(jwk.get("x", "")))
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise SigningKeyError(f"{where} has no valid 32-byte x value.") from exc
    declared = jwk.get("kid")
    if declared is not None and declared != key_id(public_key):
        raise SigningKeyError(
            f"{where} declares key id {declared}, but its key's id is {key_id(public_key)}."
        )
    return public_key


def _public_keys_from_pem(data: bytes, *, source: str) -> list[Ed25519PublicKey]:
    blocks = list(_PEM_BLOCK_RE.finditer(data))
    if not blocks:
        raise SigningKeyError(f"{source}: no PEM public key and no JSON key set found.")
    keys = []
    for position, block in enumerate(blocks, start=1):
        label = block.group(1).decode()
        if "PRIVATE" in label:
            raise SigningKeyError(
                f"{source}: block {position} is a private key; give public keys only."
            )
        try:
            public_key = serialization.load_pem_public_key(block.group(0))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise SigningKeyError(f"{source}: block {position} is not a public key.") from exc
        if not isinstance(public_key, Ed25519PublicKey):
            raise SigningKeyError(f"{source}: block {position} is not an Ed25519 public key.")
        keys.append(public_key)
    return keys


def load_public_keys(data: bytes, *, source: str) -> list[Ed25519PublicKey]:
    """The public keys in ``data``: PEM blocks (``-----BEGIN PUBLIC KEY-----``, one or more)
    or a JWK set (``{"keys": [...]}``, as served at ``/.well-known/mlgov-signing-keys.json``)."""
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        try:
            document = json.loads(stripped)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SigningKeyError(f"{source}: not valid JSON ({exc}).") from exc
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list) or not keys:
            raise SigningKeyError(f'{source}: a JWK set needs a non-empty "keys" list.')
        return [
            _public_key_from_jwk(jwk, source=source, position=i)
            for i, jwk in enumerate(keys, start=1)
        ]
    return _public_keys_from_pem(data, source=source)


def load_public_keys_file(path: str | Path, *, source: str | None = None) -> list[Ed25519PublicKey]:
    path = Path(path)
    label = source or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{label}: cannot read {path} ({exc.strerror}).") from exc
    return load_public_keys(data, source=label)


# --- signatures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A detached Ed25519 signature and the id of the key that made it."""

    key_id: str
    value: bytes
    algorithm: str = ALGORITHM

    @property
    def value_b64(self) -> str:
        return base64.b64encode(self.value).decode()

    def document(self) -> dict[str, str]:
        return {
            "schema": SIGNATURE_SCHEMA,
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "signature": self.value_b64,
        }

    def document_bytes(self) -> bytes:
        """The signature document as stored next to what it signs (``manifest.sig``)."""
        return (json.dumps(self.document(), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_parts(cls, *, key_id: str, value_b64: str, algorithm: str = ALGORITHM) -> Signature:
        """A signature from its key id and base64 value; SignatureError when malformed."""
        if algorithm != ALGORITHM:
            raise SignatureError(f"the signature's algorithm is {algorithm!r}, not {ALGORITHM}")
        if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
            raise SignatureError(f"the signature's key id {key_id!r} is malformed")
        try:
            value = base64.b64decode(str(value_b64), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("the signature value is not base64") from exc
        if len(value) != 64:
            raise SignatureError(f"the signature is {len(value)} bytes, an Ed25519 one is 64")
        return cls(key_id=key_id, value=value, algorithm=algorithm)

    @classmethod
    def from_document(cls, data: bytes | dict) -> Signature:
        """Parse a signature document; SignatureError names what is wrong with it."""
        if isinstance(data, bytes | bytearray):
            try:
                data = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SignatureError(f"the signature document is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise SignatureError("the signature document is not a JSON object")
        if data.get("schema") != SIGNATURE_SCHEMA:
            raise SignatureError(f"the signature document's schema is not {SIGNATURE_SCHEMA}")
        return cls.from_parts(
            key_id=data.get("key_id"),
            value_b64=data.get("signature", ""),
            algorithm=data.get("algorithm"),
        )


class Signer:
    """Signs bytes with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_pem(cls, text: str | bytes, *, source: str = "signing key") -> Signer:
        return cls(private_key_from_pem(text, source=source))

    def sign(self, data: bytes) -> Signature:
        return Signature(key_id=self.key_id, value=self._private_key.sign(data))

    def __repr__(self) -> str:  # never the key itself
        return f"<Signer {self.key_id}>"


@dataclass(frozen=True)
class PublicKeyEntry:
    key_id: str
    public_key: Ed25519PublicKey
    status: str  # CURRENT or RETIRED


class KeySet:
    """The public keys a verifier trusts, by key id: the current key and the retired ones."""

    def __init__(self, entries: Iterable[PublicKeyEntry] = ()):
        self._entries: dict[str, PublicKeyEntry] = {}
        for entry in entries:
            known = self._entries.get(entry.key_id)
            if known is None or (entry.status == CURRENT and known.status != CURRENT):
                self._entries[entry.key_id] = entry

    @classmethod
    def of(
        cls,
        *,
        current: Ed25519PublicKey | None = None,
        retired: Iterable[Ed25519PublicKey] = (),
    ) -> KeySet:
        entries = [PublicKeyEntry(key_id(k), k, RETIRED) for k in retired]
        if current is not None:
            entries.append(PublicKeyEntry(key_id(current), current, CURRENT))
        return cls(entries)

    def __contains__(self, kid: str) -> bool:
        return kid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[PublicKeyEntry]:
        """Current key first, then retired keys by id."""
        return sorted(self._entries.values(), key=lambda e: (e.status != CURRENT, e.key_id))

    def key_ids(self) -> list[str]:
        return [entry.key_id for entry in self.entries()]

    def verify(self, data: bytes, signature: Signature) -> PublicKeyEntry:
        """The key that made ``signature`` over ``data``; SignatureError when the key id is not
        in this set or the signature does not match the bytes."""
        entry = self._entries.get(signature.key_id)
        if entry is None:
            known = ", ".join(self.key_ids()) or "none"
            raise SignatureError(
                f"signed with key {signature.key_id}, which is not among the trusted keys ({known})"
            )
        try:
            entry.public_key.verify(signature.value, data)
        except InvalidSignature as exc:
            raise SignatureError(
                f"the Ed25519 signature by key {signature.key_id} does not match the signed bytes"
            ) from exc
        return entry

    def jwks(self) -> dict:
        """The JWK set served at ``/.well-known/mlgov-signing-keys.json``."""
        return {
            "keys": [public_key_jwk(e.public_key, status=e.status) for e in self.entries()],
        }

    def jwks_bytes(self) -> bytes:
        return (json.dumps(self.jwks(), indent=2, sort_keys=True) + "\n").encode()

    def pem(self) -> str:
        """Every key as PEM, each preceded by a comment line with its id and status."""
        return "".join(
            f"# key id {e.key_id} ({e.status})\n{public_key_pem(e.public_key)}"
            for e in self.entries()
        )


# --- the embedded default's key files --------------------------------------------------------


def write_private_key(path: Path, pem: str) -> None:
    """Write ``pem`` to ``path`` readable by its owner only, replacing it atomically; the
    file never exists with wider permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def ensure_private_key(path: Path) -> str:
    """The PEM key in ``path``, generated (owner-only) if there is none. Processes starting
    together (a server and its autoreloader, web and worker) end up with the same key: the
    first file to be linked into place wins, never one replaced under another's feet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}.new")
        write_private_key(candidate, generate_private_key_pem())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink(missing_ok=True)
    return path.read_text()


def append_public_key(path: Path, public_key: Ed25519PublicKey) -> None:
    """Add a retired key to a PEM key-set file (kept when the key rotates)."""
    existing = load_public_keys_file(path) if path.exists() else []
    if key_id(public_key) in {key_id(k) for k in existing}:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(f"# key id {key_id(public_key)} (retired)\n{public_key_pem(public_key)}")


# --- this installation's keys (from settings) ------------------------------------------------


@lru_cache(maxsize=4)
def _signer_for(pem: str) -> Signer:
    return Signer.from_pem(pem, source="MLGOV_SIGNING_KEY")


def installation_signer() -> Signer:
    """The signer of this installation (the key ``mlgov/settings.py`` loaded and checked)."""
    from django.conf import settings

    return _signer_for(settings.MLGOV_SIGNING_KEY_PEM)


@lru_cache(maxsize=4)
def _keyset_for(pem: str, retired_file: str, _mtime: float) -> KeySet:
    current = _signer_for(pem).public_key
    retired = (
        load_public_keys_file(retired_file, source=f"MLGOV_SIGNING_PUBLIC_KEYS_FILE={retired_file}")
        if retired_file
        else []
    )
    return KeySet.of(current=current, retired=retired)


def installation_keyset() -> KeySet:
    """The current public key and the retired ones this installation still vouches for."""
    from django.conf import settings

    path = settings.MLGOV_SIGNING_PUBLIC_KEYS_FILE
    retired_file, mtime = "", 0.0
    if path and Path(path).exists():
        retired_file, mtime = str(path), Path(path).stat().st_mtime
    return _keyset_for(settings.MLGOV_SIGNING_KEY_PEM, retired_file, mtime)
