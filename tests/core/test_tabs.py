"""The tab registry of object pages: order, permissions, badges and configuration errors."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from apps.core import tabs
from apps.core.tabs import Tab, TabbedPage, TabRegistry, page_key
from apps.inventory.models import RegisteredModel
from tests.factories import ModelVersionFactory

PAGE = "inventory.registeredmodel"


def tab(key: str, order: int, **extra) -> Tab:
    return Tab(
        key=key,
        label=key.title(),
        url_name=f"x:{key}",
        template=f"x/{key}.html",
        order=order,
        **extra,
    )


class FakeUser:
    """Holds the permissions it is given, on any object; remembers what was asked."""

    def __init__(self, *perms: str) -> None:
        self.perms = set(perms)
        self.asked: list[tuple[str, object]] = []

    def has_perm(self, perm: str, obj=None) -> bool:
        self.asked.append((perm, obj))
        return perm in self.perms


def test_tabs_come_in_their_order_whatever_the_order_of_registration():
    registry = TabRegistry()
    for key, order in (("c", 30), ("a", 10), ("d", 40), ("b", 20)):
        registry.register_tab(PAGE, tab(key, order))
    assert [t.key for t in registry.tabs(PAGE)] == ["a", "b", "c", "d"]


def test_a_page_is_keyed_by_its_model_label_however_it_is_named():
    instance = RegisteredModel(slug="m")
    assert page_key(RegisteredModel) == PAGE
    assert page_key(instance) == PAGE
    assert page_key("inventory.RegisteredModel") == PAGE


def test_a_tab_with_a_permission_is_shown_only_to_holders_on_that_object():
    registry = TabRegistry()
    registry.register_tab(PAGE, tab("open", 10))
    registry.register_tab(PAGE, tab("guarded", 20, permission="app.view_guarded"))
    obj = RegisteredModel(slug="m")

    stranger = FakeUser()
    assert [t["key"] for t in registry.visible_tabs(user=stranger, obj=obj)] == ["open"]
    assert stranger.asked == [("app.view_guarded", obj)]

    holder = FakeUser("app.view_guarded")
    assert [t["key"] for t in registry.visible_tabs(user=holder, obj=obj)] == ["open", "guarded"]


def test_a_badge_counts_for_the_user_and_object_and_only_visible_tabs_are_counted():
    calls = []

    def badge(user, obj):
        calls.append((user, obj))
        return 3

    registry = TabRegistry()
    registry.register_tab(PAGE, tab("counted", 10, badge=badge))
    registry.register_tab(PAGE, tab("hidden", 20, permission="app.no", badge=badge))
    registry.register_tab(PAGE, tab("plain", 30))
    user, obj = FakeUser(), RegisteredModel(slug="m")

    shown = registry.visible_tabs(user=user, obj=obj)

    assert [(t["key"], t["badge"]) for t in shown] == [("counted", 3), ("plain", None)]
    assert calls == [(user, obj)]


def test_registering_the_same_tab_twice_is_harmless():
    registry = TabRegistry()
    registry.register_tab(PAGE, tab("a", 10))
    registry.register_tab(PAGE, tab("a", 10))
    assert [t.key for t in registry.tabs(PAGE)] == ["a"]


def test_a_second_tab_under_a_used_key_is_refused():
    registry = TabRegistry()
    registry.register_tab(PAGE, tab("a", 10))
    with pytest.raises(ImproperlyConfigured, match=r"'a' tab of inventory\.registeredmodel"):
        registry.register_tab(PAGE, tab("a", 15))
    assert registry.tab(PAGE, "a").order == 10


def test_two_tabs_in_the_same_place_are_refused():
    registry = TabRegistry()
    registry.register_tab(PAGE, tab("a", 10))
    with pytest.raises(ImproperlyConfigured, match=r"'b' and 'a' tabs .* same order \(10\)"):
        registry.register_tab(PAGE, tab("b", 10))
    assert [t.key for t in registry.tabs(PAGE)] == ["a"]


def test_a_page_registered_twice_differently_is_refused():
    registry = TabRegistry()
    page = TabbedPage(template="p.html", partial="_p.html", object_name="obj")
    registry.register_page(PAGE, page)
    registry.register_page(PAGE, page)
    with pytest.raises(ImproperlyConfigured, match=r"page of inventory\.registeredmodel"):
        registry.register_page(PAGE, TabbedPage(template="q.html", partial="", object_name="o"))


def test_unknown_pages_and_tabs_are_named_in_the_error():
    registry = TabRegistry()
    with pytest.raises(LookupError, match=r"No tabbed page is registered for inventory\.reg"):
        registry.page(PAGE)
    with pytest.raises(LookupError, match=r"No 'nope' tab is registered for inventory\.reg"):
        registry.tab(PAGE, "nope")
    assert registry.tabs(PAGE) == []


@pytest.fixture
def counted_versions_tab(monkeypatch):
    """A tab with a badge (the model's versions), added to the model page for one test."""
    monkeypatch.setattr(
        tabs.registry, "_tabs", {k: dict(v) for k, v in tabs.registry._tabs.items()}
    )
    tabs.register_tab(
        PAGE,
        Tab(
            key="counted",
            label="Counted",
            url_name="inventory:model_versions",
            template="inventory/model/tab_versions.html",
            order=57,
            badge=lambda user, model: model.versions.count(),
        ),
    )


@pytest.mark.django_db
def test_the_model_page_shows_a_registered_badge_beside_its_label_when_not_zero(
    client, viewer, owned_model, counted_versions_tab
):
    client.force_login(viewer)
    page = reverse("inventory:model_detail", kwargs={"slug": owned_model.slug})

    body = client.get(page).content.decode()
    assert re.search(r">Counted</a>", body), "no badge while there is nothing to count"

    ModelVersionFactory(model=owned_model, version="1.0.0")
    ModelVersionFactory(model=owned_model, version="1.1.0")
    body = client.get(page).content.decode()
    assert re.search(r'>Counted <span class="badge badge--none">2</span></a>', body)
    # Placed by its order: after Incidents (55), before Thresholds (60).
    labels = re.findall(r'hx-push-url="true"[^>]*>([^<]+?)\s*<', body)
    assert labels[labels.index("Incidents") + 1 : labels.index("Thresholds")] == ["Counted"]
