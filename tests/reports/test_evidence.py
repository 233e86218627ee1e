"""Evidence packs: what they hold, a manifest with every file's SHA-256 and the audit chain
head, signed with the installation's Ed25519 key, a deterministic archive, and a verification
that refuses a bad signature and names any file that does not match."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import timezone

from apps.core.signing import (
    KeySet,
    Signature,
    Signer,
    generate_private_key_pem,
    installation_keyset,
)
from apps.reports import evidence, generators
from apps.reports.choices import GENERATOR
from apps.reports.history import audit_head_at
from tests.reports.jobs import media  # noqa: F401

HEAD = {"sequence": 42, "hash": "c" * 64}
META = {
    "generated_at": "2026-11-24T10:15:00Z",
    "generated_by": {"username": "aud.auditor", "name": "Aud Auditor", "role_labels": ["Auditor"]},
    "generator": GENERATOR,
    "snapshot_sha256": "",
    "audit_chain_head": HEAD,
    "as_of": "2026-11-24T10:15:00Z",
    "report_id": 3,
}
SIGNER = Signer.from_pem(generate_private_key_pem())
KEYS = KeySet.of(current=SIGNER.public_key)
FILES = {
    "model-card.pdf": (b"%PDF-1.7 card", "application/pdf"),
    "model-card.json": (b'{"mlgov_model_card": 1}\n', "application/json"),
    "audit-extract.csv": (b"sequence,action\n1,create\n", "text/csv; charset=utf-8"),
}


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The same archive with some members replaced (bytes) or left out (None)."""
    originals = members(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in originals.items():
            content = changes.get(name, content)
            if content is not None:
                archive.writestr(name, content)
        for name, content in changes.items():
            if name not in originals and content is not None:
                archive.writestr(name, content)
    return buffer.getvalue()


def test_the_manifest_lists_every_file_with_its_hash_size_and_type():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug="owned-model", signer=SIGNER)
    manifest = json.loads(members(data)["manifest.json"])
    assert manifest["audit_chain_head"] == HEAD and manifest["as_of"] == META["as_of"]
    assert manifest["generated_by"]["username"] == "aud.auditor"
    assert manifest["generator"] == GENERATOR and manifest["scope"]["model"] == "owned-model"
    assert [f["name"] for f in manifest["files"]] == sorted(FILES)
    card = next(f for f in manifest["files"] if f["name"] == "model-card.pdf")
    assert card == {
        "name": "model-card.pdf",
        "sha256": evidence.sha256_hex(b"%PDF-1.7 card"),
        "size": len(b"%PDF-1.7 card"),
        "content_type": "application/pdf",
    }


def test_the_archive_is_deterministic_and_sorted():
    first = evidence.pack_bytes(files=FILES, meta=META, model_slug="owned-model", signer=SIGNER)
    reordered = dict(reversed(list(FILES.items())))
    second = evidence.pack_bytes(
        files=reordered, meta=META, model_slug="owned-model", signer=SIGNER
    )
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted([*FILES, "manifest.json", "manifest.sig"])
    assert {i.date_time for i in infos} == {evidence.ZIP_DATE_TIME}


def test_a_fresh_pack_verifies():
    result = evidence.verify_pack(
        evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER), keyset=KEYS
    )
    assert result.ok and sorted(result.checked) == sorted(FILES) and result.problems() == []


def test_one_changed_byte_inside_a_member_is_named():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    changed = rewrite(data, {"model-card.pdf": b"%PDF-1.7 cart"})
    result = evidence.verify_pack(changed, keyset=KEYS)
    assert not result.ok
    assert [name for name, _ in result.mismatched] == ["model-card.pdf"]
    assert result.problems()[0].startswith("model-card.pdf: SHA-256")


