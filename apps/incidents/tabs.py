"""The Incidents tab of the model page (apps/core/tabs.py), registered in ``ready()``."""

from __future__ import annotations

from apps.core.tabs import Tab, register_tab

INCIDENTS_TAB = Tab(
    key="incidents",
    label="Incidents",
    url_name="incidents:model_incidents",
    template="incidents/tab_incidents.html",
    # Beside Monitoring, whose critical breaches open incidents.
    order=55,
    permission="incidents.view_incident",
)


def register_tabs() -> None:
    register_tab("inventory.registeredmodel", INCIDENTS_TAB)
