"""The EMERGENCY_CHANGE approval kind, registered in ``IncidentsConfig.ready``.

An emergency rollback takes effect at once; its ratification is asked after the fact. The
subject is the rollback's timeline entry, which never changes, so the frozen content (the
incident, the versions rolled back from and to, who did it, when and why) cannot go stale.
Approval records the ratification on the incident's timeline; a rejection or a request for
changes records that it was not ratified (the model's team then promotes a version through
the ordinary route).
"""

from __future__ import annotations

from apps.approvals.choices import ApprovalKind, RequestStatus
from apps.approvals.registry import KindHandler, register
from apps.core.errors import ApplicationError
from apps.incidents import services
from apps.incidents.choices import EventKind
from apps.incidents.models import IncidentEvent


def _load(subject_id: str) -> IncidentEvent:
    return (
        IncidentEvent.objects.select_for_update(of=("self",))
        .select_related("incident__model", "actor")
        .get(pk=subject_id)
    )


def rollback_content(event: IncidentEvent) -> dict:
    content = {
        "incident": event.incident.reference,
        "model": event.incident.model.slug,
        "rolled_back_from": event.data.get("from"),
        "rolled_back_to": event.data.get("to"),
        "rolled_back_at": event.at.isoformat(),
        "rolled_back_by": event.actor.get_username() if event.actor else None,
        "reason": event.text,
    }
    # How the rollback was signed (method, and at the provider its issuer and auth_time).
    # Rollbacks recorded before the signature was kept have none: their content, and so
    # their frozen hash, stays as it was.
    if "signature" in event.data:
        content["signature"] = event.data["signature"]
    return content


def _title(event: IncidentEvent) -> str:
    return (
        f"Ratify the emergency rollback of {event.incident.model.name} to "
        f"{event.data.get('to')} ({event.incident.reference})"
    )


def _compare(event: IncidentEvent) -> list[dict]:
    return [
        {
            "label": "Production version",
            "current": event.data.get("from"),
            "proposed": event.data.get("to"),
        },
        {"label": "Incident", "current": event.incident.reference, "proposed": "—"},
    ]


def _check(*, subject: IncidentEvent, actor, stage: str) -> None:
    if subject.kind != EventKind.ROLLBACK or "to_version" not in subject.data:
        raise ApplicationError("Only an emergency rollback is ratified this way.")


def _apply(*, subject: IncidentEvent, request, actor) -> None:
    services.rollback_ratified(event=subject, request=request, actor=actor, ratified=True)


def _on_closed(*, subject: IncidentEvent, request, actor) -> None:
    if request.status in (RequestStatus.REJECTED, RequestStatus.CHANGES_REQUESTED):
        services.rollback_ratified(event=subject, request=request, actor=actor, ratified=False)


def register_kinds() -> None:
    register(
        ApprovalKind.EMERGENCY_CHANGE,
        KindHandler(
            load=_load,
            model_of=lambda e: e.incident.model,
            content=rollback_content,
            title=_title,
            check=_check,
            apply=_apply,
            on_closed=_on_closed,
            compare=_compare,
            needs_justification=True,
        ),
    )