def test_a_lying_manifest_is_caught():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    manifest = json.loads(members(data)["manifest.json"])
    manifest["files"][0]["sha256"] = "0" * 64  # audit-extract.csv, sorted first
    lied = rewrite(data, {"manifest.json": json.dumps(manifest).encode()})
    result = evidence.verify_pack(lied, keyset=KEYS)
    assert [name for name, _ in result.mismatched] == ["audit-extract.csv"]
    assert "does not match the signed bytes" in result.signature_errors[0]


def test_missing_extra_and_unlisted_files_are_named():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    tampered = rewrite(data, {"model-card.json": None, "notes.txt": b"added later"})
    result = evidence.verify_pack(tampered, keyset=KEYS)
    assert result.missing == ["model-card.json"] and result.extra == ["notes.txt"]
    assert "model-card.json: listed in the manifest but missing from the pack" in result.problems()
    assert "notes.txt: in the pack but not listed in the manifest" in result.problems()


def test_a_broken_archive_or_manifest_is_reported():
    assert "not a readable ZIP" in evidence.verify_pack(b"not a zip", keyset=KEYS).problems()[0]
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    no_manifest = rewrite(data, {"manifest.json": None})
    assert evidence.verify_pack(no_manifest, keyset=KEYS).manifest_errors == [
        "missing from the pack"
    ]
    garbage = rewrite(data, {"manifest.json": b"{not json"})
    assert "not valid JSON" in evidence.verify_pack(garbage, keyset=KEYS).manifest_errors[0]
    manifest = json.loads(members(data)["manifest.json"])
    manifest["audit_chain_head"] = {"sequence": "x"}
    headless = rewrite(data, {"manifest.json": json.dumps(manifest).encode()})
    assert evidence.verify_pack(headless, keyset=KEYS).manifest_errors == [
        "audit_chain_head is missing or malformed"
    ]


def test_a_corrupted_member_is_unreadable_not_a_crash():
    data = bytearray(evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER))
    # Flip a byte of the stored (compressed) data of the first member.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("audit-extract.csv")
    offset = info.header_offset + 30 + len(info.filename.encode()) + 2
    data[offset] ^= 0xFF
    result = evidence.verify_pack(bytes(data), keyset=KEYS)
    assert not result.ok
    assert [name for name, _ in result.mismatched] == ["audit-extract.csv"]


# --- packs built from the record (the real report modules) ----------------------------------


@pytest.mark.django_db
def test_a_model_pack_holds_its_card_lineage_and_audit_extract(world):
    meta = {**META, "audit_chain_head": audit_head_at(timezone.now())}
    data = evidence.build_pack(user=world.cast.admin, model=world.model, as_of=None, meta=meta)
    result = evidence.verify_pack(data, keyset=installation_keyset())
    assert result.ok, result.problems()
    names = set(members(data))
    assert names == {name for name, _, _ in evidence.MODEL_FILES} | {
        "manifest.json",
        "manifest.sig",
    }
    files = members(data)
    assert files["model-card.pdf"].startswith(b"%PDF") and files["lineage.pdf"].startswith(b"%PDF")
    card = json.loads(files["model-card.json"])
    assert card["snapshot"]["model"]["slug"] == "credit-scoring"
    assert (
        card["meta"]["snapshot_sha256"]
        == generators.card_meta(card["snapshot"], meta)["snapshot_sha256"]
    )
    assert json.loads(files["manifest.json"])["audit_chain_head"] == meta["audit_chain_head"]


@pytest.mark.django_db
def test_an_inventory_pack_holds_the_register_and_each_visible_models_card(world):
    meta = {**META, "audit_chain_head": audit_head_at(timezone.now())}
    data = evidence.build_pack(user=world.cast.admin, model=None, as_of=None, meta=meta)
    names = set(members(data))
    assert {"register.csv", "register.xlsx", "register.pdf", "lineage.json"} <= names
    assert "models/credit-scoring/model-card.pdf" in names
    assert f"models/{world.upstream.slug}/model-card.json" in names
    assert evidence.verify_pack(data, keyset=installation_keyset()).ok


