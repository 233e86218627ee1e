"""The SCIM 2.0 protocol without the database (RFC 7643, RFC 7644): error bodies, the
documents mlgov publishes about itself, PATCH applied to a resource document, paging and
attribute projection. Pure functions, tested without a database.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

DEFAULT_COUNT = 100
MAX_COUNT = 200


class ScimError(Exception):
    """An answer in SCIM's error format (RFC 7644 §3.12): status, ``scimType``, ``detail``."""

    def __init__(self, status: int, detail: str, scim_type: str = ""):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


# --- what mlgov publishes about itself ------------------------------------------------------


def _attr(name: str, type_: str = "string", **kw: Any) -> dict[str, Any]:
    attr = {
        "name": name,
        "type": type_,
        "multiValued": False,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        "description": "",
    }
    attr.update(kw)
    return attr


USER_ATTRIBUTES = [
    _attr(
        "userName",
        required=True,
        uniqueness="server",
        description="The sign-in name (e.g. the user principal name); unique, any case.",
    ),
    _attr(
        "name",
        "complex",
        description="The person's name.",
        subAttributes=[
            _attr("givenName", description="Given name (mlgov: first name)."),
            _attr("familyName", description="Family name (mlgov: last name)."),
        ],
    ),
    _attr("title", description="Job title."),
    _attr(
        "emails",
        "complex",
        multiValued=True,
        description="E-mail address; mlgov keeps one, the primary one (else the first).",
        subAttributes=[
            _attr("value", description="The address."),
            _attr("type", canonicalValues=["work", "home", "other"], description="Its label."),
            _attr("primary", "boolean", description="The address mlgov keeps."),
        ],
    ),
    # Required here (RFC 7643 makes it optional): every mlgov account is active or not, so
    # the flag cannot be removed, only set to false. A POST without it creates it active.
    _attr(
        "active",
        "boolean",
        required=True,
        description="false deactivates the account: its sessions end and its API tokens are "
        "revoked at once; its history and signatures stay. Omitted on creation: true.",
    ),
    _attr(
        "groups",
        "complex",
        multiValued=True,
        mutability="readOnly",
        description="The provider groups the user is in (set through Groups).",
        subAttributes=[
            _attr("value", mutability="readOnly", description="The group's id."),
            _attr(
                "$ref",
                "reference",
                mutability="readOnly",
                referenceTypes=["Group"],
                description="The group's URI.",
            ),
            _attr("display", mutability="readOnly", description="The group's name."),
        ],
    ),
]

GROUP_ATTRIBUTES = [
    _attr(
        "displayName",
        required=True,
        uniqueness="server",
        description="The group's name at the provider; mapped to mlgov roles.",
    ),
    _attr(
        "members",
        "complex",
        multiValued=True,
        description="The users in the group (no nested groups).",
        subAttributes=[
            _attr("value", mutability="immutable", description="The member's id."),
            _attr(
                "$ref",
                "reference",
                mutability="immutable",
                referenceTypes=["User"],
                description="The member's URI.",
            ),
            _attr(
                "type",
                mutability="immutable",
                canonicalValues=["User"],
                description="Always User.",
            ),
        ],
    ),
]

SCHEMAS = {
    USER_SCHEMA: ("User", "User Account", USER_ATTRIBUTES),
    GROUP_SCHEMA: ("Group", "Group", GROUP_ATTRIBUTES),
}
RESOURCE_TYPES = {
    "User": ("/Users", USER_SCHEMA, "User Account"),
    "Group": ("/Groups", GROUP_SCHEMA, "Group"),
}


def schema_doc(uri: str, base: str) -> dict[str, Any]:
    name, description, attributes = SCHEMAS[uri]
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": uri,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{uri}"},
    }


def resource_type_doc(name: str, base: str) -> dict[str, Any]:
    endpoint, schema, description = RESOURCE_TYPES[name]
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "description": description,
        "schema": schema,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
    }


