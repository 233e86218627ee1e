"""Form widgets shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django_filters.widgets import BooleanWidget


class ModelSearchInput(forms.TextInput):
    """A type-ahead chooser of a registered model that never lists the inventory.

    Without JavaScript it is a plain search box (the filter matches a slug exactly, or a name
    or slug containing the text). ``static/js/model-suggest.js`` fills its ``<datalist>`` from
    a JSON endpoint answering at most ~20 models the user may see that match what was typed;
    choosing one puts its slug in the box."""

    input_type = "search"

    def __init__(self, attrs=None, *, suggest_url_name: str = "inventory:model_suggest"):
        super().__init__(
            {"autocomplete": "off", "placeholder": "Name or slug", "spellcheck": "false"}
            | (attrs or {})
        )
        self.suggest_url_name = suggest_url_name

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or 'id_' + name}_suggestions"
        attrs["list"] = list_id
        attrs["data-suggest-url"] = reverse(self.suggest_url_name)
        html = super().render(name, value, attrs, renderer)
        return html + format_html(
            '<datalist id="{}"></datalist><script src="{}" defer></script>',
            list_id,
            static("js/model-suggest.js"),
        )


class _Searchable:
    """What the searchable selects share: ``static/js/choices.js`` turns them into Tom Select
    boxes (``static/vendor``), searched as one types.

    Local (no ``suggest_url_name``): for short lists (people who may act, a model's metrics
    and versions), searched among the options in the page; without JavaScript an ordinary
    select. Remote (``suggest_url_name``): for lists that can be long, the page holds only the
    chosen options and typing asks the endpoint for ``{"results": [{"value", "label"}, …]}``;
    the field's queryset still decides what is accepted, and without JavaScript the chosen
    ones can be kept or removed, not added."""

    def __init__(self, attrs=None, *, suggest_url_name: str | None = None, placeholder: str = ""):
        super().__init__(({"data-placeholder": placeholder} if placeholder else {}) | (attrs or {}))
        self.suggest_url_name = suggest_url_name

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        if self.suggest_url_name:
            attrs["data-choices"] = "remote"
            attrs["data-suggest-url"] = reverse(self.suggest_url_name)
        else:
            attrs["data-choices"] = "local"
        return attrs

    def optgroups(self, name, value, attrs=None):
        if not self.suggest_url_name:
            return super().optgroups(name, value, attrs)
        return self._chosen_optgroups(name, value)

    def _chosen_optgroups(self, name, value):
        """Options for the chosen values only, looked up in one query."""
        field = self.choices.field
        chosen = [v for v in value if str(v) not in field.empty_values]
        key = field.to_field_name or "pk"
        try:
            rows = list(field.queryset.filter(**{f"{key}__in": chosen})) if chosen else []
        except (TypeError, ValueError, ValidationError):
            rows = []  # a bound form with a malformed value: its error says so
        options = [
            self.create_option(
                name, field.prepare_value(row), field.label_from_instance(row), True, index
            )
            for index, row in enumerate(rows)
        ]
        return [(None, options, 0)]


class SearchSelect(_Searchable, forms.Select):
    """A searchable choice of one (see ``_Searchable``); an empty choice ("Nobody", "All
    versions") stays a choice."""

    def _chosen_optgroups(self, name, value):
        groups = super()._chosen_optgroups(name, value)
        field = self.choices.field
        if getattr(field, "empty_label", None) is not None:
            empty = self.create_option(name, "", field.empty_label, not any(value), 0)
            groups[0][1].insert(0, empty)
        return groups


class SearchSelectMultiple(_Searchable, forms.SelectMultiple):
    """A searchable choice of several, shown as removable tags (see ``_Searchable``): no
    Ctrl-click. Remote by default with the placeholder "Type to search"."""

    def __init__(self, attrs=None, *, suggest_url_name: str | None = None, placeholder: str = ""):
        if suggest_url_name and not placeholder:
            placeholder = "Type to search"
        super().__init__(attrs, suggest_url_name=suggest_url_name, placeholder=placeholder)


class AnyYesNo(BooleanWidget):
    """A yes/no filter whose empty choice reads "Any" (django-filter says "Unknown", which
    reads as a third state of the thing rather than "do not filter")."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", "Any"), ("true", "Yes"), ("false", "No"))
