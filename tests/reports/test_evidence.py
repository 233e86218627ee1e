"""Evidence packs: what they hold, a manifest with every file's SHA-256 and the audit chain
head, a deterministic archive, and a verification that names any file that does not match."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import timezone

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
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug="owned-model")
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
    first = evidence.pack_bytes(files=FILES, meta=META, model_slug="owned-model")
    reordered = dict(reversed(list(FILES.items())))
    second = evidence.pack_bytes(files=reordered, meta=META, model_slug="owned-model")
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted([*FILES, "manifest.json"])
    assert {i.date_time for i in infos} == {evidence.ZIP_DATE_TIME}


def test_a_fresh_pack_verifies():
    result = evidence.verify_pack(evidence.pack_bytes(files=FILES, meta=META, model_slug=None))
    assert result.ok and sorted(result.checked) == sorted(FILES) and result.problems() == []


def test_one_changed_byte_inside_a_member_is_named():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None)
    changed = rewrite(data, {"model-card.pdf": b"%PDF-1.7 cart"})
    result = evidence.verify_pack(changed)
    assert not result.ok
    assert [name for name, _ in result.mismatched] == ["model-card.pdf"]
    assert result.problems()[0].startswith("model-card.pdf: SHA-256")


def test_a_lying_manifest_is_caught():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None)
    manifest = json.loads(members(data)["manifest.json"])
    manifest["files"][0]["sha256"] = "0" * 64  # audit-extract.csv, sorted first
    lied = rewrite(data, {"manifest.json": json.dumps(manifest).encode()})
    result = evidence.verify_pack(lied)
    assert [name for name, _ in result.mismatched] == ["audit-extract.csv"]


def test_missing_extra_and_unlisted_files_are_named():
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None)
    tampered = rewrite(data, {"model-card.json": None, "notes.txt": b"added later"})
    result = evidence.verify_pack(tampered)
    assert result.missing == ["model-card.json"] and result.extra == ["notes.txt"]
    assert "model-card.json: listed in the manifest but missing from the pack" in result.problems()
    assert "notes.txt: in the pack but not listed in the manifest" in result.problems()


def test_a_broken_archive_or_manifest_is_reported():
    assert "not a readable ZIP" in evidence.verify_pack(b"not a zip").problems()[0]
    data = evidence.pack_bytes(files=FILES, meta=META, model_slug=None)
    no_manifest = rewrite(data, {"manifest.json": None})
    assert evidence.verify_pack(no_manifest).manifest_errors == ["missing from the pack"]
    garbage = rewrite(data, {"manifest.json": b"{not json"})
    assert "not valid JSON" in evidence.verify_pack(garbage).manifest_errors[0]
    manifest = json.loads(members(data)["manifest.json"])
    manifest["audit_chain_head"] = {"sequence": "x"}
    headless = rewrite(data, {"manifest.json": json.dumps(manifest).encode()})
    assert evidence.verify_pack(headless).manifest_errors == [
        "audit_chain_head is missing or malformed"
    ]


def test_a_corrupted_member_is_unreadable_not_a_crash():
    data = bytearray(evidence.pack_bytes(files=FILES, meta=META, model_slug=None))
    # Flip a byte of the stored (compressed) data of the first member.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("audit-extract.csv")
    offset = info.header_offset + 30 + len(info.filename.encode()) + 2
    data[offset] ^= 0xFF
    result = evidence.verify_pack(bytes(data))
    assert not result.ok
    assert [name for name, _ in result.mismatched] == ["audit-extract.csv"]


# --- packs built from the record (the real report modules) ----------------------------------


@pytest.mark.django_db
def test_a_model_pack_holds_its_card_lineage_and_audit_extract(world):
    meta = {**META, "audit_chain_head": audit_head_at(timezone.now())}
    data = evidence.build_pack(user=world.cast.admin, model=world.model, as_of=None, meta=meta)
    result = evidence.verify_pack(data)
    assert result.ok, result.problems()
    names = set(members(data))
    assert names == {name for name, _, _ in evidence.MODEL_FILES} | {"manifest.json"}
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
    assert evidence.verify_pack(data).ok
