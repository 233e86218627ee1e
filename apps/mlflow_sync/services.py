"""Every write of the MLflow registry sync. Keyword-only, atomic, audited.

- Connections are configured by administrators (the Django admin calls these services).
- ``sync_request`` records a run and its job in one transaction (apps/jobs outbox);
  ``sync_run_execute`` is the job's body: it reads MLflow (through the egress guard), then
  writes model by model, each registered model in its own transaction, as the connection's
  actor. A model that cannot be written is refused with its reason and the others go on.
- What a sync writes: discovered models (flagged, unassessed, nothing approved), versions
  with their run's params, metrics and datasets, links with tags and aliases; a finding when
  an approved version's files changed; an incident when a version is marked serving without
  an approved promotion (and a note on it when that ends); observation batches from a
  monitoring run, through the normal ingestion path.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max

from apps.accounts.models import User
from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_create, audited_update
from apps.core import clock, egress, roles
from apps.core.errors import ApplicationError
from apps.core.services import reject_unknown_fields, require_perm
from apps.incidents import services as incident_services
from apps.incidents.services import BREACH_SEVERITY
from apps.inventory import services as inventory_services
from apps.inventory.choices import DatasetRole
from apps.inventory.models import Dataset, ModelVersion, RegisteredModel
from apps.jobs.services import job_enqueue
from apps.mlflow_sync import mapping, reader
from apps.mlflow_sync.choices import RunStatus, RunTrigger
from apps.mlflow_sync.client import RUNS_PER_SEARCH, Credential, MlflowClient, MlflowError
from apps.mlflow_sync.models import (
    CONNECTION_FIELDS,
    MlflowConnection,
    ModelLink,
    ServingCondition,
    SyncRun,
    VersionLink,
)
from apps.monitoring.choices import IngestionSource
from apps.monitoring.ingestion import services as ingestion_services
from apps.monitoring.ingestion.parse import json_rows_bytes
from apps.monitoring.ingestion.selectors import PUSH
from apps.notifications.choices import Event
from apps.notifications.services import notify
from apps.reviews.choices import Severity as FindingSeverity
from apps.reviews.services import finding_raise_for_integrity

logger = logging.getLogger(__name__)

SYNC_TASK = "mlflow_sync.run_sync"
#: Refusals kept on a run (all are counted).
MAX_REFUSALS_KEPT = 200


# --- connections ------------------------------------------------------------------------------


def _check_connection(connection: MlflowConnection) -> None:
    egress.check_field("tracking_url", connection.tracking_url)
    try:
        mapping.parse_markers(connection.serving_markers)
    except mapping.MappingError as exc:
        raise ApplicationError(str(exc), field_errors={"serving_markers": [str(exc)]}) from exc
    user = connection.run_as
    if user is None or not user.is_active or not roles.has_role(user, roles.MODEL_OWNER):
        message = (
            "Choose an active service user with the model owner role: the sync registers "
            "models and versions as this user."
        )
        raise ApplicationError(message, field_errors={"run_as": [message]})


@transaction.atomic
def connection_create(*, actor, **data: Any) -> MlflowConnection:
    require_perm(actor, "mlflow_sync.add_mlflowconnection")
    reject_unknown_fields(data, CONNECTION_FIELDS)
    connection = MlflowConnection(created_by=actor, **data)
    _check_connection(connection)
    return audited_create(connection, actor=actor, fields=CONNECTION_FIELDS)


@transaction.atomic
def connection_update(*, actor, connection: MlflowConnection, **data: Any) -> MlflowConnection:
    require_perm(actor, "mlflow_sync.change_mlflowconnection", connection)
    reject_unknown_fields(data, CONNECTION_FIELDS)
    connection, _ = audited_update(
        connection,
        actor=actor,
        data=data,
        fields=CONNECTION_FIELDS,
        check=lambda before, obj: _check_connection(obj),
    )
    return connection


@transaction.atomic
def connection_delete(*, actor, connection: MlflowConnection) -> None:
    require_perm(actor, "mlflow_sync.delete_mlflowconnection", connection)
    if connection.model_links.exists():
        raise ApplicationError(
            f"{connection} has discovered models linked to it; disable it instead of deleting "
            "it, so that their origin stays on record."
        )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        obj=connection,
        changes=diff.deleted(diff.snapshot(connection, CONNECTION_FIELDS)),
    )
    connection.delete()


def credential_of(connection: MlflowConnection) -> Credential | None:
    """The credential from the environment variable the connection names (never stored)."""
    if not connection.credential_env:
        return None
    value = os.environ.get(connection.credential_env)
    if value is None:
        raise MlflowError(
            f"The environment variable {connection.credential_env} (the credential of "
            f"{connection}) is not set on this server."
        )
    return Credential(value)


def client_for(connection: MlflowConnection) -> MlflowClient:
    return MlflowClient(
        connection.tracking_url,
        credential=credential_of(connection),
        timeout=settings.MLGOV_MLFLOW_TIMEOUT_SECONDS,
    )


# --- runs -------------------------------------------------------------------------------------


@transaction.atomic
def sync_request(*, actor, connection: MlflowConnection, trigger: str) -> tuple[SyncRun, bool]:
    """Queue a sync of ``connection`` (a person's request, or the schedule with no actor).
    Returns ``(run, created)``: a sync already queued or running is returned as it is."""
    if actor is not None:
        require_perm(actor, "mlflow_sync.sync_mlflowconnection", connection)
    connection = MlflowConnection.objects.select_for_update().get(pk=connection.pk)
    live = SyncRun.objects.filter(
        connection=connection, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).first()
    if live is not None:
        return live, False
    if not connection.enabled and trigger == RunTrigger.SCHEDULE:
        raise ApplicationError(f"{connection} is disabled.")
    run = SyncRun.objects.create(connection=connection, trigger=trigger, requested_by=actor)
    audit_record(
        actor=actor or connection.run_as,
        action=AuditEvent.Action.CREATE,
        obj=run,
        changes=diff.created({"connection": connection.name, "trigger": trigger}),
    )
    job_enqueue(task=SYNC_TASK, object_id=run.pk)
    return run, True


def connections_due(*, now: dt.datetime) -> list[int]:
    """Beat: queue a sync of every enabled connection whose schedule has come round since
    its last sync was queued (a failed sync waits for the next round too)."""
    queued = []
    for connection in MlflowConnection.objects.filter(enabled=True).annotate(
        last_queued=Max("runs__created_at")
    ):
        last = connection.last_queued
        due = last is None or last + dt.timedelta(minutes=connection.schedule_minutes) <= now
        if due:
            run, created = sync_request(
                actor=None, connection=connection, trigger=RunTrigger.SCHEDULE
            )
            if created:
                queued.append(run.pk)
    return queued


def sync_run_fail(*, run_id: int, error: str) -> SyncRun | None:
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
            return run
        run.status = RunStatus.FAILED
        run.error = error
        run.finished_at = clock.now()
        run.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            actor=run.connection.run_as,
            action=AuditEvent.Action.UPDATE,
            obj=run,
            changes={"status": {"before": RunStatus.RUNNING, "after": RunStatus.FAILED}},
            message=error[:500],
        )
    return run


@dataclass
class Tally:
    """The counts of one run, over MLflow's registered models and versions."""

    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    refusals: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def refuse(self, item: str, reason: str) -> None:
        self.refused += 1
        if len(self.refusals) < MAX_REFUSALS_KEPT:
            self.refusals.append({"item": item, "reason": reason})

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def sync_run_execute(*, run_id: int) -> SyncRun:
    """The job's body: sync one connection (see the module docstring). A failure to reach
    MLflow fails the run with the reason (the job retries what is retryable)."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection").get(pk=run_id)
        if run.status in (RunStatus.DONE, RunStatus.FAILED):
            return run
        run.status = RunStatus.RUNNING
        run.started_at = clock.now()
        run.save(update_fields=["status", "started_at"])
    connection = MlflowConnection.objects.select_related("run_as", "business_unit").get(
        pk=run.connection_id
    )
    tally = Tally()
    try:
        _sync(connection, tally)
    except MlflowError as exc:
        if exc.retryable:
            raise
        sync_run_fail(run_id=run_id, error=exc.message)
        return SyncRun.objects.get(pk=run_id)
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        counts = {
            "seen": tally.seen,
            "created": tally.created,
            "updated": tally.updated,
            "unchanged": tally.unchanged,
            "refused": tally.refused,
        }
        for name, value in counts.items():
            setattr(run, name, value)
        run.refusals = tally.refusals
        run.notes = tally.notes
        run.status = RunStatus.DONE
        run.finished_at = clock.now()
        run.save()
        MlflowConnection.objects.filter(pk=connection.pk).update(last_synced_at=run.finished_at)
        audit_record(
            actor=connection.run_as,
            action=AuditEvent.Action.UPDATE,
            obj=run,
            changes={
                "status": {"before": RunStatus.RUNNING, "after": RunStatus.DONE},
                **{name: {"before": 0, "after": value} for name, value in counts.items() if value},
            },
            message=", ".join(f"{value} {name}" for name, value in counts.items()),
        )
    return run


# --- the sync ---------------------------------------------------------------------------------


@dataclass
class Context:
    """What one sync knows before it writes: the connection, its client and rules, and the
    links already made (read in one query each)."""

    connection: MlflowConnection
    client: MlflowClient
    markers: tuple[mapping.Marker, ...]
    links: dict[str, ModelLink]
    version_links: dict[tuple[int, str], VersionLink]
    open_conditions: dict[int, ServingCondition]
    governed: set[int]
    tally: Tally
    datasets: dict[str, Dataset] = field(default_factory=dict)


def _sync(connection: MlflowConnection, tally: Tally) -> None:
    client = client_for(connection)
    with ThreadPoolExecutor(max_workers=max(2, settings.MLGOV_MLFLOW_READERS)) as pool:
        try:
            # MLflow lists the registered models and their versions while the links made
            # before are read from the database: an unchanged sync costs about the longer
            # of the two listings.
            listed_models = pool.submit(lambda: list(client.registered_models()))
            listed_versions = pool.submit(lambda: list(client.model_versions()))
            ctx = _context(connection, client, tally)
            models, versions = _wanted(
                connection, tally, listed_models.result(), listed_versions.result()
            )
            reads = Reads(ctx, pool)
            reads.submit(models, versions)
            for registered in models:
                name = str(registered["name"])
                try:
                    _sync_model(ctx, registered, versions.get(name, []), reads)
                except MlflowError as exc:
                    if exc.retryable:
                        raise
                    tally.refuse(name, exc.message)
                except ApplicationError as exc:
                    tally.refuse(name, exc.message)
                except PermissionDenied as exc:
                    tally.refuse(name, f"{connection.run_as} may not do this: {exc}")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _wanted(
    connection: MlflowConnection, tally: Tally, models: list[dict], listed: list[dict]
) -> tuple[list[dict], dict[str, list[dict]]]:
    """The registered models the connection's patterns take, and their versions that are
    ready (the others are counted as refused: still registering, or failed to)."""
    patterns = mapping.parse_patterns(connection.model_patterns)
    models = [m for m in models if mapping.name_matches(str(m.get("name")), patterns)]
    wanted = {str(m["name"]) for m in models}
    versions: dict[str, list[dict]] = defaultdict(list)
    for version in listed:
        name = str(version.get("name"))
        if name not in wanted:
            continue
        status = str(version.get("status") or "READY")
        if status != "READY":
            # Still registering, or failed to: its files may not be there yet.
            tally.seen += 1
            tally.refuse(f"{name} v{version.get('version')}", f"not ready in MLflow ({status})")
            continue
        versions[name].append(version)
    return models, versions


#: What an unchanged sync reads of each version link and of its version.
LINK_FIELDS_COMPARED = tuple(
    f.name
    for f in VersionLink._meta.concrete_fields
    if f.name not in ("signature", "input_example")
)
VERSION_FIELDS_COMPARED = ("model", "version", "approved_at")


def _version_whole(known: VersionLink) -> ModelVersion:
    """The version of ``known`` with every field, before a write through the inventory."""
    if known.version.get_deferred_fields():
        known.version = ModelVersion.objects.get(pk=known.version_id)
    return known.version


def _context(connection: MlflowConnection, client: MlflowClient, tally: Tally) -> Context:
    """What the sync knows of the connection's links before it reads MLflow's answers."""
    links = {
        link.mlflow_name: link
        for link in ModelLink.objects.filter(connection=connection).select_related("model")
    }
    version_links = {
        (vl.model_link_id, vl.mlflow_version): vl
        # An unchanged sync reads every link of the connection, so only what it compares:
        # not the link's signature and input example, and of the version only its number
        # and whether it is approved. A version that is written is read whole first
        # (``_version_whole``).
        for vl in VersionLink.objects.filter(model_link__connection=connection)
        .select_related("version")
        .only(*LINK_FIELDS_COMPARED, *(f"version__{name}" for name in VERSION_FIELDS_COMPARED))
    }
    open_conditions = {
        c.version_link_id: c
        for c in ServingCondition.objects.filter(
            version_link__model_link__connection=connection, ended_at__isnull=True
        ).select_related("incident", "version_link")
    }
    return Context(
        connection=connection,
        client=client,
        markers=mapping.parse_markers(connection.serving_markers),
        links=links,
        version_links=version_links,
        open_conditions=open_conditions,
        governed=_approved_promotions(),
        tally=tally,
    )


@dataclass
class _Read:
    """One version to read: ``facts`` (new, or changed in MLflow), ``digest`` (approved: its
    files only, at the artifact URI recorded) or ``recheck`` (not approved, unchanged in
    MLflow's registry, files not read for ``MLGOV_MLFLOW_RECHECK_MINUTES``)."""

    kind: str  # facts, digest, recheck (the files of a version not yet approved)
    number: str
    version: dict
    aliases: list[str]
    artifact_uri: str = ""
    run_ids: list[str] | None = None  # the search that reads its run, with others
    files: Future | None = None
    runs: Future | None = None


class Reads:
    """What is read from MLflow for the writes, in the background while they go on
    (``MLGOV_MLFLOW_READERS`` requests at a time, in the order of the models): the facts of
    new or changed versions (their runs a hundred at a time by one search, their files one
    version at a time), and the digest of approved versions' files (every sync: they are
    evidence). No transaction is open in the readers. ``model(name)`` waits for one model's
    reads; an unreadable model is refused whole, and a retryable error (MLflow unreachable or
    failing) ends the sync, to be tried again."""

    def __init__(self, ctx: Context, pool: ThreadPoolExecutor):
        self.ctx = ctx
        self.pool = pool
        self.pending: dict[str, list[_Read]] = defaultdict(list)

    def submit(self, models: list[dict], versions: dict[str, list[dict]]) -> None:
        ctx = self.ctx
        wanted: list[tuple[str, _Read]] = []
        chunk: list[str] = []
        recheck_before = clock.now() - dt.timedelta(minutes=settings.MLGOV_MLFLOW_RECHECK_MINUTES)
        for registered in models:
            name = str(registered["name"])
            aliases = _aliases_by_version(registered)
            link = ctx.links.get(name)
            for version in versions.get(name, []):
                number = str(version["version"])
                known = ctx.version_links.get((link.pk, number)) if link else None
                stamp = int(version.get("last_updated_timestamp") or 0)
                mine = sorted(aliases.get(number, []))
                if known is None or (
                    not known.version.is_locked and known.last_updated_ms != stamp
                ):
                    read = _Read("facts", number, version, mine)
                    run_id = str(version.get("run_id") or "")
                    if run_id:
                        if len(chunk) >= RUNS_PER_SEARCH:
                            chunk = []
                        chunk.append(run_id)
                        read.run_ids = chunk
                elif known.version.is_locked:
                    read = _Read("digest", number, version, mine, artifact_uri=known.artifact_uri)
                elif known.checked_at is None or known.checked_at <= recheck_before:
                    # Files changed in MLflow without a new version: the URI is resolved anew.
                    read = _Read("recheck", number, version, mine)
                else:
                    continue
                wanted.append((name, read))
        experiments = ctx.client.experiment_ids() if chunk else []
        searches: dict[int, Future] = {}
        for name, read in wanted:
            if read.run_ids is not None:
                key = id(read.run_ids)
                if key not in searches:
                    searches[key] = self.pool.submit(
                        reader.read_runs, ctx.client, read.run_ids, experiments
                    )
                read.runs = searches[key]
            read.files = self.pool.submit(
                reader.read_files, ctx.client, read.version, read.artifact_uri
            )
            self.pending[name].append(read)

    def model(self, name: str) -> tuple[dict[str, reader.VersionFacts], dict[str, reader.Files]]:
        """``(facts, files)`` of one model's versions, by version number: the facts of new or
        changed versions, what reading the files of the others found."""
        facts: dict[str, reader.VersionFacts] = {}
        digests: dict[str, reader.Files] = {}
        error: MlflowError | None = None
        for read in self.pending.pop(name, []):
            try:
                files = read.files.result()
                runs = read.runs.result() if read.runs is not None else {}
            except MlflowError as exc:
                if exc.retryable:
                    raise
                error = error or exc
                continue
            if read.kind != "facts":
                digests[read.number] = files
            else:
                run = runs.get(str(read.version.get("run_id") or "")) or {}
                facts[read.number] = reader.version_facts(
                    read.version, aliases=read.aliases, run=run, files=files
                )
        if error is not None:
            raise error
        return facts, digests


def _aliases_by_version(registered: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for alias in registered.get("aliases") or ():
        found[str(alias.get("version"))].append(str(alias.get("alias")))
    return found


def _sync_model(ctx: Context, registered: dict, versions: list[dict], reads: Reads) -> None:
    name = str(registered["name"])
    tally = ctx.tally
    tally.seen += 1
    try:
        facts, digests = reads.model(name)
    except MlflowError:
        tally.seen += len(versions)
        raise
    aliases = _aliases_by_version(registered)
    link = ctx.links.get(name)
    with transaction.atomic():
        if link is None:
            link = _discover(ctx, registered)
            tally.created += 1
        else:
            tally.count("updated" if _update_link(link, registered) else "unchanged")
        ordered = sorted(versions, key=lambda v: int(str(v["version"]) or 0))
        new = [
            v
            for v in ordered
            if (link.pk, str(v["version"])) not in ctx.version_links and str(v["version"]) in facts
        ]
        refused = _register_new(ctx, link, new, facts) if new else {}
        checked: list[int] = []  # the links whose files were read and recorded
        for version in ordered:
            number = str(version["version"])
            tally.seen += 1
            if number in refused:
                tally.refuse(f"{name} v{number}", refused[number])
                continue
            if any(v is version for v in new):
                tally.count("created")
                continue
            read, digest = facts.get(number), digests.get(number)
            try:
                # A savepoint only where a version is written through the inventory (an
                # unchanged version costs no query).
                with transaction.atomic(savepoint=read is not None or digest is not None):
                    outcome = _sync_version(ctx, link, version, read, digest, aliases)
            except ApplicationError as exc:
                tally.refuse(f"{name} v{number}", exc.message)
                continue
            known = ctx.version_links.get((link.pk, number))
            if known is not None and not known.version.is_locked and (read or digest):
                checked.append(known.pk)
            if outcome == "refused":
                continue
            tally.count(outcome)
        if checked:
            VersionLink.objects.filter(pk__in=checked).update(checked_at=clock.now())
        _check_serving(ctx, link, versions, aliases)
        _ingest_monitoring(ctx, link, versions)


def _register_new(
    ctx: Context, link: ModelLink, versions: list[dict], facts: dict[str, reader.VersionFacts]
) -> dict[str, str]:
    """Register a model's versions new to mlgov in one batch (the inventory's checks and
    audit events for each) and link them; returns the refused ones' reasons by number."""
    refused: dict[str, str] = {}
    items = []
    for version in versions:
        number = str(version["version"])
        try:
            # A savepoint only where datasets may be recorded (most versions have none).
            with transaction.atomic(savepoint=bool(facts[number].datasets)):
                datasets = _datasets(ctx, facts[number])
        except ApplicationError as exc:
            refused[number] = exc.message
            continue
        items.append(
            inventory_services.NewVersion(
                version=number,
                data=_version_data(facts[number]),
                training_datasets=datasets[DatasetRole.TRAINED_ON],
                evaluation_datasets=datasets[DatasetRole.EVALUATED_ON],
            )
        )
    created, failed = inventory_services.model_versions_register_many(
        actor=ctx.connection.run_as, model=link.model, versions=items
    )
    refused.update({number: exc.message for number, exc in failed.items()})
    now = clock.now()
    links = VersionLink.objects.bulk_create(
        [
            VersionLink(
                model_link=link,
                mlflow_version=mv.version,
                version=mv,
                checked_at=now,
                **_link_data(facts[mv.version]),
            )
            for mv in created
        ]
    )
    for vl in links:
        ctx.version_links[(link.pk, vl.mlflow_version)] = vl
    return refused


def _discover(ctx: Context, registered: dict) -> ModelLink:
    connection = ctx.connection
    name = str(registered["name"])
    taken = set(
        RegisteredModel.objects.filter(
            slug__in=list(mapping.slug_candidates(name))[:20]
        ).values_list("slug", flat=True)
    )
    slug = next(s for s in mapping.slug_candidates(name) if s not in taken)
    model = inventory_services.registered_model_discover(
        actor=connection.run_as,
        slug=slug,
        name=name,
        source=f"MLflow ({connection.name})",
        business_unit=connection.business_unit,
        description=str(registered.get("description") or ""),
    )
    link = ModelLink.objects.create(
        connection=connection,
        mlflow_name=name,
        model=model,
        tags=mapping.tags_of(registered),
        aliases={a["alias"]: str(a["version"]) for a in registered.get("aliases") or ()},
        last_updated_ms=int(registered.get("last_updated_timestamp") or 0),
    )
    ctx.links[name] = link
    return link


def _update_link(link: ModelLink, registered: dict) -> bool:
    tags = mapping.tags_of(registered)
    aliases = {a["alias"]: str(a["version"]) for a in registered.get("aliases") or ()}
    if link.tags == tags and link.aliases == aliases:
        return False
    before = {"tags": link.tags, "aliases": link.aliases}
    link.tags, link.aliases = tags, aliases
    link.last_updated_ms = int(registered.get("last_updated_timestamp") or 0)
    link.save(update_fields=["tags", "aliases", "last_updated_ms"])
    audit_record(
        actor=link.connection.run_as,
        action=AuditEvent.Action.UPDATE,
        obj=link,
        model_ref=link.model_id,
        changes=diff.diff(before, {"tags": tags, "aliases": aliases}),
    )
    return True


def _datasets(ctx: Context, facts: reader.VersionFacts) -> dict[str, list[Dataset]]:
    by_role: dict[str, list[Dataset]] = {r: [] for r in DatasetRole.values}
    for item in facts.datasets:
        slug = mapping.dataset_slug(item.name, item.digest)
        dataset = ctx.datasets.get(slug) or Dataset.objects.filter(slug=slug).first()
        if dataset is None:
            dataset = inventory_services.dataset_create(
                actor=ctx.connection.run_as,
                slug=slug,
                name=item.name,
                uri=item.uri,
                version=f"MLflow digest {item.digest}" if item.digest else "",
                description=f"An input of MLflow runs, recorded by {ctx.connection}.",
            )
        ctx.datasets[slug] = dataset
        if dataset not in by_role[item.role]:
            by_role[item.role].append(dataset)
    return by_role


def _version_data(facts: reader.VersionFacts) -> dict[str, Any]:
    return {
        "description": facts.description,
        "artifact_uri": facts.artifact_uri[:500],
        "artifact_sha256": facts.digest,
        "hyperparameters": facts.params,
        "evaluation_metrics": facts.metrics,
    }


def _link_data(facts: reader.VersionFacts) -> dict[str, Any]:
    return {
        "run_id": facts.run_id,
        "source": facts.source,
        "artifact_uri": facts.artifact_uri,
        "digest": facts.digest,
        "digest_covers": facts.digest_covers,
        "signature": facts.signature,
        "input_example": facts.input_example,
        "tags": facts.tags,
        "aliases": facts.aliases,
        "stage": facts.stage,
        "last_updated_ms": facts.last_updated_ms,
    }


def _sync_version(
    ctx: Context,
    link: ModelLink,
    version: dict,
    facts: reader.VersionFacts | None,
    digest: reader.Files | None,
    aliases: dict[str, list[str]],
) -> str:
    """Create, update or leave one version; returns the outcome counted. ``digest`` is what
    reading the files of an approved version, or rechecking another's, found."""
    actor = ctx.connection.run_as
    number = str(version["version"])
    known = ctx.version_links.get((link.pk, number))
    if known is None:
        datasets = _datasets(ctx, facts)
        mv = inventory_services.model_version_register(
            actor=actor,
            model=link.model,
            version=number,
            training_datasets=datasets[DatasetRole.TRAINED_ON],
            evaluation_datasets=datasets[DatasetRole.EVALUATED_ON],
            **_version_data(facts),
        )
        ctx.version_links[(link.pk, number)] = VersionLink.objects.create(
            model_link=link, mlflow_version=number, version=mv, **_link_data(facts)
        )
        return "created"
    if known.version.is_locked:
        return _check_locked(ctx, link, known, version, digest, aliases)
    changed = False
    if facts is not None:
        datasets = _datasets(ctx, facts)
        _, changes = _update_version(ctx, known, facts, datasets)
        changed = bool(changes)
        data = _link_data(facts)
    else:
        data = {
            "tags": mapping.tags_of(version),
            "aliases": sorted(aliases.get(number, [])),
            "stage": str(version.get("current_stage") or ""),
        }
        if digest is not None:
            changed = _recheck_files(ctx, link, known, digest)
    return "updated" if _save_link(known, data) or changed else "unchanged"


def _recheck_files(ctx: Context, link: ModelLink, known: VersionLink, files: reader.Files) -> bool:
    """A version not yet approved whose files changed in MLflow (same version, new files):
    record the new digest and URI on the version (audited: old and new digest in its
    history) and the new signature and input example on the link."""
    uri, digest = files.uri, files.digest
    if digest == known.digest and uri[:1000] == known.artifact_uri:
        return False
    before = known.digest
    known.version = inventory_services.model_version_update(
        actor=ctx.connection.run_as,
        version=_version_whole(known),
        artifact_uri=uri[:500],
        artifact_sha256=digest,
    )
    _save_link(
        known,
        {
            "artifact_uri": uri[:1000],
            "digest": digest,
            "digest_covers": files.covers,
            "signature": files.signature,
            "input_example": files.input_example,
        },
    )
    ctx.tally.notes.append(
        f"{link.mlflow_name} v{known.mlflow_version}: files changed in MLflow "
        f"(SHA-256 {before} → {digest})"
    )
    return True


def _update_version(ctx, known: VersionLink, facts, datasets):
    current = {
        DatasetRole.TRAINED_ON: set(),
        DatasetRole.EVALUATED_ON: set(),
    }
    for vd in _version_whole(known).dataset_links.all():
        current[vd.role].add(vd.dataset_id)
    relink = any({d.pk for d in datasets[role]} != current[role] for role in current)
    version = inventory_services.model_version_update(
        actor=ctx.connection.run_as,
        version=known.version,
        training_datasets=datasets[DatasetRole.TRAINED_ON] if relink else None,
        evaluation_datasets=datasets[DatasetRole.EVALUATED_ON] if relink else None,
        **_version_data(facts),
    )
    changes = relink or any(getattr(known.version, k) != v for k, v in _version_data(facts).items())
    known.version = version
    return version, changes


def _save_link(known: VersionLink, data: dict[str, Any]) -> bool:
    changed = [k for k, v in data.items() if getattr(known, k) != v]
    if not changed:
        return False
    for k in changed:
        setattr(known, k, data[k])
    known.save(update_fields=changed)
    return True


def _check_locked(
    ctx: Context,
    link: ModelLink,
    known: VersionLink,
    version: dict,
    digest: reader.Files | None,
    aliases: dict[str, list[str]],
) -> str:
    """An approved version is immutable: record only MLflow's tags and aliases, and when
    its files changed, raise one finding per change instead of editing the version."""
    number = known.mlflow_version
    data = {
        "tags": mapping.tags_of(version),
        "aliases": sorted(aliases.get(number, [])),
        "stage": str(version.get("current_stage") or ""),
    }
    moved = _save_link(known, data)
    if digest is None:
        return "updated" if moved else "unchanged"
    now_digest = digest.digest
    if now_digest == known.digest:
        if known.reported_digest:
            _save_link(known, {"reported_digest": ""})
        return "updated" if moved else "unchanged"
    if now_digest != known.reported_digest:
        mv = known.version
        finding = finding_raise_for_integrity(
            actor=ctx.connection.run_as,
            model=link.model,
            title=f"Artifact of approved version {mv.version} changed in MLflow",
            severity=FindingSeverity.HIGH,
            description=(
                f"Version {mv.version} was approved on {mv.approved_at:%Y-%m-%d} with "
                f"artifact SHA-256 {known.digest}. In MLflow ({ctx.connection}), the files "
                f"of {link.mlflow_name} version {number} at {known.artifact_uri} now digest "
                f"to {now_digest}. mlgov kept the approved record unchanged: find out who "
                "changed the files and why, and register and approve a new version if the "
                "change is wanted."
            ),
        )
        _save_link(known, {"reported_digest": now_digest, "finding": finding})
        ctx.tally.notes.append(f"Finding {finding.pk}: {link.mlflow_name} v{number} changed")
    ctx.tally.refuse(
        f"{link.mlflow_name} v{number}",
        f"approved in mlgov and immutable, but its artifact changed in MLflow "
        f"(finding {known.finding_id}).",
    )
    return "refused"


# --- ungoverned production ------------------------------------------------------------------


def _approved_promotions() -> set[int]:
    """The ids of the versions with an approved promotion to production (few: read once)."""
    return {
        int(pk)
        for pk in ApprovalRequest.objects.filter(
            kind=ApprovalKind.PROMOTION,
            status=RequestStatus.APPROVED,
            subject_type="inventory.modelversion",
        ).values_list("subject_id", flat=True)
    }


def _check_serving(
    ctx: Context, link: ModelLink, versions: list[dict], aliases: dict[str, list[str]]
) -> None:
    """Open an incident for each version marked serving without an approved promotion;
    note on it when the condition ends (marker gone, version gone, promotion approved)."""
    current: dict[int, tuple[VersionLink, list[str]]] = {}
    for version in versions:
        number = str(version["version"])
        vl = ctx.version_links.get((link.pk, number))
        if vl is None:
            continue
        markers = mapping.serving_markers(
            {**version, "aliases": aliases.get(number, [])}, ctx.markers
        )
        current[vl.pk] = (vl, markers)
        condition = ctx.open_conditions.get(vl.pk)
        ungoverned = bool(markers) and vl.version_id not in ctx.governed
        if ungoverned and condition is None:
            ctx.open_conditions[vl.pk] = _open_condition(ctx, link, vl, markers)
    for vl_pk, condition in list(ctx.open_conditions.items()):
        if condition.version_link.model_link_id != link.pk:
            continue
        vl, markers = current.get(vl_pk, (None, []))
        if vl is not None and markers and vl.version_id not in ctx.governed:
            continue
        gone = ", ".join(condition.markers)
        if vl is None:
            reason = "the version is no longer in MLflow"
        elif markers:
            reason = "the promotion to production was approved in mlgov"
        else:
            reason = f"MLflow no longer marks it as serving ({gone} removed)"
        _end_condition(ctx, condition, reason)
        del ctx.open_conditions[vl_pk]


def _open_condition(
    ctx: Context, link: ModelLink, vl: VersionLink, markers: list[str]
) -> ServingCondition:
    model = link.model
    actor = ctx.connection.run_as
    severity = BREACH_SEVERITY.get(model.risk_tier or 1)
    incident = incident_services.incident_create(
        actor=actor,
        model=model,
        title=f"{model.name[:120]} {vl.mlflow_version} is serving without an approved promotion",
        severity=severity,
        description=(
            f"MLflow ({ctx.connection}) marks version {vl.mlflow_version} of "
            f"{link.mlflow_name} as serving ({', '.join(markers)}), but mlgov has no approved "
            "promotion to production for it. Request the promotion, or remove the marker in "
            "MLflow; the next sync notes either on this incident."
        ),
        affected_versions=[vl.version],
    )
    if model.validator_id is None:
        # The incident's own notice goes to the model's team; with no validator named (a
        # discovered model), every validator hears of it.
        notify(
            recipients=User.objects.filter(groups__name=roles.VALIDATOR, is_active=True),
            event=Event.INCIDENT_OPENED,
            subject_text=f"Incident {incident.reference} opened on {model.name}: {incident.title}",
            link=incident.get_absolute_url(),
            payload={"incident": incident.reference, "model": model.slug},
        )
    condition = ServingCondition.objects.create(
        version_link=vl, markers=markers, incident=incident, opened_at=clock.now()
    )
    ctx.tally.notes.append(
        f"Incident {incident.reference}: {link.mlflow_name} v{vl.mlflow_version}"
    )
    return condition


def _end_condition(ctx: Context, condition: ServingCondition, reason: str) -> None:
    condition.ended_at = clock.now()
    condition.ended_because = reason[:300]
    condition.save(update_fields=["ended_at", "ended_because"])
    if condition.incident is not None:
        incident_services.incident_comment(
            actor=ctx.connection.run_as,
            incident=condition.incident,
            text=f"The condition ended: {reason} (seen by the MLflow sync of {ctx.connection}).",
        )
        ctx.tally.notes.append(f"Incident {condition.incident.reference}: condition ended")


# --- metrics over time ------------------------------------------------------------------------


def _ingest_monitoring(ctx: Context, link: ModelLink, versions: list[dict]) -> None:
    """The metrics of a version's monitoring run (named by the connection's tag) become
    observations of that version through the normal ingestion path."""
    tag = ctx.connection.monitoring_tag
    if not tag:
        return
    for version in versions:
        run_id = mapping.tags_of(version).get(tag, "").strip()
        vl = ctx.version_links.get((link.pk, str(version["version"])))
        if not run_id or vl is None:
            continue
        user = ctx.connection.run_as
        if not user.has_perm(PUSH, link.model):
            ctx.tally.refuse(
                f"{link.mlflow_name} v{vl.mlflow_version} metrics",
                f"{user} may not push metrics to {link.model.name} (its owner may): the "
                f"points of monitoring run {run_id} were not ingested.",
            )
            continue
        rows, marks = reader.read_history(ctx.client, run_id=run_id, through=vl.metrics_through)
        if not rows:
            continue
        for row in rows:
            row.update(model=link.model.slug, version=vl.version.version)
        batch, _ = ingestion_services.ingestion_batch_create(
            user=ctx.connection.run_as,
            source=IngestionSource.SCHEDULE,
            data=json_rows_bytes(rows),
            file_name=f"mlflow-{run_id}.json",
            scope_model=link.model,
            accept_partial=True,
        )
        _save_link(vl, {"metrics_through": marks})
        ctx.tally.notes.append(f"Batch {batch.pk}: {len(rows)} observations from run {run_id}")


# --- claiming ---------------------------------------------------------------------------------


def discovered_model_claim(*, actor, model: RegisteredModel, purpose: str, business_owner):
    """A model owner takes a discovered model (see ``registered_model_claim``)."""
    return inventory_services.registered_model_claim(
        actor=actor, model=model, purpose=purpose, business_owner=business_owner
    )
