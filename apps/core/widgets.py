"""Form widgets shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html


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


class SearchSelectMultiple(forms.SelectMultiple):
    """A multi-select of objects fed by a type-ahead endpoint: the page holds only the chosen
    options, never the whole table (a form over 2,000 datasets stays a few kilobytes).

    ``static/js/choices.js`` turns it into a Tom Select box (``static/vendor``): typing asks
    ``suggest_url_name`` for ``{"results": [{"value", "label"}, …]}``, a chosen row becomes a
    removable tag. The field's queryset still decides what is accepted. Without JavaScript the
    chosen ones can be kept or removed, not added."""

    def __init__(self, attrs=None, *, suggest_url_name: str, placeholder: str = "Type to search"):
        super().__init__({"data-placeholder": placeholder} | (attrs or {}))
        self.suggest_url_name = suggest_url_name

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-choices"] = "remote"
        attrs["data-suggest-url"] = reverse(self.suggest_url_name)
        return attrs

    def optgroups(self, name, value, attrs=None):
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
