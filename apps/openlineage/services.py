"""Writes of the OpenLineage intake: receive a RunEvent, map jobs to models, naming rules.

A received event is validated against the OpenLineage spec (and mlgov's facets), stored
verbatim, and applied to the inventory when its job maps to a model: its input and output
datasets become (or update) mlgov datasets, its inputs become the data of the model version
its ``mlgov`` facet names, and a dataset one model writes and another reads becomes a
model-to-model feed. Every inventory change goes through the inventory's services (and so
through their permission checks and audit records); the event, the job's mapping and the
rules are audited here. Events are idempotent by run id, event type and event time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audited_create
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.services import require_perm, validate_instance
from apps.core.validators import json_problem
from apps.inventory import selectors as inventory_selectors
from apps.inventory.models import (
    Dataset,
    ModelDependency,
    ModelVersion,
    RegisteredModel,
    VersionDataset,
)
from apps.inventory.services import (
    RESERVED_NAMES,
    dataset_create,
    dataset_update,
    model_dependency_create,
    model_version_update,
)
from apps.openlineage import naming
from apps.openlineage.choices import DatasetUse, EventStatus, MappedBy
from apps.openlineage.models import (
    DatasetName,
    LineageEvent,
    LineageJob,
    ModelDataset,
    NamingRule,
)
from apps.reports.formats import openlineage_spec as spec

#: The largest event stored (encoded); schema facets of wide tables make events big.
MAX_EVENT_BYTES = 2 * 1024 * 1024
#: How many of a bad event's errors the 400 lists (the first is in the summary).
MAX_REPORTED_ERRORS = 20
EVENT_AUDITED_FIELDS = ("job", "run_id", "event_type", "event_time", "status", "outcome")


def _invalid(errors: list[tuple[str, str]]) -> ApplicationError:
    where, message = errors[0]
    summary = f"Invalid OpenLineage RunEvent at {where or '/'}: {message}"
    if len(errors) > 1:
        summary += f" (and {len(errors) - 1} more)"
    field_errors: dict[str, list[str]] = {}
    for pointer, text in errors[:MAX_REPORTED_ERRORS]:
        field_errors.setdefault(pointer or "/", []).append(text)
    return ApplicationError(summary, field_errors=field_errors)


def _facet_model(*, actor, event: dict) -> RegisteredModel | None:
    """The model the event's ``mlgov`` job facet names (None without the facet); a slug
    that names no model the sender may see is the sender's error (400)."""
    slug = naming.mlgov_facet(event).get("model")
    if not slug:
        return None
    model = inventory_selectors.model_list_rows(user=actor).filter(slug=slug).first()
    if model is None:
        pointer = "/job/facets/mlgov/model"
        message = f"No model “{slug}” in mlgov that you may see."
        raise ApplicationError(f"{pointer}: {message}", field_errors={pointer: [message]})
    return model