def service_provider_config_doc(base: str) -> dict[str, Any]:
    return {
        "schemas": [CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer credential",
                "description": "A SCIM credential made by an mlgov administrator "
                "(admin site or manage.py scim_credential_create): "
                "Authorization: Bearer <secret>.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def list_response(resources: list[dict[str, Any]], *, total: int, start: int) -> dict:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


# --- reading requests ------------------------------------------------------------------------


def parse_bool(value: Any, attribute: str) -> bool:
    """A SCIM boolean; Microsoft Entra ID sends ``"True"``/``"False"`` as strings in PATCH."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_value(f"Attribute '{attribute}' must be true or false, not {value!r}.")


def parse_paging(start: Any, count: Any) -> tuple[int, int]:
    """``startIndex`` (1-based; below 1 counts as 1) and ``count`` (0 to MAX_COUNT)."""

    def number(raw: Any, name: str, default: int) -> int:
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise invalid_value(f"'{name}' must be a whole number, not {raw!r}.") from None

    start_index = max(1, number(start, "startIndex", 1))
    page = min(max(0, number(count, "count", DEFAULT_COUNT)), MAX_COUNT)
    return start_index, page


def attribute_names(raw: Any, name: str) -> list[str]:
    """``attributes`` / ``excludedAttributes``: a comma-separated string or a list."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise invalid_value(f"'{name}' must be a list of attribute names.")
    return [a.strip() for a in raw if a.strip()]


ALWAYS_RETURNED = {"id", "schemas"}


def project(doc: dict[str, Any], *, attributes: list[str], excluded: list[str], schema: str):
    """Keep the requested top-level attributes (RFC 7644 §3.4.2.5); ``id`` and ``schemas``
    always stay. Names may carry the schema URN and a sub-attribute (the top name counts)."""

    def top(name: str) -> str:
        if name.lower().startswith(schema.lower() + ":"):
            name = name[len(schema) + 1 :]
        return name.split(".", 1)[0].lower()

    if attributes:
        wanted = {top(a) for a in attributes}
        return {k: v for k, v in doc.items() if k in ALWAYS_RETURNED or k.lower() in wanted}
    if excluded:
        unwanted = {top(a) for a in excluded}
        return {k: v for k, v in doc.items() if k in ALWAYS_RETURNED or k.lower() not in unwanted}
    return doc


# --- PATCH (RFC 7644 §3.5.2) ----------------------------------------------------------------

_PATH = re.compile(
    r"^(?P<attr>[A-Za-z$][\w$-]*)"
    r"(?:\[(?P<filter>[^\]]*)\])?"
    r"(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$"
)
_VALUE_FILTER = re.compile(r'^\s*(?P<attr>[A-Za-z$][\w$-]*)\s+eq\s+"(?P<value>[^"]*)"\s*$', re.I)


@dataclass(frozen=True)
class Path:
    attr: str
    sub: str | None = None
    match: tuple[str, str] | None = None  # a value filter: (sub-attribute, value)


@dataclass(frozen=True)
class Shape:
    """The attributes of a resource PATCH may touch, by their canonical names."""

    schema: str
    simple: frozenset[str]
    complex: dict[str, frozenset[str]]  # single-valued complex -> its sub-attributes
    multi: dict[str, frozenset[str]]  # multi-valued complex -> its sub-attributes
    key: dict[str, str]  # multi-valued -> the sub-attribute identifying an item
    required: frozenset[str] = frozenset()  # never removed, only replaced
    # Attributes of the SCIM schemas that mlgov does not keep (lower case): providers send
    # them by default (Entra maps phone numbers and addresses), so they are accepted and
    # ignored; any other name is refused.
    ignored: frozenset[str] = frozenset()

    def canonical(self, name: str) -> str | None:
        for known in (*self.simple, *self.complex, *self.multi):
            if known.lower() == name.lower():
                return known
        return None

    def sub(self, attr: str, name: str) -> str | None:
        subs = self.complex.get(attr) or self.multi.get(attr) or frozenset()
        return next((s for s in subs if s.lower() == name.lower()), None)


USER_SHAPE = Shape(
    schema=USER_SCHEMA,
    simple=frozenset({"userName", "title", "active", "externalId", "displayName"}),
    complex={"name": frozenset({"givenName", "familyName", "formatted"})},
    multi={"emails": frozenset({"value", "type", "primary", "display"})},
    key={"emails": "value"},
    required=frozenset({"userName", "active"}),
    ignored=frozenset(
        {
            "nickname",
            "profileurl",
            "usertype",
            "preferredlanguage",
            "locale",
            "timezone",
            "password",
            "phonenumbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
            "x509certificates",
            "groups",
        }
    ),
)
GROUP_SHAPE = Shape(
    schema=GROUP_SCHEMA,
    simple=frozenset({"displayName", "externalId"}),
    complex={},
    multi={"members": frozenset({"value", "$ref", "type", "display"})},
    key={"members": "value"},
    required=frozenset({"displayName"}),
)


EXTENSION_PREFIX = "urn:ietf:params:scim:schemas:extension:"


def parse_path(raw: str, shape: Shape) -> Path | None:
    """The attribute a PATCH path names; None for one mlgov accepts and ignores (an
    attribute of the SCIM schemas it does not keep, or of an extension schema)."""
    text = raw.strip()
    if text.lower().startswith(EXTENSION_PREFIX):
        return None
    if text.lower().startswith(shape.schema.lower() + ":"):
        text = text[len(shape.schema) + 1 :]
    found = _PATH.match(text)
    if not found:
        raise ScimError(400, f"The PATCH path {raw!r} is not a SCIM attribute path.", "invalidPath")
    if found["attr"].lower() in shape.ignored:
        return None
    attr = shape.canonical(found["attr"])
    if attr is None:
        raise ScimError(
            400, f"Attribute '{found['attr']}' cannot be changed here (path {raw!r}).", "noTarget"
        )
    match = None
    if found["filter"] is not None:
        if attr not in shape.multi:
            raise ScimError(400, f"Attribute '{attr}' has no values to filter.", "invalidPath")
        condition = _VALUE_FILTER.match(found["filter"])
        if not condition or shape.sub(attr, condition["attr"]) is None:
            raise ScimError(
                400,
                f"The filter [{found['filter']}] in path {raw!r} is not supported: use "
                f'[<sub-attribute> eq "<value>"].',
                "invalidFilter",
            )
        match = (shape.sub(attr, condition["attr"]), condition["value"])
    sub = None
    if found["sub"] is not None:
        sub = shape.sub(attr, found["sub"])
        if sub is None:
            raise ScimError(400, f"'{attr}' has no sub-attribute '{found['sub']}'.", "invalidPath")
    return Path(attr=attr, sub=sub, match=match)


def _items(value: Any, attr: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict) for i in items):
        raise invalid_value(f"Values of '{attr}' must be objects, e.g. {{\"value\": …}}.")
    return [dict(i) for i in items]


def _same_text(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _matches(item: dict[str, Any], match: tuple[str, str]) -> bool:
    sub, value = match
    found = item.get(sub)
    if isinstance(found, bool):
        return str(found).lower() == value.lower()
    return found == value or _same_text(found, value)


def _apply(doc: dict[str, Any], op: str, path: Path | None, value: Any, shape: Shape) -> None:
    if path is None:
        return
    attr = path.attr
    if attr in shape.multi:
        items: list[dict[str, Any]] = list(doc.get(attr) or [])
        key = shape.key[attr]
        if path.match is not None:
            selected = [i for i in items if _matches(i, path.match)]
            if op == "remove":
                if path.sub is None:
                    items = [i for i in items if not _matches(i, path.match)]
                else:
                    for item in selected:
                        item.pop(path.sub, None)
            elif path.sub is not None:
                if not selected:  # Entra: add emails[type eq "work"].value creates the item
                    selected = [{path.match[0]: path.match[1]}]
                    items.append(selected[0])
                for item in selected:
                    item[path.sub] = value
            else:
                if not selected:
                    raise ScimError(400, f"No value of '{attr}' matches the filter.", "noTarget")
                for item in selected:
                    item.update(_items(value, attr)[0])
        elif path.sub is not None:
            if op == "remove":
                for item in items:
                    item.pop(path.sub, None)
            else:
                if not items:
                    items.append({})
                for item in items:
                    item[path.sub] = value
        elif op == "remove":
            if value is None:
                items = []
            else:  # Entra: remove members with the ones to remove in the value
                gone = {i.get(key) for i in _items(value, attr)}
                items = [i for i in items if i.get(key) not in gone]
        elif op == "add":
            for new in _items(value, attr):
                items = [i for i in items if i.get(key) != new.get(key) or key not in new]
                items.append(new)
        else:
            items = _items(value, attr) if value is not None else []
        doc[attr] = items
    elif attr in shape.complex:
        current = dict(doc.get(attr) or {})
        if path.sub is not None:
            if op == "remove":
                current.pop(path.sub, None)
            else:
                current[path.sub] = value
        elif op == "remove":
            current = {}
        else:
            if not isinstance(value, dict):
                raise invalid_value(f"The value of '{attr}' must be an object.")
            for name, sub_value in value.items():
                sub = shape.sub(attr, name)
                if sub is None:
                    raise invalid_value(f"'{attr}' has no sub-attribute '{name}'.")
                current[sub] = sub_value
        doc[attr] = current
    elif op == "remove":
        if attr in shape.required:
            hint = " (replace it with false to deactivate)" if attr == "active" else ""
            raise ScimError(
                400, f"Attribute '{attr}' is required and cannot be removed{hint}.", "mutability"
            )
        doc.pop(attr, None)
    else:
        doc[attr] = value


def apply_patch(doc: dict[str, Any], body: Any, shape: Shape) -> dict[str, Any]:
    """Apply a PatchOp body to ``doc`` (the resource's writable attributes); returns the new
    document. Operation names are read in any case (Entra sends "Replace"); an operation
    without a path carries an object of attributes (Okta: ``{"active": false}``)."""
    if not isinstance(body, dict) or PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"A PATCH body must name the schema {PATCH_SCHEMA}.", "invalidSyntax")
    operations = body.get("Operations") or body.get("operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "A PATCH body needs a non-empty 'Operations' list.", "invalidSyntax")
    doc = copy.deepcopy(doc)
    for number, operation in enumerate(operations, start=1):
        if not isinstance(operation, dict):
            raise ScimError(400, f"Operation {number} is not an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(
                400,
                f"Operation {number}: 'op' must be add, replace or remove, "
                f"not {operation.get('op')!r}.",
                "invalidSyntax",
            )
        raw_path = operation.get("path")
        value = operation.get("value")
        if raw_path:
            if not isinstance(raw_path, str):
                raise ScimError(400, f"Operation {number}: 'path' must be text.", "invalidPath")
            _apply(doc, op, parse_path(raw_path, shape), value, shape)
        elif op == "remove":
            raise ScimError(400, f"Operation {number}: remove needs a 'path'.", "noTarget")
        elif isinstance(value, dict):
            for name, attr_value in value.items():
                if name == "schemas":
                    continue
                _apply(doc, op, parse_path(name, shape), attr_value, shape)
        else:
            raise invalid_value(f"Operation {number}: without a 'path' the value is an object.")
    return doc
