"""Reads for the SCIM endpoint: pages of users and groups in a constant number of queries
(a count, a page, one prefetch), and single resources by SCIM id."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, Q, QuerySet

from apps.provisioning.models import ScimCredential, ScimGroup, ScimUser
from apps.provisioning.protocol import ScimError


def _uuid(value: str, kind: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ScimError(404, f"{kind} {value} not found.") from None


def scim_users() -> QuerySet[ScimUser]:
    groups = Prefetch("groups", queryset=ScimGroup.objects.order_by("pk"))
    return ScimUser.objects.select_related("user").prefetch_related(groups)


def scim_groups() -> QuerySet[ScimGroup]:
    members = Prefetch("members", queryset=ScimUser.objects.order_by("pk"))
    return ScimGroup.objects.prefetch_related(members)


def scim_user_get(*, scim_id: str) -> ScimUser:
    try:
        return scim_users().get(scim_id=_uuid(scim_id, "User"))
    except ScimUser.DoesNotExist:
        raise ScimError(404, f"User {scim_id} not found.") from None


def scim_group_get(*, scim_id: str) -> ScimGroup:
    try:
        return scim_groups().get(scim_id=_uuid(scim_id, "Group"))
    except ScimGroup.DoesNotExist:
        raise ScimError(404, f"Group {scim_id} not found.") from None


def scim_page(queryset: QuerySet, *, where: Q | None, start: int, count: int):
    """``(total, rows)``: rows ``start`` (1-based) to ``start + count - 1`` in id order."""
    if where is not None:
        matching = queryset.model.objects.filter(where).values("pk")
        queryset = queryset.filter(pk__in=matching)
    total = queryset.order_by().count()
    rows = list(queryset.order_by("pk")[start - 1 : start - 1 + count]) if count else []
    return total, rows


def scim_credential_by_prefix(prefix: str) -> ScimCredential | None:
    return ScimCredential.objects.filter(prefix=prefix).first()


def scim_users_by_ids(scim_ids) -> dict[str, ScimUser]:
    """Provisioned users by the SCIM ids (text) asked for; ids that are not UUIDs, or that no
    provisioned user has, are left out."""
    wanted = {}
    for value in scim_ids:
        try:
            wanted[uuid.UUID(str(value))] = value
        except ValueError:
            continue
    links = ScimUser.objects.filter(scim_id__in=list(wanted)).select_related("user")
    return {wanted[link.scim_id]: link for link in links}
