"""What every API resource nested under ``models/{model_slug}/`` shares, in the inventory's
API and in the apps above it (monitoring's metrics): the path parameter and the parent model
read through the selector."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from apps.core.api.mixins import schema_generation
from apps.inventory import selectors
from apps.inventory.models import RegisteredModel

MODEL_SLUG_PARAM = OpenApiParameter(
    "model_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Slug of the model."
)


class ModelChildMixin:
    """For resources nested under ``models/{model_slug}/``: the parent comes from the
    selector, so a model the user may not see answers 404 for everything below it."""

    def get_parent(self) -> RegisteredModel:
        if not hasattr(self, "_parent"):
            self._parent = selectors.model_get(
                user=self.request.user, slug=self.kwargs["model_slug"]
            )
        return self._parent

    def get_permission_object(self):
        """Collection actions (list, create) are checked against the parent model."""
        return None if schema_generation(self) else self.get_parent()
