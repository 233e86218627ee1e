"""Reads of provider identities and the group-to-role table."""

from __future__ import annotations

from apps.identity.models import GroupRoleMapping, ProviderIdentity


def group_role_pairs() -> list[tuple[str, str]]:
    """Every (group, role) pair of the table, in one query."""
    return list(GroupRoleMapping.objects.order_by().values_list("group", "role"))


def identity_find(*, issuer: str, subject: str) -> ProviderIdentity | None:
    """The identity (with its user) a provider's issuer and subject are linked to, if any."""
    return (
        ProviderIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )


def identities_of(*, user) -> list[ProviderIdentity]:
    return list(ProviderIdentity.objects.filter(user=user))