def _set_mapping(
    *, actor, job: LineageJob, model: RegisteredModel | None, by: str, rule=None
) -> bool:
    """Point ``job`` at ``model`` (audited); False when nothing changed."""
    before = diff.snapshot(job, ("model", "mapped_by", "rule"))
    job.model, job.mapped_by, job.rule = model, by, rule
    after = diff.snapshot(job, ("model", "mapped_by", "rule"))
    if before == after:
        return False
    job.save(update_fields=["model", "mapped_by", "rule"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=job,
        model_ref=model.pk if model is not None else None,
        changes=diff.diff(before, after),
        message=f"OpenLineage job {job} mapped to "
        f"{model.slug if model else 'no model'} ({MappedBy(by).label.lower()})",
    )
    return True


def _map_from_event(*, actor, job: LineageJob, facet_model: RegisteredModel | None) -> None:
    """A facet maps the job (unless an administrator mapped it); otherwise the first naming
    rule that matches maps a job that has no model yet."""
    if facet_model is not None:
        if job.mapped_by != MappedBy.ADMIN:
            _set_mapping(actor=actor, job=job, model=facet_model, by=MappedBy.FACET)
        return
    if job.model_id is None:
        rule = naming.first_matching_rule(
            NamingRule.objects.select_related("model").order_by("position", "pk"),
            namespace=job.namespace,
            name=job.name,
        )
        if rule is not None:
            _set_mapping(actor=actor, job=job, model=rule.model, by=MappedBy.RULE, rule=rule)


@transaction.atomic
def lineage_event_receive(*, actor, event: Any) -> tuple[LineageEvent, bool]:
    """Validate, store and (when its job maps to a model) apply one OpenLineage RunEvent.

    Returns the stored event and whether it is new; the same event (run id, event type and
    event time) sent again returns the stored one and changes nothing. A malformed event
    raises ApplicationError naming each bad field by its JSON pointer; nothing is stored.
    """
    require_perm(actor, "openlineage.send_events")
    problem = json_problem(event, max_bytes=MAX_EVENT_BYTES)
    if problem:
        raise ApplicationError(problem, field_errors={"/": [problem]})
    errors = spec.run_event_errors(event) or naming.length_errors(event)
    if errors:
        raise _invalid(errors)
    when = naming.event_time(event["eventTime"])
    run_id, event_type = event["run"]["runId"], event.get("eventType", "")
    facet_model = _facet_model(actor=actor, event=event)
    job, _ = LineageJob.objects.select_for_update().get_or_create(
        namespace=event["job"]["namespace"], name=event["job"]["name"]
    )
    existing = LineageEvent.objects.filter(
        run_id=run_id, event_type=event_type, event_time=when
    ).first()
    if existing is not None:
        return existing, False
    row = LineageEvent(
        job=job,
        run_id=run_id,
        event_type=event_type,
        event_time=when,
        payload=event,
        sent_by=actor,
        status=EventStatus.UNMAPPED,
    )
    validate_instance(row, exclude=["job", "sent_by"])
    row.save()
    if job.last_event_at is None or when > job.last_event_at:
        job.last_event_at = when
        job.save(update_fields=["last_event_at"])
    _map_from_event(actor=actor, job=job, facet_model=facet_model)
    # An administrator's mapping stands; otherwise the event's own facet decides.
    model = job.model if job.mapped_by == MappedBy.ADMIN else (facet_model or job.model)
    if model is None:
        row.outcome = (
            "Its job maps to no model yet: no mlgov facet, no naming rule matches. An "
            "administrator maps it under OpenLineage jobs, which applies this event."
        )
        row.save(update_fields=["outcome"])
    else:
        _apply(actor=actor, event=row, model=model)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=row,
        model_ref=model.pk if model is not None else None,
        changes=diff.created(diff.snapshot(row, EVENT_AUDITED_FIELDS)),
        message=f"OpenLineage {event_type or 'event'} of {job} received: "
        f"{row.get_status_display().lower()}",
    )
    return row, True


# --- applying an event -------------------------------------------------------------------


@dataclass
class _Outcome:
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


def _apply(*, actor, event: LineageEvent, model: RegisteredModel) -> None:
    """Apply a stored event to ``model``, all or nothing: a refusal (no permission, no such
    version) rolls its changes back and is kept on the event as its outcome."""
    outcome = _Outcome()
    try:
        with transaction.atomic():
            status = _apply_lineage(actor=actor, payload=event.payload, model=model, out=outcome)
    except (ApplicationError, PermissionDenied) as exc:
        status = EventStatus.REFUSED
        outcome = _Outcome([getattr(exc, "message", None) or str(exc)])
    event.status = status
    event.outcome = " ".join(outcome.notes)[:4000]
    event.applied_at = clock.now() if status == EventStatus.APPLIED else None
    event.save(update_fields=["status", "outcome", "applied_at"])


def _apply_lineage(*, actor, payload: dict, model: RegisteredModel, out: _Outcome) -> str:
    if not actor.has_perm("inventory.register_version_registeredmodel", model):
        raise PermissionDenied(
            f"{actor.get_username()} may not record lineage for {model.slug}: its owner, its "
            "developers and administrators may."
        )
    event_type = payload.get("eventType", "")
    if event_type in naming.NOT_APPLIED_TYPES:
        out.note(f"A {event_type} run's datasets are not recorded as lineage.")
        return EventStatus.RECORDED
    inputs, outputs = payload.get("inputs") or [], payload.get("outputs") or []
    if not inputs and not outputs:
        out.note(f"Mapped to {model.slug}; the event names no datasets.")
        return EventStatus.RECORDED
    version_name = naming.mlgov_facet(payload).get("version")
    version = None
    if version_name:
        version = ModelVersion.objects.filter(model=model, version=version_name).first()
        if version is None:
            raise ApplicationError(
                f"{model.slug} has no version {version_name!r} (named by the job's mlgov "
                "facet); register it, then an administrator maps the job again."
            )
    read = [(_dataset_for(actor=actor, item=item, out=out), item) for item in inputs]
    written = [_dataset_for(actor=actor, item=item, out=out) for item in outputs]
    for dataset, _ in read:
        ModelDataset.objects.get_or_create(model=model, dataset=dataset, use=DatasetUse.INPUT)
    for dataset in written:
        ModelDataset.objects.get_or_create(model=model, dataset=dataset, use=DatasetUse.OUTPUT)
    if version is not None:
        _link_version(actor=actor, version=version, read=read, out=out)
    _link_feeds(actor=actor, model=model, read=[d for d, _ in read], written=written, out=out)
    out.notes.insert(
        0,
        f"Applied to {model.slug}{f' {version.version}' if version else ''}: "
        f"{len(read)} input and {len(written)} output dataset(s).",
    )
    return EventStatus.APPLIED


