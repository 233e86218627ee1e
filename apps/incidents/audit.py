"""How the audit trail links incidents: their pages are addressed by reference, read for a
page of events in one query. Registered in ``IncidentsConfig.ready``."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.registry import links_by_lookup, register_object_links
from apps.incidents.models import Incident


def incident_urls(pks: list[int]) -> dict[int, str]:
    rows = Incident.objects.filter(pk__in=pks).values_list("pk", "reference")
    return {
        pk: reverse("incidents:incident_detail", kwargs={"reference": reference})
        for pk, reference in rows
    }


def register_audit_links() -> None:
    register_object_links("incidents.incident", links_by_lookup(incident_urls))
