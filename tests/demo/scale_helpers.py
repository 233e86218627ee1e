"""Helpers of the scale generator's tests: a fast password hasher, a silent progress report
and a digest of what a seed decides."""

from __future__ import annotations

import hashlib

from django.db.models import Count, Sum

from apps.accounts.models import User
from apps.approvals.models import ApprovalRequest
from apps.inventory.models import ModelVersion, RegisteredModel
from apps.monitoring.models import Observation

FAST_HASH = {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}


def quiet(_line: str) -> None:
    pass


def digest() -> str:
    """What a seed decides: names, owners, tiers, stages, requests, observations."""
    parts = []
    for m in RegisteredModel.objects.order_by("slug").values_list(
        "slug",
        "name",
        "risk_tier",
        "status",
        "eu_ai_act_class",
        "owner__username",
        "business_owner__username",
        "business_unit__name",
        "description",
    ):
        parts.append(repr(m))
    parts += [
        repr(v)
        for v in ModelVersion.objects.order_by("model__slug", "version").values_list(
            "model__slug", "version", "stage", "artifact_sha256"
        )
    ]
    parts += sorted(
        repr(r)
        # Not the content hash: some contents name row ids, which PostgreSQL's sequences
        # do not give again after a rollback (a new database would).
        for r in ApprovalRequest.objects.values_list("kind", "status", "title", "required_slots")
    )
    # Rounded: a float sum depends on the order the database adds the rows in.
    totals = Observation.objects.aggregate(n=Count("value"), s=Sum("value"))
    parts.append(f"{totals['n']} {totals['s']:.6f}")
    parts.append(repr(sorted(User.objects.values_list("username", flat=True))))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