def _free_slug(name: str) -> str:
    base = naming.dataset_slug_base(name)
    if base in RESERVED_NAMES:
        base = f"{base}-dataset"
    taken = set(Dataset.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _dataset_for(*, actor, item: dict, out: _Outcome) -> Dataset:
    """The mlgov dataset of an OpenLineage dataset: known by its (namespace, name), else the
    dataset registered with the same URI, else a new one. Its version follows the event's
    ``version`` facet where the sender may edit the dataset."""
    namespace, name = item["namespace"], item["name"]
    link = DatasetName.objects.select_related("dataset").filter(namespace=namespace, name=name)
    link = link.first()
    version = naming.dataset_version(item)
    if link is not None:
        dataset = link.dataset
    else:
        uri = naming.dataset_uri(namespace, name)
        dataset = Dataset.objects.filter(uri=uri).order_by("pk").first()
        if dataset is None:
            dataset = dataset_create(
                actor=actor,
                slug=_free_slug(name),
                name=naming.dataset_label(name),
                uri=uri[:500],
                version=version,
                description=f"Recorded from OpenLineage events (namespace {namespace}).",
            )
            out.note(f"New dataset {dataset.slug}.")
        link = DatasetName.objects.create(namespace=namespace, name=name, dataset=dataset)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=link,
            changes=diff.created({"namespace": namespace, "name": name, "dataset": dataset.slug}),
            message=f"OpenLineage dataset {link} is mlgov dataset {dataset.slug}",
        )
    if version and dataset.version != version:
        if actor.has_perm("inventory.change_dataset", dataset):
            dataset = dataset_update(actor=actor, dataset=dataset, version=version)
            out.note(f"Dataset {dataset.slug} is now version {version}.")
        else:
            out.note(f"Dataset {dataset.slug}: version {version} not recorded (not yours).")
    return dataset


def _link_version(*, actor, version: ModelVersion, read, out: _Outcome) -> None:
    """Add the inputs to the version's datasets (trained or evaluated on). An approved
    version's datasets are immutable evidence: they are left as they are, and said so."""
    current = {
        (link.role, link.dataset_id): link.dataset
        for link in VersionDataset.objects.filter(version=version).select_related("dataset")
    }
    wanted = dict(current)
    for dataset, item in read:
        for role in naming.input_roles(item):
            wanted[(role, dataset.pk)] = dataset
    if wanted.keys() == current.keys():
        return
    if version.is_locked:
        out.note(
            f"Version {version.version} is approved: its datasets are immutable and were "
            f"left as they are ({len(wanted) - len(current)} link(s) not added)."
        )
        return
    by_role = {naming.TRAINED_ON: [], naming.EVALUATED_ON: []}
    for (role, _), dataset in sorted(wanted.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        by_role[role].append(dataset)
    model_version_update(
        actor=actor,
        version=version,
        training_datasets=by_role[naming.TRAINED_ON],
        evaluation_datasets=by_role[naming.EVALUATED_ON],
    )
    out.note(f"Version {version.version}: {len(wanted) - len(current)} dataset link(s) added.")


def _link_feeds(*, actor, model: RegisteredModel, read, written, out: _Outcome) -> None:
    """A dataset this model reads that another model's jobs write: that model feeds this
    one; a dataset this model writes that another reads: this model feeds that one."""
    upstream = ModelDataset.objects.filter(
        dataset__in=[d.pk for d in read], use=DatasetUse.OUTPUT
    ).exclude(model=model)
    downstream = ModelDataset.objects.filter(
        dataset__in=[d.pk for d in written], use=DatasetUse.INPUT
    ).exclude(model=model)
    pairs = {(u.model_id, model.pk) for u in upstream} | {
        (model.pk, d.model_id) for d in downstream
    }
    if not pairs:
        return
    existing = set(
        ModelDependency.objects.filter(
            upstream__in={a for a, _ in pairs}, downstream__in={b for _, b in pairs}
        ).values_list("upstream_id", "downstream_id")
    )
    models = RegisteredModel.objects.in_bulk({pk for pair in pairs for pk in pair})
    for up, down in sorted(pairs - existing):
        upstream_model, downstream_model = models[up], models[down]
        if not actor.has_perm("inventory.add_modeldependency", downstream_model):
            out.note(
                f"Feed {upstream_model.slug} → {downstream_model.slug} not recorded: an "
                f"editor of {downstream_model.slug} records it."
            )
            continue
        try:
            model_dependency_create(
                actor=actor,
                upstream=upstream_model,
                downstream=downstream_model,
                description="Recorded from OpenLineage events.",
            )
        except ApplicationError as exc:
            out.note(f"Feed {upstream_model.slug} → {downstream_model.slug}: {exc.message}")
        else:
            out.note(f"Feed {upstream_model.slug} → {downstream_model.slug} recorded.")


# --- administrators: mapping jobs and naming rules ---------------------------------------


def _apply_waiting(*, actor, job: LineageJob) -> int:
    """Apply the job's events that wait (unmapped) or were refused, oldest first."""
    waiting = job.events.filter(status__in=(EventStatus.UNMAPPED, EventStatus.REFUSED)).order_by(
        "event_time", "pk"
    )
    count = 0
    for event in waiting:
        before = event.status
        _apply(actor=actor, event=event, model=job.model)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=event,
            model_ref=job.model_id,
            changes=diff.diff(
                {"status": before}, {"status": event.status, "outcome": event.outcome}
            ),
            message=f"Stored OpenLineage event of {job} applied to {job.model.slug}: "
            f"{event.get_status_display().lower()}",
        )
        count += 1
    return count


