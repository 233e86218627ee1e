"""The model itself at T: identity, purpose, business unit, lifecycle, risk tier and EU AI Act
class (the snapshot's ``model`` section and the values its ``people`` section names)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from apps.core.errors import ApplicationError
from apps.inventory.choices import (
    AnnexIIIPoint,
    EUAIActClass,
    LifecycleStatus,
    ModelType,
    Origin,
    RiskTier,
)
from apps.inventory.models import BusinessUnit, RegisteredModel
from apps.inventory.services import MODEL_AUDITED_FIELDS
from apps.reports.batch import Part
from apps.reports.history import event_reads, events_of, records_as_of
from apps.reports.snapshot.context import EVENT_READ, Context
from apps.reports.snapshot.values import iso, label, text

#: The model's fields rebuilt as of T: those its audit events record, plus its developers
#: (audited as a list) and when it was registered.
MODEL_FIELDS = (*MODEL_AUDITED_FIELDS, "developers", "created_at")
UNIT_FIELDS = ("code", "name")


def _model(ctx: Context):
    return RegisteredModel.objects.filter(pk=ctx.model.pk)


def _developer_columns() -> tuple[str, str]:
    m2m = RegisteredModel._meta.get_field("developers")
    return f"{m2m.m2m_field_name()}_id", f"{m2m.m2m_reverse_field_name()}_id"


def reads(ctx: Context) -> dict[str, Part]:
    """The model's row and its developers, as they are today."""
    source, _target = _developer_columns()
    developers = RegisteredModel.developers.through.objects.filter(**{source: ctx.model.pk})
    return {
        "model": ctx.part(_model(ctx), MODEL_FIELDS),
        "model_developers": Part(developers, _developer_columns()),
    }


def model_values(ctx: Context) -> dict[str, Any]:
    source, target = _developer_columns()
    developers: dict[Any, list] = defaultdict(list)
    for link in ctx.rows["model_developers"]:
        developers[link[source]].append(link[target])
    records = ctx.records(
        _model(ctx),
        MODEL_FIELDS,
        restore_deleted=False,
        rows=ctx.rows["model"],
        many={"developers": {pk: sorted(ids) for pk, ids in developers.items()}},
    )
    if not records:
        raise ApplicationError(
            f"{ctx.model} was not in the inventory yet on {iso(ctx.moment)}; choose a later date."
        )
    return records[0].values


def _unit(v: dict[str, Any]):
    return BusinessUnit.objects.filter(pk=v["business_unit_id"])


def unit_reads(ctx: Context, v: dict[str, Any]) -> dict[str, Part]:
    """The business unit the model was in at T, and its audit events."""
    return {
        "unit": ctx.part(_unit(v), UNIT_FIELDS),
        "unit_events": Part(event_reads(BusinessUnit, _ids(v["business_unit_id"])), EVENT_READ),
    }


def _ids(pk) -> list:
    return [] if pk is None else [pk]


def model_section(ctx: Context, v: dict[str, Any]) -> dict[str, Any]:
    units = records_as_of(
        _unit(v),
        as_of=ctx.moment,
        fields=UNIT_FIELDS,
        restore_deleted=False,
        existing_only=False,
        rows=ctx.rows["unit"],
        events=events_of(ctx.rows["unit_events"]),
    )
    unit = units[0].values if units else {"code": "", "name": ""}
    point = v["eu_annex_iii_point"] or ""
    return {
        "slug": v["slug"],
        "name": v["name"],
        "description": text(v["description"]),
        "purpose": text(v["purpose"]),
        "out_of_scope_uses": text(v["out_of_scope_uses"]),
        "intended_users": text(v["intended_users"]),
        "business_unit": {"code": unit["code"], "name": unit["name"]},
        "origin": v["origin"],
        "origin_label": label(Origin, v["origin"]),
        "vendor": text(v["vendor"]),
        "model_type": v["model_type"],
        "model_type_label": label(ModelType, v["model_type"]),
        "algorithm": text(v["algorithm"]),
        "inputs": text(v["inputs"]),
        "outputs": text(v["outputs"]),
        "downstream_consumers": text(v["downstream_consumers"]),
        "limitations": text(v["limitations"]),
        "assumptions": text(v["assumptions"]),
        "ethical_considerations": text(v["ethical_considerations"]),
        "explainability": text(v["explainability"]),
        "human_oversight_contact": text(v["human_oversight_contact"]),
        "status": v["status"],
        "status_label": label(LifecycleStatus, v["status"]),
        "lifecycle": {
            "created_at": iso(v["created_at"]),
            "status_changed_at": iso(v["status_changed_at"]),
            "validation_started_at": iso(v["validation_started_at"]),
            "approved_at": iso(v["approved_at"]),
            "deployed_at": iso(v["deployed_at"]),
            "retired_at": iso(v["retired_at"]),
            "retirement_reason": text(v["retirement_reason"]),
        },
        "next_review_date": iso(v["next_review_date"]),
        "risk": {
            "tier": v["risk_tier"],
            "tier_label": label(RiskTier, v["risk_tier"]),
            "rationale": text(v["risk_tier_rationale"]),
            "assessed_by": ctx.people(v["risk_assessed_by_id"]),
            "assessed_at": iso(v["risk_assessed_at"]),
        },
        "eu_ai_act": {
            "class": v["eu_ai_act_class"],
            "class_label": label(EUAIActClass, v["eu_ai_act_class"]),
            "annex_iii_point": point,
            "annex_iii_label": label(AnnexIIIPoint, point),
        },
    }
