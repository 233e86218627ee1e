"""The model's versions at T with the datasets each used, its deployments and the models it
feeds or is fed by (the snapshot's ``versions``, ``deployments`` and ``dependencies``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Q
from django.db.models.functions import Cast

from apps.inventory.choices import (
    DatasetRole,
    DependencyKind,
    DeploymentEnvironment,
    DeploymentStatus,
    VersionStage,
)
from apps.inventory.models import (
    Dataset,
    Deployment,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    VersionDataset,
)
from apps.reports.batch import Part
from apps.reports.history import Record, event_reads, events_of, records_as_of
from apps.reports.snapshot.context import EVENT_READ, Context
from apps.reports.snapshot.values import iso, label, text

VERSION_FIELDS = (
    "version",
    "description",
    "artifact_uri",
    "artifact_sha256",
    "code_commit",
    "hyperparameters",
    "evaluation_metrics",
    "stage",
    "approved_at",
    "approved_by",
    "created_by",
    "created_at",
    "datasets",  # virtual: "role:slug" strings, as the inventory services record them
)
DATASET_FIELDS = (
    "slug",
    "name",
    "uri",
    "version",
    "content_hash",
    "owner",
    "contains_personal_data",
)
DEPLOYMENT_FIELDS = ("version", "environment", "endpoint", "consumers", "status", "deployed_at")
DEPENDENCY_FIELDS = ("upstream", "downstream", "kind", "description")
OTHER_MODEL_FIELDS = ("slug", "name")


@dataclass(frozen=True)
class Version:
    """A version that existed at T: its primary key and its snapshot entry."""

    pk: Any
    entry: dict[str, Any]


def _versions(ctx: Context):
    return ModelVersion.objects.filter(model=ctx.model)


def _deployments(ctx: Context):
    return Deployment.objects.filter(version__model=ctx.model)


def _dependencies(ctx: Context):
    model_pk = ctx.model.pk
    return ModelDependency.objects.filter(Q(upstream_id=model_pk) | Q(downstream_id=model_pk))


def reads(ctx: Context) -> dict[str, Part]:
    """The model's versions with their datasets, deployments and dependencies, today."""
    return {
        "version_datasets": Part(
            VersionDataset.objects.filter(version__model=ctx.model),
            ("version_id", "role", "dataset__slug"),
        ),
        "versions": ctx.part(_versions(ctx), VERSION_FIELDS, virtual=("datasets",)),
        "deployments": ctx.part(_deployments(ctx), DEPLOYMENT_FIELDS),
        "dependencies": ctx.part(_dependencies(ctx), DEPENDENCY_FIELDS),
    }


def version_records(ctx: Context) -> list[Record]:
    """The versions that existed at T as records, newest first."""
    links: dict[Any, list[str]] = defaultdict(list)
    for row in ctx.rows["version_datasets"]:
        links[row["version_id"]].append(f"{row['role']}:{row['dataset__slug']}")
    records = ctx.records(
        _versions(ctx),
        VERSION_FIELDS,
        virtual={"datasets": {pk: sorted(items) for pk, items in links.items()}},
        rows=ctx.rows["versions"],
    )
    records.sort(key=lambda r: (r.values["created_at"] or r.born or ctx.moment, r.pk), reverse=True)
    return records


def _dataset_slugs(records: list[Record]) -> list[str]:
    return sorted({item.split(":", 1)[1] for r in records for item in r.values["datasets"] or []})


def related_reads(
    ctx: Context, versions: list[Record], dependencies: list[Record]
) -> dict[str, Part]:
    """What the versions and dependencies at T name: the datasets and the other models, as
    they are today, with their audit events."""
    datasets = Dataset.objects.filter(slug__in=_dataset_slugs(versions))
    dataset_ids = datasets.order_by().annotate(key=Cast("pk", CharField())).values("key")
    others = RegisteredModel.objects.filter(pk__in=_others(ctx, dependencies))
    return {
        "datasets": ctx.part(datasets, DATASET_FIELDS),
        "dataset_events": Part(event_reads(Dataset, dataset_ids), EVENT_READ),
        "other_models": ctx.part(others, OTHER_MODEL_FIELDS),
        "other_model_events": Part(
            event_reads(RegisteredModel, _others(ctx, dependencies)), EVENT_READ
        ),
    }


