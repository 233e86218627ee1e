"""Mixins shared by the API viewsets of every app."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response


def schema_generation(view) -> bool:
    """True while drf-spectacular builds the schema (no request user, no URL kwargs)."""
    return getattr(view, "swagger_fake_view", False)


class UpdateSerializerMixin:
    """Update actions use ``update_serializer_class``, where identifiers are read-only."""

    update_serializer_class = None

    def get_serializer_class(self):
        if self.action in ("update", "partial_update") and self.update_serializer_class:
            return self.update_serializer_class
        return super().get_serializer_class()


class ServiceCreateMixin:
    """Creates go through a service; the answer re-reads the object through the view's
    (restricted, prefetched) queryset. Subclasses implement ``service_create``.

    It defines no ``update``: a router routes PUT to any viewset that has one, so a resource
    that cannot be edited would answer PUT with 403 instead of 405."""

    def service_create(self, data: dict):
        raise NotImplementedError

    def _respond(self, instance, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.service_create(dict(serializer.validated_data))
        return self._respond(instance, status.HTTP_201_CREATED)


class ServiceWriteMixin(ServiceCreateMixin):
    """Creates and updates go through a service (see ServiceCreateMixin); subclasses that
    allow editing implement ``service_update``."""

    def service_update(self, instance, data: dict):
        raise NotImplementedError

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return self._respond(self.service_update(instance, dict(serializer.validated_data)))
