"""How MLflow's registry maps onto mlgov's inventory. Pure: no ORM, no network.

- which registered models a connection takes (shell-style name patterns, ``fraud-*``);
- the serving markers that say a version is live (``alias:champion``, ``tag:env=prod``,
  ``stage:Production``) and which of them a version carries;
- a slug for a discovered model; the dataset role of an MLflow dataset input;
- the artifact digest: SHA-256 over a manifest of the version's files (path, size and the
  SHA-256 of each file's content), so that any change to any file changes it;
- the signature and input example of an ``MLmodel`` file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from apps.inventory.choices import DatasetRole

DEFAULT_MARKERS = ("alias:champion", "alias:production", "stage:Production")
MARKER_KINDS = ("alias", "tag", "stage")
#: ``mlflow.data.context`` values that mean evaluation data (anything else: training).
EVALUATION_CONTEXTS = frozenset({"eval", "evaluation", "test", "testing", "validation", "valid"})
SLUG_MAX = 80


class MappingError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


# --- which models -----------------------------------------------------------------------------


def parse_patterns(text: str) -> tuple[str, ...]:
    """One pattern per line or comma (``*`` alone, or nothing, takes every model)."""
    items = [p.strip() for p in re.split(r"[\n,]", text or "") if p.strip()]
    return tuple(items) or ("*",)


def name_matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


# --- serving markers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """``alias:champion``, ``stage:Production``, ``tag:deployment`` (any value) or
    ``tag:deployment=production``."""

    kind: str
    name: str
    value: str | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.name}"
        return f"{text}={self.value}" if self.value is not None else text


def parse_markers(text: str) -> tuple[Marker, ...]:
    """Markers, one per line or comma; a malformed one raises MappingError naming it."""
    markers = []
    for raw in re.split(r"[\n,]", text or ""):
        entry = raw.strip()
        if not entry:
            continue
        kind, sep, rest = entry.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in MARKER_KINDS or not rest.strip():
            raise MappingError(
                f"{entry!r} is not a serving marker: write alias:NAME, stage:NAME, tag:KEY or "
                "tag:KEY=VALUE."
            )
        name, eq, value = rest.strip().partition("=")
        if kind != "tag" and eq:
            raise MappingError(f"{entry!r}: only tag markers take a value.")
        markers.append(Marker(kind, name.strip(), value.strip() if eq else None))
    return tuple(markers)


def serving_markers(version: Mapping[str, Any], markers: Iterable[Marker]) -> list[str]:
    """The markers ``version`` (an MLflow model-version JSON object) carries, as text."""
    aliases = set(version.get("aliases") or ())
    tags = tags_of(version)
    stage = str(version.get("current_stage") or "")
    found = []
    for marker in markers:
        if marker.kind == "alias":
            hit = marker.name in aliases
        elif marker.kind == "stage":
            hit = stage.lower() == marker.name.lower()
        else:
            hit = marker.name in tags and (
                marker.value is None or tags[marker.name] == marker.value
            )
        if hit:
            found.append(str(marker))
    return found


def tags_of(entity: Mapping[str, Any]) -> dict[str, str]:
    """MLflow's ``[{"key": …, "value": …}]`` as a dict."""
    return {str(t.get("key")): str(t.get("value", "")) for t in entity.get("tags") or ()}


# --- names ------------------------------------------------------------------------------------


def slug_for(name: str) -> str:
    """A readable slug from an MLflow model name (``Fraud Scorer/v2`` → ``fraud-scorer-v2``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (slug or "mlflow-model")[: SLUG_MAX - 12].strip("-")


def slug_candidates(name: str) -> Iterable[str]:
    """``slug``, then ``slug-mlflow``, ``slug-mlflow-2``…: a discovered model never takes
    the slug of a model registered by hand."""
    base = slug_for(name)
    yield base
    yield f"{base}-mlflow"
    for n in range(2, 1000):
        yield f"{base}-mlflow-{n}"


def dataset_role(dataset_input: Mapping[str, Any]) -> str:
    context = tags_of(dataset_input).get("mlflow.data.context", "").lower()
    return DatasetRole.EVALUATED_ON if context in EVALUATION_CONTEXTS else DatasetRole.TRAINED_ON


def dataset_slug(name: str, digest: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "dataset"
    suffix = re.sub(r"[^a-z0-9]+", "", digest.lower())[:8] or "mlflow"
    return f"{base[: SLUG_MAX - 10].strip('-')}-{suffix}"


# --- run data ---------------------------------------------------------------------------------


def params_of(run: Mapping[str, Any]) -> dict[str, str]:
    return {str(p["key"]): str(p.get("value", "")) for p in run.get("data", {}).get("params") or ()}


def metrics_of(run: Mapping[str, Any]) -> dict[str, float]:
    """The latest value of each metric of the run (finite values only: JSON has no NaN)."""
    found = {}
    for m in run.get("data", {}).get("metrics") or ():
        value = m.get("value")
        if isinstance(value, int | float) and math.isfinite(value):
            found[str(m["key"])] = float(value)
    return found


# --- the artifact digest ----------------------------------------------------------------------


def manifest_digest(entries: Iterable[tuple[str, int, str]]) -> str:
    """SHA-256 of the manifest ``path\\tsize\\tsha256`` (sorted by path), one line per file;
    a file too large to hash has ``-`` in place of its SHA-256."""
    lines = sorted(f"{path}\t{size}\t{sha or '-'}\n" for path, size, sha in entries)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def metadata_digest(*, source: str, run_id: str) -> str:
    """When the files cannot be read through the tracking server (``s3://`` and the like),
    the digest covers what MLflow says about them: the source and the run."""
    text = json.dumps({"source": source, "run_id": run_id}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_mlmodel(text: bytes) -> dict[str, Any]:
    """The signature (inputs, outputs, params as JSON) and the input example's file name of
    an ``MLmodel`` file; empty when there are none or the file is not YAML."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, Any] = {}
    signature = data.get("signature")
    if isinstance(signature, dict):
        parsed = {}
        for part in ("inputs", "outputs", "params"):
            value = signature.get(part)
            if isinstance(value, str):
                try:
                    parsed[part] = json.loads(value)
                except ValueError:
                    parsed[part] = value
        found["signature"] = parsed
    example = data.get("saved_input_example_info")
    if isinstance(example, dict) and example.get("artifact_path"):
        found["input_example_path"] = str(example["artifact_path"])
    return found
