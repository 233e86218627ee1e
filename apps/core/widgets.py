"""Form widgets shared by every app's pages."""

from __future__ import annotations

from django import forms
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
