"""Reading what a registry sync needs from MLflow, before anything is written. No ORM.

A sync reads a version's files (``read_files``: their digest, and the signature and input
example of its ``MLmodel``) and its run (``read_runs``: many runs by one search) apart, in
its readers, and ``version_facts`` puts them together; ``read_version`` does all three for
one version. ``read_history`` gathers a monitoring run's metrics over time as observation
rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from apps.mlflow_sync import mapping
from apps.mlflow_sync.client import RUNS_PER_SEARCH, ArtifactRoot, MlflowClient, MlflowError

#: Files larger than this are in the digest by path and size only (not read).
MAX_HASHED_FILE = 64 * 1024 * 1024
#: The input example kept with a version (longer ones are not kept).
MAX_INPUT_EXAMPLE = 16 * 1024
#: Files this small are kept from the digest pass (the MLmodel, an input example).
KEEP_BYTES = 1024 * 1024


@dataclass
class DatasetInput:
    name: str
    digest: str
    uri: str
    role: str


@dataclass
class VersionFacts:
    """What MLflow says about one model version, read ahead of the writes."""

    name: str
    version: str
    run_id: str
    source: str
    description: str
    artifact_uri: str
    digest: str
    digest_covers: str
    tags: dict[str, str]
    aliases: list[str]
    stage: str
    last_updated_ms: int
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    datasets: list[DatasetInput] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    input_example: str = ""


def _artifact_uri(client: MlflowClient, version: dict) -> str:
    source = str(version.get("source") or "")
    if ArtifactRoot.readable(source):
        return source
    try:
        return client.download_uri(name=version["name"], version=str(version["version"]))
    except MlflowError as exc:
        if exc.status in (404, 501):  # older servers: no such endpoint
            return source
        raise


def read_digest(
    client: MlflowClient, version: dict, artifact_uri: str = ""
) -> tuple[str, str, str, dict[str, bytes]]:
    """``(artifact URI, digest, what it covers, small files)``: SHA-256 over every file's
    path, size and content when the files are readable through the tracking server, else
    over the source and run id (``metadata``). The files of at most ``KEEP_BYTES`` (the
    ``MLmodel``, an input example) are returned, so that nothing is downloaded twice."""
    uri = artifact_uri or _artifact_uri(client, version)
    if not ArtifactRoot.readable(uri):
        digest = mapping.metadata_digest(
            source=str(version.get("source") or ""), run_id=str(version.get("run_id") or "")
        )
        return uri, digest, "metadata", {}
    entries = []
    kept: dict[str, bytes] = {}
    for path, size in client.artifact_files(uri):
        sha = ""
        if size <= MAX_HASHED_FILE:
            content = client.artifact_bytes(uri, path, max_bytes=MAX_HASHED_FILE)
            sha = hashlib.sha256(content).hexdigest()
            if len(content) <= KEEP_BYTES:
                kept[path] = content
        entries.append((path, size, sha))
    return uri, mapping.manifest_digest(entries), "files", kept


@dataclass(frozen=True)
class Files:
    """What reading a version's files found: where they are, their digest and what it covers,
    and the signature and input example of the ``MLmodel`` (the files themselves are not
    kept)."""

    uri: str
    digest: str
    covers: str
    signature: dict[str, Any]
    input_example: str


def read_files(client: MlflowClient, version: dict, artifact_uri: str = "") -> Files:
    uri, digest, covers, kept = read_digest(client, version, artifact_uri)
    signature, example = mlmodel_facts(kept) if covers == "files" else ({}, "")
    return Files(uri, digest, covers, signature, example)


def _dataset_uri(dataset: dict) -> str:
    source = str(dataset.get("source") or "")
    try:
        data = json.loads(source)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("uri", "url", "path", "table_name"):
            if data.get(key):
                return str(data[key])[:500]
    name = dataset.get("name") or "dataset"
    return (source or f"mlflow-dataset:{name}@{dataset.get('digest', '')}")[:500]


def read_version(client: MlflowClient, version: dict, *, aliases: list[str]) -> VersionFacts:
    """Every fact of one model version (several requests: run, artifact listing, files)."""
    run_id = str(version.get("run_id") or "")
    files = read_files(client, version)
    run = client.run(run_id) if run_id else {}
    return version_facts(version, aliases=aliases, run=run, files=files)


def read_runs(client: MlflowClient, run_ids: list[str], experiment_ids: list[str]) -> dict:
    """The runs named, by id: one search per ``RUNS_PER_SEARCH``, or one request per run
    from a server that cannot search runs by id."""
    found: dict[str, dict] = {}
    try:
        for start in range(0, len(run_ids), RUNS_PER_SEARCH):
            chunk = run_ids[start : start + RUNS_PER_SEARCH]
            found.update(client.runs(chunk, experiment_ids=experiment_ids))
    except MlflowError as exc:
        if exc.retryable:
            raise
        found = {run_id: client.run(run_id) for run_id in run_ids}
    return found


def version_facts(
    version: dict,
    *,
    aliases: list[str],
    run: dict[str, Any],
    files: Files,
) -> VersionFacts:
    """The facts of one version from what was read: its run (``{}`` when it has none) and
    its files."""
    facts = VersionFacts(
        name=str(version["name"]),
        version=str(version["version"]),
        run_id=str(version.get("run_id") or ""),
        source=str(version.get("source") or "")[:1000],
        description=str(version.get("description") or ""),
        artifact_uri=files.uri[:1000],
        digest=files.digest,
        digest_covers=files.covers,
        signature=files.signature,
        input_example=files.input_example,
        tags=mapping.tags_of(version),
        aliases=aliases,
        stage=str(version.get("current_stage") or ""),
        last_updated_ms=int(version.get("last_updated_timestamp") or 0),
    )
    if facts.run_id:
        facts.params = mapping.params_of(run)
        facts.metrics = mapping.metrics_of(run)
        for item in (run.get("inputs") or {}).get("dataset_inputs") or ():
            dataset = item.get("dataset") or {}
            facts.datasets.append(
                DatasetInput(
                    name=str(dataset.get("name") or "dataset")[:200],
                    digest=str(dataset.get("digest") or "")[:100],
                    uri=_dataset_uri(dataset),
                    role=mapping.dataset_role(item),
                )
            )
    return facts


def mlmodel_facts(files: dict[str, bytes]) -> tuple[dict[str, Any], str]:
    """``(signature, input example)`` from the files the digest pass kept."""
    text = files.get("MLmodel")
    if text is None:
        return {}, ""
    found = mapping.parse_mlmodel(text)
    example = files.get(found.get("input_example_path") or "")
    if example is None or len(example) > MAX_INPUT_EXAMPLE:
        return found.get("signature") or {}, ""
    return found.get("signature") or {}, example.decode("utf-8", "replace")


def read_history(
    client: MlflowClient, *, run_id: str, through: dict[str, int]
) -> tuple[list[dict], dict[str, int]]:
    """Observation rows (without model and version) of every metric of ``run_id`` logged
    after ``through[metric]`` (ms), and the new high-water marks."""
    run = client.run(run_id)
    rows: list[dict] = []
    marks = dict(through)
    for metric in run.get("data", {}).get("metrics") or ():
        key = str(metric["key"])
        after = through.get(key, -1)
        for point in client.metric_history(run_id=run_id, key=key):
            stamp = int(point.get("timestamp") or 0)
            if stamp <= after:
                continue
            value = point.get("value")
            if not isinstance(value, int | float) or not math.isfinite(value):
                continue
            rows.append(
                {
                    "metric": key,
                    "value": value,
                    "timestamp": dt.datetime.fromtimestamp(stamp / 1000, tz=dt.UTC).isoformat(),
                }
            )
            marks[key] = max(marks.get(key, -1), stamp)
    return rows, marks
