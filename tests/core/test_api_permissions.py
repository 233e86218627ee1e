"""The API permission class and error handler, on small stand-in views."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from apps.core.api.exceptions import Conflict
from apps.core.api.permissions import RulesPermission
from apps.core.errors import ApplicationError

pytestmark = pytest.mark.django_db

factory = APIRequestFactory()


class Things(ViewSet):
    permission_classes = [RulesPermission]
    perms = {"list": "inventory.view_registeredmodel", "create": "inventory.add_registeredmodel"}

    def list(self, request):
        return Response([])

    def create(self, request):
        return Response({}, status=201)

    def destroy(self, request, pk=None):  # deliberately missing from ``perms``
        return Response(status=204)


class AnyOf(APIView):
    permission_classes = [RulesPermission]
    perms = {"post": ("inventory.add_registeredmodel", "inventory.add_dataset")}

    def post(self, request):
        return Response({}, status=201)


class Raises(APIView):
    permission_classes = [RulesPermission]
    perms = {"get": "inventory.view_registeredmodel"}
    error: Exception | None = None

    def get(self, request):
        raise self.error


def call(view, method: str, user, **url_kwargs):
    request = getattr(factory, method)("/x/", {}, format="json")
    if user is not None:
        force_authenticate(request, user=user)
    return view(request, **url_kwargs)


def things(actions):
    return Things.as_view(actions)


def test_an_action_missing_from_perms_is_refused_even_to_admins(admin_user):
    response = call(things({"delete": "destroy"}), "delete", admin_user, pk=1)
    assert response.status_code == 403


def test_the_action_permission_comes_from_the_rules(viewer, model_owner):
    assert call(things({"get": "list"}), "get", viewer).status_code == 200
    assert call(things({"post": "create"}), "post", viewer).status_code == 403
    assert call(things({"post": "create"}), "post", model_owner).status_code == 201


def test_a_user_without_a_role_is_told_so(outsider):
    response = call(things({"get": "list"}), "get", outsider)
    assert response.status_code == 403
    assert "no mlgov role" in str(response.data["detail"])


def test_anonymous_requests_are_asked_to_authenticate():
    response = call(things({"get": "list"}), "get", None)
    assert response.status_code == 401


def test_a_tuple_means_any_of(validator, business_owner):
    # Validators may add datasets but not models; business owners neither.
    assert call(AnyOf.as_view(), "post", validator).status_code == 201
    assert call(AnyOf.as_view(), "post", business_owner).status_code == 403


def test_a_method_the_view_does_not_handle_answers_405(viewer):
    assert call(AnyOf.as_view(), "get", viewer).status_code == 405


@pytest.mark.parametrize(
    ("error", "code", "body"),
    [
        (
            ApplicationError("Bad slug.", field_errors={"slug": ["Taken."]}),
            400,
            {"detail": "Bad slug.", "slug": ["Taken."]},
        ),
        (DjangoValidationError({"name": ["Too short."]}), 400, {"name": ["Too short."]}),
        (DjangoValidationError("Nope."), 400, {"detail": ["Nope."]}),
        (PermissionDenied("Not yours."), 403, {"detail": "Not yours."}),
        (Conflict("Approved; immutable."), 409, {"detail": "Approved; immutable."}),
    ],
)
def test_errors_become_json_with_field_messages(viewer, error, code, body):
    response = call(Raises.as_view(error=error), "get", viewer)
    assert response.status_code == code
    assert response.data == body
