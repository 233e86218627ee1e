"""The model page: its frame and the inventory's own tabs. Other apps register theirs (Monitoring,
Thresholds, Approvals, Reviews, Reports) in their ``AppConfig.ready()``; see apps/core/tabs.py.

Orders leave gaps of ten so an app can place a tab between two others."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from apps.core.tabs import Tab, TabbedPage, register_page, register_tab
from apps.inventory.health_facts import model_health_summary

MODEL_PAGE = "inventory.registeredmodel"


def model_page_context(request, model) -> dict:
    """What every tab of the model page shows: the Edit button in the page head, and the
    model's health with the banner saying what is wrong, each line linking to the tab that
    lists it: from the facts ``model_get`` read with the model, so no query."""
    return {
        "can_edit": request.user.has_perm("inventory.change_registeredmodel", model),
        "health": SimpleLazyObject(lambda: model_health_summary(model)),
    }


def register_tabs() -> None:
    register_page(
        MODEL_PAGE,
        TabbedPage(
            template="inventory/model_detail.html",
            partial="inventory/model/_tabs.html",
            object_name="model",
            context=model_page_context,
        ),
    )
    for key, label, url_name, order, permission in (
        ("overview", "Overview", "inventory:model_detail", 10, None),
        ("versions", "Versions", "inventory:model_versions", 20, None),
        ("lineage", "Datasets and lineage", "inventory:model_lineage", 30, None),
        ("risk", "Risk", "inventory:model_risk", 40, None),
        (
            "history",
            "History",
            "inventory:model_history",
            100,
            "inventory.view_history_registeredmodel",
        ),
    ):
        register_tab(
            MODEL_PAGE,
            Tab(
                key=key,
                label=label,
                url_name=url_name,
                template=f"inventory/model/tab_{key}.html",
                order=order,
                permission=permission,
            ),
        )
