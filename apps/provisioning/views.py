"""The SCIM 2.0 endpoint (``/scim/v2/``) that identity providers call: discovery documents,
Users and Groups. Thin: authentication by the SCIM bearer credential, the request read, a
service or selector called, the SCIM document answered. Every answer, errors included, is
``application/scim+json``; user sessions and API tokens open nothing here.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from apps.core import context
from apps.core.errors import ApplicationError
from apps.provisioning import filters, protocol, resources, selectors, services
from apps.provisioning.protocol import ScimError


def scim_response(doc: Any, status: int = 200, location: str = "") -> HttpResponse:
    response = HttpResponse(json.dumps(doc), status=status, content_type=protocol.CONTENT_TYPE)
    add_never_cache_headers(response)  # people's names and addresses: no cache keeps them
    if location:
        response["Location"] = location
    return response


def error_response(error: ScimError) -> HttpResponse:
    response = scim_response(error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="mlgov SCIM"'
    return response


def _bearer(request: HttpRequest) -> str:
    scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ScimError(401, "SCIM calls carry 'Authorization: Bearer <SCIM credential>'.")
    return secret.strip()


@method_decorator(csrf_exempt, name="dispatch")  # bearer credential only, never a cookie
class ScimView(View):
    """Authenticates the credential, names it as the actor of every write, answers SCIM."""

    def dispatch(self, request, *args, **kwargs):
        try:
            credential = services.scim_credential_authenticate(secret=_bearer(request))
            self.base = request.build_absolute_uri(reverse("scim:root")).rstrip("/")
            with context.acting_as(credential.actor_name):
                return super().dispatch(request, *args, **kwargs)
        except ScimError as error:
            return error_response(error)
        except ApplicationError as refused:  # a service's refusal not named as SCIM yet
            return error_response(services.scim_error_of(refused))

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise ScimError(405, f"{request.method} is not supported on {request.path}.")

    def body(self) -> Any:
        try:
            raw = self.request.body
        except RequestDataTooBig:
            raise ScimError(413, "The request body is too large.", "tooMany") from None
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ScimError(400, f"The body is not JSON: {exc}", "invalidSyntax") from exc

    def project(self, doc: dict[str, Any], schema: str, source=None) -> dict[str, Any]:
        source = source if source is not None else self.request.GET
        return protocol.project(
            doc,
            attributes=protocol.attribute_names(source.get("attributes"), "attributes"),
            excluded=protocol.attribute_names(
                source.get("excludedAttributes"), "excludedAttributes"
            ),
            schema=schema,
        )


class Root(ScimView):
    """The base URL; only ``POST /.search`` is a resource under it."""

    def get(self, request):
        raise ScimError(
            404, "Use /ServiceProviderConfig, /ResourceTypes, /Schemas, /Users, /Groups."
        )


class ServiceProviderConfig(ScimView):
    def get(self, request):
        return scim_response(protocol.service_provider_config_doc(self.base))


class ResourceTypes(ScimView):
    def get(self, request, name: str = ""):
        if name:
            if name not in protocol.RESOURCE_TYPES:
                raise ScimError(404, f"Resource type {name} not found.")
            return scim_response(protocol.resource_type_doc(name, self.base))
        docs = [protocol.resource_type_doc(n, self.base) for n in protocol.RESOURCE_TYPES]
        return scim_response(protocol.list_response(docs, total=len(docs), start=1))


class Schemas(ScimView):
    def get(self, request, uri: str = ""):
        if uri:
            if uri not in protocol.SCHEMAS:
                raise ScimError(404, f"Schema {uri} not found.")
            return scim_response(protocol.schema_doc(uri, self.base))
        docs = [protocol.schema_doc(u, self.base) for u in protocol.SCHEMAS]
        return scim_response(protocol.list_response(docs, total=len(docs), start=1))


class _Kind:
    """What differs between Users and Groups."""

    def __init__(
        self,
        *,
        schema,
        shape,
        filters,
        queryset,
        get,
        doc,
        write_doc,
        values,
        create,
        update,
        delete,
    ):
        self.schema, self.shape, self.filters = schema, shape, filters
        self.queryset, self.get, self.doc, self.write_doc = queryset, get, doc, write_doc
        self.values, self.create, self.update, self.delete = values, create, update, delete


USERS = _Kind(
    schema=protocol.USER_SCHEMA,
    shape=protocol.USER_SHAPE,
    filters=filters.USER_FILTERS,
    queryset=selectors.scim_users,
    get=lambda scim_id: selectors.scim_user_get(scim_id=scim_id),
    doc=resources.user_doc,
    write_doc=resources.user_write_doc,
    values=resources.user_values,
    create=lambda values: services.scim_user_create(values=values),
    update=lambda obj, values: services.scim_user_update(link=obj, values=values),
    delete=lambda obj: services.scim_user_delete(link=obj),
)
GROUPS = _Kind(
    schema=protocol.GROUP_SCHEMA,
    shape=protocol.GROUP_SHAPE,
    filters=filters.GROUP_FILTERS,
    queryset=selectors.scim_groups,
    get=lambda scim_id: selectors.scim_group_get(scim_id=scim_id),
    doc=resources.group_doc,
    write_doc=resources.group_write_doc,
    values=resources.group_values,
    create=lambda values: services.scim_group_create(values=values),
    update=lambda obj, values: services.scim_group_update(group=obj, values=values),
    delete=lambda obj: services.scim_group_delete(group=obj),
)


def _page(view: ScimView, kind: _Kind, source, start_raw, count_raw) -> dict[str, Any]:
    start, count = protocol.parse_paging(start_raw, count_raw)
    text = source.get("filter")
    where = filters.filter_query(text, kind.filters) if text else None
    try:
        total, rows = selectors.scim_page(kind.queryset(), where=where, start=start, count=count)
    except (ValidationError, ValueError) as exc:  # e.g. id eq "not-an-id"
        raise ScimError(
            400, f"The filter {text!r} cannot be applied: {exc}", "invalidFilter"
        ) from exc
    docs = [view.project(kind.doc(row, view.base), kind.schema, source) for row in rows]
    return protocol.list_response(docs, total=total, start=start)


class Collection(ScimView):
    """``/Users`` and ``/Groups``: list (filter, paging, attributes) and create."""

    kind: _Kind

    def get(self, request):
        q = request.GET
        return scim_response(_page(self, self.kind, q, q.get("startIndex"), q.get("count")))

    def post(self, request):
        values = self.kind.values(self.body())
        obj = self.kind.create(values)
        doc = self.kind.doc(self.kind.get(str(obj.scim_id)), self.base)
        return scim_response(doc, status=201, location=doc["meta"]["location"])


class Search(ScimView):
    """``POST /Users/.search``, ``/Groups/.search`` and ``/.search`` (both kinds)."""

    kinds: tuple[_Kind, ...] = (USERS, GROUPS)

    def post(self, request):
        body = self.body()
        if not isinstance(body, dict) or protocol.SEARCH_SCHEMA not in (body.get("schemas") or []):
            raise ScimError(
                400, f"A search names the schema {protocol.SEARCH_SCHEMA}.", "invalidSyntax"
            )
        start, count = protocol.parse_paging(body.get("startIndex"), body.get("count"))
        resources_: list[dict[str, Any]] = []
        total = 0
        for kind in self.kinds:
            # Each kind's page continues where the previous kind's results end.
            offset = max(0, start - 1 - total)
            wanted = max(0, count - len(resources_))
            page = _page(self, kind, body, offset + 1, wanted)
            total += page["totalResults"]
            resources_.extend(page["Resources"])
        return scim_response(protocol.list_response(resources_, total=total, start=start))


class Member(ScimView):
    """``/Users/{id}`` and ``/Groups/{id}``: read, replace, PATCH, delete."""

    kind: _Kind

    def get(self, request, scim_id: str):
        doc = self.kind.doc(self.kind.get(scim_id), self.base)
        return scim_response(self.project(doc, self.kind.schema), location=doc["meta"]["location"])

    def put(self, request, scim_id: str):
        values = self.kind.values(self.body())
        self.kind.update(self.kind.get(scim_id), values)
        return self.get(request, scim_id)

    def patch(self, request, scim_id: str):
        body = self.body()
        with transaction.atomic():
            obj = self.kind.get(scim_id)
            doc = protocol.apply_patch(self.kind.write_doc(obj), body, self.kind.shape)
            self.kind.update(obj, self.kind.values(doc))
        return self.get(request, scim_id)

    def delete(self, request, scim_id: str):
        self.kind.delete(self.kind.get(scim_id))
        return HttpResponse(status=204)


class Users(Collection):
    kind = USERS


class Groups(Collection):
    kind = GROUPS


class UserSearch(Search):
    kinds = (USERS,)


class GroupSearch(Search):
    kinds = (GROUPS,)


class User(Member):
    kind = USERS


class Group(Member):
    kind = GROUPS


class NotFound(ScimView):
    """Any other path under /scim/v2/ (once authenticated): a SCIM 404."""

    def missing(self, request, *args, **kwargs):
        raise ScimError(404, f"{request.path} is not a SCIM resource.")

    get = post = put = patch = delete = missing