@transaction.atomic
def lineage_job_map(*, actor, job: LineageJob, model: RegisteredModel) -> int:
    """An administrator maps ``job`` to ``model``; its waiting and refused events are then
    applied (as the administrator). Returns how many events were applied again."""
    require_perm(actor, "openlineage.map_lineagejob")
    job = LineageJob.objects.select_for_update().get(pk=job.pk)
    _set_mapping(actor=actor, job=job, model=model, by=MappedBy.ADMIN)
    return _apply_waiting(actor=actor, job=job)


@transaction.atomic
def naming_rule_create(
    *,
    actor,
    job_pattern: str,
    model: RegisteredModel,
    namespace_pattern: str = "*",
    position: int = 100,
) -> tuple[NamingRule, int]:
    """Add a naming rule; the jobs still unmapped that it matches are mapped by it and their
    events applied. Returns the rule and how many jobs it mapped."""
    require_perm(actor, "openlineage.add_namingrule")
    job_pattern, namespace_pattern = job_pattern.strip(), (namespace_pattern or "*").strip()
    if not job_pattern:
        message = "Give a job-name pattern, e.g. “credit_scoring.train*”."
        raise ApplicationError(message, field_errors={"job_pattern": [message]})
    if NamingRule.objects.filter(
        namespace_pattern=namespace_pattern, job_pattern=job_pattern
    ).exists():
        message = f"A rule for {namespace_pattern} / {job_pattern} already exists."
        raise ApplicationError(message, field_errors={"job_pattern": [message]})
    rule = NamingRule(
        namespace_pattern=namespace_pattern,
        job_pattern=job_pattern,
        model=model,
        position=position,
        created_by=actor,
    )
    audited_create(
        rule,
        actor=actor,
        fields=("namespace_pattern", "job_pattern", "model", "position"),
        model_ref=model.pk,
    )
    mapped = 0
    for job in LineageJob.objects.select_for_update().filter(model__isnull=True):
        if naming.first_matching_rule([rule], namespace=job.namespace, name=job.name):
            _set_mapping(actor=actor, job=job, model=model, by=MappedBy.RULE, rule=rule)
            _apply_waiting(actor=actor, job=job)
            mapped += 1
    return rule, mapped


@transaction.atomic
def naming_rule_delete(*, actor, rule: NamingRule) -> None:
    """Remove a rule. Jobs it mapped keep their model (and their applied events)."""
    require_perm(actor, "openlineage.delete_namingrule")
    before = diff.snapshot(rule, ("namespace_pattern", "job_pattern", "model", "position"))
    label, pk, model_ref = str(rule), rule.pk, rule.model_id
    rule.delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        object_type="openlineage.namingrule",
        object_id=str(pk),
        object_repr=label,
        model_ref=model_ref,
        changes=diff.deleted(before),
    )
