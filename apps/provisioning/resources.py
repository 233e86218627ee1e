"""SCIM documents of mlgov's users and groups, and the values a document asks mlgov to
store. Reading a document does no query when the caller prefetched what it names (the
selectors do); reading a request document is pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.provisioning.models import ScimGroup, ScimUser
from apps.provisioning.protocol import (
    GROUP_SCHEMA,
    USER_SCHEMA,
    ScimError,
    invalid_value,
    parse_bool,
)


def _meta(resource_type: str, obj: ScimUser | ScimGroup, location: str) -> dict[str, str]:
    return {
        "resourceType": resource_type,
        "created": obj.created.isoformat().replace("+00:00", "Z"),
        "lastModified": obj.modified.isoformat().replace("+00:00", "Z"),
        "location": location,
    }


def user_location(base: str, scim_id) -> str:
    return f"{base}/Users/{scim_id}"


def group_location(base: str, scim_id) -> str:
    return f"{base}/Groups/{scim_id}"


def user_doc(link: ScimUser, base: str) -> dict[str, Any]:
    """The SCIM User of a provisioned account (``link.user`` and ``link.groups`` read)."""
    user = link.user
    doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": str(link.scim_id)}
    if link.external_id:
        doc["externalId"] = link.external_id
    doc["userName"] = user.username
    name = {k: v for k, v in (("givenName", user.first_name), ("familyName", user.last_name)) if v}
    if name:
        doc["name"] = name
    if user.job_title:
        doc["title"] = user.job_title
    if user.email:
        email: dict[str, Any] = {"value": user.email}
        if link.email_type:
            email["type"] = link.email_type
        if link.email_primary is not None:
            email["primary"] = link.email_primary
        doc["emails"] = [email]
    doc["active"] = user.is_active
    groups = [
        {
            "value": str(g.scim_id),
            "$ref": group_location(base, g.scim_id),
            "display": g.display_name,
        }
        for g in link.groups.all()
    ]
    if groups:
        doc["groups"] = groups
    doc["meta"] = _meta("User", link, user_location(base, link.scim_id))
    return doc


def group_doc(group: ScimGroup, base: str) -> dict[str, Any]:
    """The SCIM Group (``group.members`` read)."""
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(group.scim_id)}
    if group.external_id:
        doc["externalId"] = group.external_id
    doc["displayName"] = group.display_name
    members = [
        {"value": str(m.scim_id), "$ref": user_location(base, m.scim_id), "type": "User"}
        for m in group.members.all()
    ]
    if members:
        doc["members"] = members
    doc["meta"] = _meta("Group", group, group_location(base, group.scim_id))
    return doc


# --- what a request document asks for ------------------------------------------------------


def _text(doc: dict[str, Any], attr: str, label: str, *, limit: int) -> str:
    value = doc.get(attr)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_value(f"Attribute '{label}' must be text, not {value!r}.")
    value = value.strip()
    if len(value) > limit:
        raise invalid_value(f"Attribute '{label}' is longer than {limit} characters.")
    return value


def _external_id(doc: dict[str, Any]) -> str | None:
    return _text(doc, "externalId", "externalId", limit=255) or None


@dataclass(frozen=True)
class UserValues:
    """What a SCIM User document sets on an mlgov account."""

    username: str
    first_name: str
    last_name: str
    email: str
    email_type: str
    email_primary: bool | None
    job_title: str
    is_active: bool | None  # None: not said (a new account is active)
    external_id: str | None

    def profile(self) -> dict[str, Any]:
        """The accounts service's fields (``user_create`` / ``user_update``)."""
        values: dict[str, Any] = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "job_title": self.job_title,
        }
        if self.is_active is not None:
            values["is_active"] = self.is_active
        return values


def user_values(doc: Any) -> UserValues:
    """Read a User document (POST, PUT, or a PATCHed one); errors name the attribute."""
    if not isinstance(doc, dict):
        raise ScimError(400, "The body must be a SCIM User object.", "invalidSyntax")
    username = _text(doc, "userName", "userName", limit=150)
    if not username:
        raise invalid_value("Attribute 'userName' is required.")
    name = doc.get("name") or {}
    if not isinstance(name, dict):
        raise invalid_value("Attribute 'name' must be an object with givenName and familyName.")
    emails = doc.get("emails") or []
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise invalid_value("Attribute 'emails' must be a list of objects with a 'value'.")
    chosen = next((e for e in emails if e.get("primary") in (True, "true", "True")), None)
    chosen = chosen or (emails[0] if emails else {})
    active = doc.get("active")
    return UserValues(
        username=username,
        first_name=_text(name, "givenName", "name.givenName", limit=150),
        last_name=_text(name, "familyName", "name.familyName", limit=150),
        email=_text(chosen, "value", "emails.value", limit=254),
        email_type=_text(chosen, "type", "emails.type", limit=32),
        email_primary=None
        if chosen.get("primary") is None
        else parse_bool(chosen["primary"], "emails.primary"),
        job_title=_text(doc, "title", "title", limit=120),
        is_active=None if active is None else parse_bool(active, "active"),
        external_id=_external_id(doc),
    )


@dataclass(frozen=True)
class GroupValues:
    display_name: str
    external_id: str | None
    member_ids: tuple[str, ...] | None  # None: not said (PUT without members keeps none)


def group_values(doc: Any) -> GroupValues:
    """Read a Group document; members are SCIM user ids (``value``)."""
    if not isinstance(doc, dict):
        raise ScimError(400, "The body must be a SCIM Group object.", "invalidSyntax")
    display_name = _text(doc, "displayName", "displayName", limit=255)
    if not display_name:
        raise invalid_value("Attribute 'displayName' is required.")
    members = doc.get("members")
    member_ids = None
    if members is not None:
        if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("value"), str) for m in members
        ):
            raise invalid_value("Attribute 'members' must be a list of objects with a 'value'.")
        for m in members:
            if str(m.get("type", "User")).lower() != "user":
                raise invalid_value(
                    f"members: {m['value']!r} is of type {m.get('type')!r}; mlgov groups hold "
                    "users only (no nested groups)."
                )
        member_ids = tuple(dict.fromkeys(m["value"] for m in members))
    return GroupValues(
        display_name=display_name, external_id=_external_id(doc), member_ids=member_ids
    )


def user_write_doc(link: ScimUser) -> dict[str, Any]:
    """The writable part of a User document, which PATCH operations change."""
    return {k: v for k, v in user_doc(link, "").items() if k not in ("meta", "groups", "id")}


def group_write_doc(group: ScimGroup) -> dict[str, Any]:
    return {k: v for k, v in group_doc(group, "").items() if k not in ("meta", "id")}
