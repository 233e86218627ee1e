"""``manage.py generate_report`` and ``manage.py verify_evidence_pack``."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.core.signing import Signer, generate_private_key_pem, installation_signer
from apps.reports import evidence, generators, services
from apps.reports.choices import GENERATOR
from apps.reports.history import audit_head_at
from apps.reports.models import Report
from tests.reports.jobs import FAKE_BYTES, fake_generation, media  # noqa: F401

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- generate_report ---------------------------------------------------------------------------


def test_it_generates_in_process_and_prints_id_hash_size_and_path(
    admin_user, owned_model, tmp_path
):
    target = tmp_path / "card.pdf"
    with fake_generation():
        out, _ = run(
            "generate_report",
            "--kind",
            "model_card",
            "--format",
            "pdf",
            "--model",
            "owned-model",
            "--output",
            str(target),
        )
    report = Report.objects.get()
    assert report.requested_by == admin_user and report.status == "done"
    assert f"id: {report.pk}" in out
    assert f"sha256: {hashlib.sha256(FAKE_BYTES).hexdigest()}" in out
    assert f"size: {len(FAKE_BYTES)}" in out
    assert f"path: {report.file.path}" in out
    assert f"manifest signed by key: {installation_signer().key_id}" in out
    assert target.read_bytes() == FAKE_BYTES


def test_it_names_the_requester_and_the_as_of(auditor, owned_model):
    with fake_generation() as fake:
        run(
            "generate_report",
            "--kind=model_card",
            "--format=json",
            "--model=owned-model",
            f"--as-of={timezone.now().isoformat()}",
            "--user=aud.auditor",
        )
    report = Report.objects.get()
    assert report.requested_by == auditor and report.as_of is not None
    assert fake.calls[0]["as_of"] == report.as_of


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--kind=model_card", "--format=pdf"], "model: A model card is about one model"),
        (["--kind=model_card", "--format=pdf", "--model=nope"], "No model with slug 'nope'"),
        (["--kind=register", "--format=csv", "--user=vic.viewer"], "not allowed"),
        (["--kind=register", "--format=csv", "--as-of=soon"], "not an ISO 8601"),
        (["--kind=register", "--format=csv", "--scope={bad"], "not valid JSON"),
    ],
)
def test_bad_arguments_are_refused_by_name(admin_user, viewer, args, words):
    with pytest.raises(CommandError, match=words):
        run("generate_report", *args)
    assert not Report.objects.exists()


def test_a_failed_generation_exits_non_zero_with_the_reason(admin_user, owned_model):
    with (
        fake_generation(error=RuntimeError("no fonts")),
        pytest.raises(CommandError, match="no fonts"),
    ):
        run("generate_report", "--kind=model_card", "--format=pdf", "--model=owned-model")
    assert Report.objects.get().status == "failed"


# --- verify_evidence_pack ---------------------------------------------------------------------


def pack(tmp_path, *, head=None, report_id=None, signer=None) -> tuple:
    files = {
        "model-card.pdf": (b"%PDF-1.7 card", "application/pdf"),
        "lineage.json": (b'{"lineage": {}}\n', "application/json"),
    }
    meta = {
        "generated_at": "2026-11-24T10:15:00Z",
        "generated_by": {"username": "system", "name": "system"},
        "generator": GENERATOR,
        "audit_chain_head": head or audit_head_at(timezone.now()),
        "as_of": "2026-11-24T10:15:00Z",
        "report_id": report_id,
    }
    path = tmp_path / "pack.zip"
    data = evidence.pack_bytes(
        files=files, meta=meta, model_slug="owned-model", signer=signer or installation_signer()
    )
    path.write_bytes(data)
    return path, files


def recorded_pack(tmp_path, user, model) -> tuple:
    """A pack stored as an evidence-pack report of this installation, its manifest naming it."""
    report = services.report_request(
        user=user, kind="evidence_pack", fmt="zip", model=model, enqueue=False
    )
    path, _ = pack(tmp_path, report_id=report.pk)
    with fake_generation(path.read_bytes()):
        services.report_generate(report_id=report.pk)
    return path, Report.objects.get(pk=report.pk)


def rewrite_member(path, name: str, content: bytes | None) -> None:
    with zipfile.ZipFile(path) as archive:
        originals = {i.filename: archive.read(i) for i in archive.infolist()}
    if content is None:
        originals.pop(name)
    else:
        originals[name] = content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in originals.items():
            archive.writestr(member, data)
    path.write_bytes(buffer.getvalue())


def refused(*args) -> str:
    """Run the command expecting exit status 1; its problem lines."""
    err = StringIO()
    with pytest.raises(CommandError, match="does NOT verify"):
        call_command(*args, stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_a_fresh_pack_verifies_against_its_stored_report(auditor, owned_model, tmp_path):
    path, report = recorded_pack(tmp_path, auditor, owned_model)
    out, err = run("verify_evidence_pack", str(path))
    key = installation_signer().key_id
    assert "verifies: 2 files match the manifest" in out and err == ""
    assert f"manifest signed by key {key}" in out
    assert f"the pack is report {report.pk} as recorded" in out


def test_one_changed_byte_inside_a_member_is_named(owned_model, tmp_path):
    path, _ = pack(tmp_path)
    rewrite_member(path, "model-card.pdf", b"%PDF-1.7 cart")
    err = refused("verify_evidence_pack", str(path), "--offline")
    assert err.startswith("model-card.pdf: SHA-256")
    assert "lineage.json" not in err


def test_a_lying_manifest_is_named(owned_model, tmp_path):
    path, _ = pack(tmp_path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["files"][0]["size"] = 1  # lineage.json (sorted first)
    rewrite_member(path, "manifest.json", json.dumps(manifest).encode())
    err = refused("verify_evidence_pack", str(path), "--offline")
    assert "lineage.json: size" in err
    assert "manifest.sig: the Ed25519 signature" in err


def test_a_file_and_its_manifest_line_rewritten_together_are_refused(tmp_path):
    path, _ = pack(tmp_path)
    forged = b"%PDF-1.7 a different card"
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    entry = next(f for f in manifest["files"] if f["name"] == "model-card.pdf")
    entry.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    rewrite_member(path, "model-card.pdf", forged)
    rewrite_member(path, "manifest.json", generators.json_bytes(manifest))
    err = refused("verify_evidence_pack", str(path), "--offline")
    key = installation_signer().key_id
    assert err == (
        f"manifest.sig: the Ed25519 signature by key {key} does not match the signed bytes\n"
    )


def test_a_missing_signature_is_refused(tmp_path):
    path, _ = pack(tmp_path)
    rewrite_member(path, "manifest.sig", None)
    err = refused("verify_evidence_pack", str(path), "--offline")
    assert "manifest.sig: missing from the pack; an unsigned pack is refused" in err


def test_an_unknown_key_id_is_refused_naming_it(tmp_path):
    stranger = Signer.from_pem(generate_private_key_pem())
    path, _ = pack(tmp_path, signer=stranger)
    err = refused("verify_evidence_pack", str(path), "--offline")
    assert f"manifest.sig: signed with key {stranger.key_id}, which is not among" in err


def test_a_pack_that_is_not_the_stored_reports_file_is_refused(auditor, owned_model, tmp_path):
    """Validly signed, every file matching, but not the bytes recorded for the report it
    names (e.g. an older build of the pack passed off as the filed one)."""
    _, report = recorded_pack(tmp_path, auditor, owned_model)
    other = tmp_path / "other"
    other.mkdir()
    impostor, _ = pack(other, report_id=report.pk, head=audit_head_at(timezone.now()))
    with zipfile.ZipFile(impostor) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["generated_at"] = "2026-11-25T08:00:00Z"
    signer = installation_signer()
    manifest_bytes = generators.json_bytes(manifest)
    rewrite_member(impostor, "manifest.json", manifest_bytes)
    rewrite_member(impostor, "manifest.sig", signer.sign(manifest_bytes).document_bytes())
    out, _ = run("verify_evidence_pack", str(impostor), "--offline")
    assert "verifies" in out  # a well-formed, signed pack on its own...
    err = refused("verify_evidence_pack", str(impostor))
    digest = hashlib.sha256(impostor.read_bytes()).hexdigest()
    assert (
        f"manifest.json: the file's SHA-256 {digest} differs from report {report.pk}'s "
        f"recorded {report.sha256}" in err
    )


def test_a_pack_naming_no_stored_report_is_refused_unless_offline(owned_model, tmp_path):
    path, _ = pack(tmp_path)
    err = refused("verify_evidence_pack", str(path))
    assert "manifest.json: the manifest names no report of this installation" in err
    out, _ = run("verify_evidence_pack", str(path), "--offline")
    assert "offline: not compared with the audit log or the report record" in out


def test_a_chain_head_foreign_to_this_audit_log_is_named(owned_model, tmp_path):
    path, _ = pack(tmp_path, head={"sequence": 10**6, "hash": "d" * 64})
    err = refused("verify_evidence_pack", str(path))
    assert "manifest.json: audit chain head #1000000 is not in this installation" in err
    out, _ = run("verify_evidence_pack", str(path), "--offline")
    assert "verifies" in out


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("verify_evidence_pack", str(tmp_path / "nope.zip"))


def test_a_generated_evidence_pack_verifies_end_to_end(world, tmp_path):
    target = tmp_path / "credit-scoring-pack.zip"
    out, _ = run(
        "generate_report",
        "--kind=evidence_pack",
        "--format=zip",
        "--model=credit-scoring",
        f"--user={world.cast.admin.username}",
        f"--output={target}",
    )
    assert "credit-scoring-evidence-pack-" in out
    verified, err = run("verify_evidence_pack", str(target))
    assert f"verifies: {len(evidence.MODEL_FILES)} files match the manifest" in verified
    assert "as recorded" in verified
    assert err == ""
