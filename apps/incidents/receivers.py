"""The threshold evaluation's signals turned into incidents.

A critical breach opens an incident for its threshold or joins the active one; a breach that
ends because its pair is back within bounds is noted on that incident. Both run inside the
evaluation's transaction, with the threshold locked."""

from __future__ import annotations

from django.dispatch import receiver

from apps.incidents import services
from apps.monitoring import signals


@receiver(signals.critical_breach_started, dispatch_uid="incidents.critical_breach_started")
def open_incident_for_breach(sender, breach, **kwargs) -> None:
    services.incident_open_for_breach(breach=breach)


@receiver(signals.breach_recovered, dispatch_uid="incidents.breach_recovered")
def record_recovery(sender, breach, **kwargs) -> None:
    services.incident_record_recovery(breach=breach)
