"""``generators.generate``: every kind in every offered format through the real report modules,
with stable file names, proper content types, and the card's snapshot hash and chain head."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.utils import timezone

from apps.reports import generators
from apps.reports.choices import GENERATOR, KIND_FORMATS, ReportKind
from apps.reports.history import audit_head_at
from apps.reports.snapshot import model_snapshot, snapshot_sha256

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2026, 3, 20, 12, 30, tzinfo=dt.UTC)


@pytest.fixture
def as_of(world) -> dt.datetime:
    """A past moment of the world's record (its clock is a few weeks on from 2 March)."""
    moment = (timezone.now() - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    assert moment > world.model.created_at
    return moment


def meta_for(user, as_of: dt.datetime) -> dict:
    return {
        "generated_at": generators.iso_utc(timezone.now()),
        "generated_by": generators.person_of(user),
        "generator": GENERATOR,
        "snapshot_sha256": "",
        "audit_chain_head": audit_head_at(as_of),
        "as_of": generators.iso_utc(as_of),
        "report_id": 7,
    }


def looks_like(fmt: str, data: bytes) -> bool:
    if fmt == "pdf":
        return data.startswith(b"%PDF-")
    if fmt == "html":
        return b"<html" in data[:500].lower()
    if fmt == "markdown":
        return data.startswith(b"---\n")
    if fmt in ("json", "mct_json"):
        return isinstance(json.loads(data), dict | list)
    if fmt == "csv":
        return b"," in data.splitlines()[0]
    if fmt == "xlsx":
        return zipfile.is_zipfile(io.BytesIO(data))
    raise AssertionError(fmt)


PAIRS = [
    (kind, fmt)
    for kind, formats in KIND_FORMATS.items()
    if kind != ReportKind.EVIDENCE_PACK  # tests/reports/test_evidence.py
    for fmt in formats
]


@pytest.mark.parametrize(("kind", "fmt"), PAIRS, ids=[f"{k}-{f}" for k, f in PAIRS])
def test_each_kind_and_format_is_generated_with_its_name_and_type(world, as_of, kind, fmt):
    model = None if kind == ReportKind.REGISTER else world.model
    user = world.cast.admin
    output = generators.generate(
        kind=kind,
        fmt=fmt,
        model=model,
        scope_params={},
        as_of=as_of,
        meta=meta_for(user, as_of),
        user=user,
    )
    subject = "inventory" if model is None else "credit-scoring"
    middle = generators.NAME_PARTS[kind] + ("-mct" if fmt == "mct_json" else "")
    stamp = as_of.strftime("%Y%m%dT%H%MZ")
    assert output.filename == f"{subject}-{middle}-{stamp}.{generators.EXTENSIONS[fmt]}"
    assert output.content_type == generators.CONTENT_TYPES[fmt]
    assert looks_like(fmt, output.data), output.data[:200]


def test_a_card_carries_the_hash_of_its_snapshot_and_the_chain_head_at_the_as_of(world, as_of):
    user = world.cast.validator
    output = generators.generate(
        kind="model_card",
        fmt="json",
        model=world.model,
        scope_params={},
        as_of=as_of,
        meta=meta_for(user, as_of),
        user=user,
    )
    snapshot = model_snapshot(model=world.model, as_of=as_of)
    assert output.snapshot_sha256 == snapshot_sha256(snapshot)
    assert output.audit_chain_head == audit_head_at(as_of) == snapshot["audit_chain_head"]
    document = json.loads(output.data)
    assert document["meta"]["snapshot_sha256"] == output.snapshot_sha256
    assert document["meta"]["generated_by"]["username"] == user.username
    assert document["meta"]["report_id"] == 7


def test_register_filters_reach_the_register(world):
    user = world.cast.admin
    everything = generators.generate(
        kind="register",
        fmt="csv",
        model=None,
        scope_params={},
        as_of=None,
        meta=meta_for(user, timezone.now()),
        user=user,
    )
    only_upstream = generators.generate(
        kind="register",
        fmt="csv",
        model=None,
        scope_params={"filters": {"q": world.upstream.slug}},
        as_of=None,
        meta=meta_for(user, timezone.now()),
        user=user,
    )
    assert b"credit-scoring," in everything.data
    assert world.upstream.slug.encode() in only_upstream.data
    assert b"credit-scoring," not in only_upstream.data


def test_an_invalid_model_card_toolkit_document_is_refused(world, monkeypatch):
    monkeypatch.setattr(
        "apps.reports.formats.mct.mct_errors", lambda doc: ["model_details: 'name' is required"]
    )
    with pytest.raises(generators.GenerationError, match="'name' is required"):
        generators.generate(
            kind="model_card",
            fmt="mct_json",
            model=world.model,
            scope_params={},
            as_of=AS_OF,
            meta=meta_for(world.cast.admin, AS_OF),
            user=world.cast.admin,
        )


def test_an_offered_pair_only(world):
    with pytest.raises(generators.GenerationError, match="not offered"):
        generators.generate(
            kind="register",
            fmt="markdown",
            model=None,
            scope_params={},
            as_of=None,
            meta=meta_for(world.cast.admin, timezone.now()),
            user=world.cast.admin,
        )


def test_the_audit_period_is_capped_at_the_as_of():
    start, end = generators.audit_period({"start": "2026-01-01T00:00:00Z"}, AS_OF)
    assert (start, end) == (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), AS_OF)
    later = {"end": "2026-12-31T00:00:00+00:00"}
    assert generators.audit_period(later, AS_OF)[1] == AS_OF
    assert generators.audit_period(later, None)[1] == dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
