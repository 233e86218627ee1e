"""SCIM filters (RFC 7644 §3.4.2.2) to Django queries, through scim2-filter-parser's
Django transpiler. mlgov answers the attributes below; a filter naming any other is refused
(``invalidFilter``) instead of being silently dropped."""

from __future__ import annotations

from django.db.models import Q
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser
from scim2_filter_parser.transpilers.django_q_object import Transpiler

from apps.provisioning.protocol import GROUP_SCHEMA, USER_SCHEMA, ScimError

# (attribute, sub-attribute, schema URN) -> field of ScimUser / ScimGroup
USER_FILTER_FIELDS = {
    ("id", None, None): "scim_id",
    ("externalId", None, None): "external_id",
    ("userName", None, None): "user__username",
    ("name", "givenName", None): "user__first_name",
    ("name", "familyName", None): "user__last_name",
    ("emails", None, None): "user__email",
    ("emails", "value", None): "user__email",
    ("title", None, None): "user__job_title",
    ("active", None, None): "user__is_active",
    ("meta", "created", None): "created",
    ("meta", "lastModified", None): "modified",
}
GROUP_FILTER_FIELDS = {
    ("id", None, None): "scim_id",
    ("externalId", None, None): "external_id",
    ("displayName", None, None): "display_name",
    ("members", None, None): "members__scim_id",
    ("members", "value", None): "members__scim_id",
    ("meta", "created", None): "created",
    ("meta", "lastModified", None): "modified",
}


def _with_schema(fields: dict, schema: str) -> dict:
    """Each attribute also by its full name (``urn:…:User:userName``)."""
    named = dict(fields)
    for (attr, sub, _), field in fields.items():
        named[(attr, sub, schema)] = field
    return named


USER_FILTERS = _with_schema(USER_FILTER_FIELDS, USER_SCHEMA)
GROUP_FILTERS = _with_schema(GROUP_FILTER_FIELDS, GROUP_SCHEMA)


class _StrictTranspiler(Transpiler):
    def visit_AttrPath(self, node):
        field = super().visit_AttrPath(node)
        if field is None:
            name = node.attr_name + (f".{node.sub_attr.value}" if node.sub_attr else "")
            raise ScimError(
                400, f"Filtering on attribute '{name}' is not supported.", "invalidFilter"
            )
        return field


def filter_query(text: str, fields: dict) -> Q:
    """The Q object of a filter such as ``userName eq "ada@bank.example"``."""
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text))
        query = _StrictTranspiler(fields).transpile(tree)
    except ScimError:
        raise
    except Exception as exc:  # the parser raises several kinds; each means a bad filter
        raise ScimError(400, f"The filter {text!r} cannot be read: {exc}", "invalidFilter") from exc
    if query is None:
        raise ScimError(400, f"The filter {text!r} selects nothing mlgov knows.", "invalidFilter")
    return query