# --- the signature ---------------------------------------------------------------------------


def test_the_pack_carries_a_detached_signature_over_its_manifest():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    files = members(data)
    signature = Signature.from_document(files["manifest.sig"])
    assert signature.key_id == SIGNER.key_id
    assert KEYS.verify(files["manifest.json"], signature).key_id == SIGNER.key_id
    result = evidence.verify_pack(data, keyset=KEYS)
    assert result.ok and result.key_id == SIGNER.key_id


def test_a_file_and_its_manifest_line_rewritten_together_are_refused():
    """The attack the SHA-256 manifest alone did not stop: change a file, then write its new
    hash and size into the manifest. Every hash matches; only the signature fails."""
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    forged = b"sequence,action\n1,create\n2,nothing to see\n"
    manifest = json.loads(members(data)["manifest.json"])
    entry = next(f for f in manifest["files"] if f["name"] == "audit-extract.csv")
    entry.update(sha256=evidence.sha256_hex(forged), size=len(forged))
    tampered = rewrite(
        data,
        {"audit-extract.csv": forged, "manifest.json": generators.json_bytes(manifest)},
    )
    result = evidence.verify_pack(tampered, keyset=KEYS)
    assert result.mismatched == [] and result.missing == []  # the hashes agree...
    assert not result.ok  # ...but the signature does not
    assert result.problems() == [
        f"manifest.sig: the Ed25519 signature by key {SIGNER.key_id} does not match the "
        "signed bytes"
    ]


def test_a_tampered_signature_is_refused():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    document = json.loads(members(data)["manifest.sig"])
    value = bytearray(Signature.from_document(document).value)
    value[0] ^= 0x01
    document["signature"] = Signature(key_id=SIGNER.key_id, value=bytes(value)).value_b64
    result = evidence.verify_pack(
        rewrite(data, {"manifest.sig": json.dumps(document).encode()}), keyset=KEYS
    )
    assert not result.ok and "does not match the signed bytes" in result.signature_errors[0]


def test_a_missing_signature_is_refused():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    result = evidence.verify_pack(rewrite(data, {"manifest.sig": None}), keyset=KEYS)
    assert not result.ok
    assert result.problems() == ["manifest.sig: missing from the pack; an unsigned pack is refused"]


def test_a_pack_signed_by_an_unknown_key_is_refused_naming_the_key():
    stranger = Signer.from_pem(generate_private_key_pem())
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=stranger)
    result = evidence.verify_pack(data, keyset=KEYS)
    assert not result.ok
    assert result.signature_errors == [
        f"signed with key {stranger.key_id}, which is not among the trusted keys ({SIGNER.key_id})"
    ]


def test_a_malformed_signature_file_is_named():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=SIGNER)
    result = evidence.verify_pack(rewrite(data, {"manifest.sig": b"{oops"}), keyset=KEYS)
    assert result.signature_errors[0].startswith("the signature document is not valid JSON")


def test_an_old_pack_verifies_after_rotation_with_the_retired_key_in_the_set():
    old = SIGNER
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None, signer=old)
    new = Signer.from_pem(generate_private_key_pem())
    after_rotation = KeySet.of(current=new.public_key, retired=[old.public_key])
    result = evidence.verify_pack(data, keyset=after_rotation)
    assert result.ok and result.key_id == old.key_id
    # Without the retired key the same pack is refused, naming the key it needs.
    only_new = KeySet.of(current=new.public_key)
    assert old.key_id in evidence.verify_pack(data, keyset=only_new).signature_errors[0]


def test_the_pack_itself_cannot_hold_a_file_named_like_the_signature():
    with pytest.raises(ValueError, match=r"manifest\.sig"):
        evidence.pack_bytes(
            files={"manifest.sig": (b"{}", "application/json")},
            meta=META,
            model_slug=None,
            signer=SIGNER,
        )
