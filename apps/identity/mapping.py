"""Which mlgov roles a person's provider groups give: one mapping for OpenID Connect sign-in
and SCIM provisioning alike.

Two sources, joined: ``MLGOV_OIDC_GROUP_ROLES`` from the environment (``group=role`` pairs,
comma-separated, checked at start-up) and the group-to-role table administrators edit in the
admin site. A group neither names is ignored. ``map_groups`` is the pure part.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from apps.core import roles


def parse_group_role(entry: str) -> tuple[str, str]:
    """``"mlgov-validators=validator"`` → ``("mlgov-validators", "validator")``. The group is
    everything before the last ``=`` (so it may itself hold one, as LDAP names do); raises
    ValueError naming the entry when it has no ``=``, no group or an unknown role."""
    group, sep, role = entry.rpartition("=")
    group, role = group.strip(), role.strip()
    if not sep or not group:
        raise ValueError(f"{entry!r} is not group=role.")
    if role not in roles.ALL_ROLES:
        raise ValueError(
            f"{entry!r} names the unknown role {role!r}; roles are {', '.join(roles.ALL_ROLES)}."
        )
    return group, role


def map_groups(groups: Iterable[str], pairs: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The roles that ``pairs`` (group, role) give to a member of ``groups``. Group names are
    compared exactly, as the provider spells them."""
    held = {g for g in groups if isinstance(g, str)}
    return frozenset(role for group, role in pairs if group in held)


def environment_pairs() -> tuple[tuple[str, str], ...]:
    """The (group, role) pairs of ``MLGOV_OIDC_GROUP_ROLES``."""
    return tuple(getattr(settings, "MLGOV_OIDC_GROUP_ROLES", ()))


def roles_for_groups(groups: Iterable[str]) -> frozenset[str]:
    """The mlgov roles a member of ``groups`` holds: the environment's pairs and the table's
    (one query); unknown groups are ignored."""
    from apps.identity.selectors import group_role_pairs

    return map_groups(groups, (*environment_pairs(), *group_role_pairs()))