def versions(ctx: Context, records: list[Record]) -> list[Version]:
    """The versions that existed at T, newest first (``records``: ``version_records``)."""
    datasets = _datasets_at(ctx, _dataset_slugs(records))
    roles = list(DatasetRole.values)
    versions = []
    for record in records:
        v = record.values
        used = []
        for item in v["datasets"] or []:
            role, slug = item.split(":", 1)
            used.append((roles.index(role) if role in roles else len(roles), slug, role))
        entries = []
        for _, slug, role in sorted(used):
            data = datasets.get(slug) or {"slug": slug}
            entries.append(
                {
                    "slug": slug,
                    "name": text(data.get("name")),
                    "uri": text(data.get("uri")),
                    "version": text(data.get("version")),
                    "content_hash": text(data.get("content_hash")),
                    "role": role,
                    "role_label": label(DatasetRole, role),
                    "owner": ctx.people(data.get("owner_id")),
                    "contains_personal_data": bool(data.get("contains_personal_data")),
                }
            )
        versions.append(
            Version(
                pk=record.pk,
                entry={
                    "version": v["version"],
                    "description": text(v["description"]),
                    "stage": v["stage"],
                    "stage_label": label(VersionStage, v["stage"]),
                    "artifact_uri": text(v["artifact_uri"]),
                    "artifact_sha256": text(v["artifact_sha256"]),
                    "code_commit": text(v["code_commit"]),
                    "hyperparameters": v["hyperparameters"] or {},
                    "evaluation_metrics": v["evaluation_metrics"] or {},
                    "created_at": iso(v["created_at"]),
                    "created_by": ctx.people(v["created_by_id"]),
                    "approved_at": iso(v["approved_at"]),
                    "approved_by": ctx.people(v["approved_by_id"]),
                    "datasets": entries,
                },
            )
        )
    return versions


def _datasets_at(ctx: Context, slugs: list[str]) -> dict[str, dict[str, Any]]:
    if not slugs:
        return {}
    records = records_as_of(
        Dataset.objects.filter(slug__in=slugs),
        as_of=ctx.moment,
        fields=DATASET_FIELDS,
        restore_deleted=False,
        existing_only=False,
        rows=ctx.rows["datasets"],
        events=events_of(ctx.rows["dataset_events"]),
    )
    return {r.values["slug"]: r.values for r in records}


def deployments(ctx: Context, versions: list[Version]) -> list[dict[str, Any]]:
    names = {v.pk: v.entry["version"] for v in versions}
    records = ctx.records(_deployments(ctx), DEPLOYMENT_FIELDS, rows=ctx.rows["deployments"])
    records.sort(key=lambda r: (r.values["deployed_at"] or ctx.moment, r.pk), reverse=True)
    return [
        {
            "version": names.get(r.values["version_id"], ""),
            "environment": r.values["environment"],
            "environment_label": label(DeploymentEnvironment, r.values["environment"]),
            "endpoint": text(r.values["endpoint"]),
            "consumers": text(r.values["consumers"]),
            "status": r.values["status"],
            "status_label": label(DeploymentStatus, r.values["status"]),
            "deployed_at": iso(r.values["deployed_at"]),
        }
        for r in records
    ]


def dependency_records(ctx: Context) -> list[Record]:
    """The links to and from other models that existed at T."""
    return ctx.records(_dependencies(ctx), DEPENDENCY_FIELDS, rows=ctx.rows["dependencies"])


def _others(ctx: Context, records: list[Record]) -> list:
    model_pk = ctx.model.pk
    others = {
        r.values["upstream_id"]
        if r.values["downstream_id"] == model_pk
        else r.values["downstream_id"]
        for r in records
    } - {None}
    return sorted(others)


def dependencies(ctx: Context, records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    """The models the model fed or was fed by at T (``records``: ``dependency_records``)."""
    model_pk = ctx.model.pk
    others = _others(ctx, records)
    names: dict[Any, dict] = {}
    if others:
        for other in records_as_of(
            RegisteredModel.objects.filter(pk__in=others),
            as_of=ctx.moment,
            fields=OTHER_MODEL_FIELDS,
            restore_deleted=False,
            existing_only=False,
            rows=ctx.rows["other_models"],
            events=events_of(ctx.rows["other_model_events"]),
        ):
            names[other.pk] = other.values
    result: dict[str, list[dict[str, Any]]] = {"upstream": [], "downstream": []}
    for r in records:
        v = r.values
        side, other = (
            ("upstream", v["upstream_id"])
            if v["downstream_id"] == model_pk
            else ("downstream", v["downstream_id"])
        )
        if other not in names:
            continue
        result[side].append(
            {
                "slug": names[other]["slug"],
                "name": names[other]["name"],
                "kind": v["kind"] or DependencyKind.FEEDS,
                "description": text(v["description"]),
            }
        )
    for entries in result.values():
        entries.sort(key=lambda e: e["slug"])
    return result
