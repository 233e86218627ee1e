"""Pure rules of the OpenLineage intake: job-name patterns, dataset identities, event times.

No database: the services call these, and the tests call them directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from django.utils.text import slugify

TRAINED_ON, EVALUATED_ON = "trained_on", "evaluated_on"
#: Event types whose datasets are lineage: a failed or aborted run's are not.
NOT_APPLIED_TYPES = frozenset({"FAIL", "ABORT"})
SLUG_MAX = 80


def pattern_matches(pattern: str, value: str) -> bool:
    """Shell-style, case-sensitive: ``*`` any run of characters (``/`` and ``.`` included),
    ``?`` one character, ``[abc]`` one of a set. The empty pattern matches everything."""
    return not pattern or fnmatchcase(value, pattern)


def first_matching_rule(rules: Iterable[Any], *, namespace: str, name: str):
    """The first rule (in the order given) whose namespace and job patterns match, or None.
    A rule is anything with ``namespace_pattern`` and ``job_pattern``."""
    for rule in rules:
        if pattern_matches(rule.namespace_pattern, namespace) and pattern_matches(
            rule.job_pattern, name
        ):
            return rule
    return None


def dataset_uri(namespace: str, name: str) -> str:
    """The URI of an OpenLineage dataset, the inverse of the naming convention the lineage
    export uses (``apps.reports.formats.openlineage.dataset_identity``):
    (``s3://bucket``, ``a/b.parquet``) → ``s3://bucket/a/b.parquet``; (``file``, ``/p``) →
    ``file:///p``; a namespace without a scheme (``warehouse``) → ``warehouse/name``."""
    if namespace == "file":
        return f"file://{name if name.startswith('/') else '/' + name}"
    return f"{namespace.rstrip('/')}/{name.lstrip('/')}"


def dataset_label(name: str) -> str:
    """A readable dataset name for the inventory: the OpenLineage name, cut to fit."""
    return name if len(name) <= 200 else "…" + name[-199:]


def dataset_slug_base(name: str) -> str:
    """The slug a new dataset starts from: its name's last parts, slugified
    (``raw/loans/2026.parquet`` → ``loans-2026-parquet``)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p]
    slug = slugify(" ".join(parts[-2:]).replace(".", " ").replace("_", " ")) or "dataset"
    return slug[: SLUG_MAX - 6].strip("-") or "dataset"


def event_time(value: str) -> datetime:
    """The event's time as an aware UTC datetime (the schema has checked its format)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed.astimezone(UTC)


def input_roles(dataset: dict) -> list[str]:
    """What a model version did with an input dataset: the roles in its ``mlgov_dataset``
    facet (as mlgov's own export writes them), trained on when it names none."""
    facet = (dataset.get("facets") or {}).get("mlgov_dataset") or {}
    roles = [r for r in facet.get("roles") or [] if r in (TRAINED_ON, EVALUATED_ON)]
    return sorted(set(roles)) or [TRAINED_ON]


def dataset_version(dataset: dict) -> str:
    """The version named by the dataset's standard ``version`` facet, or ''."""
    facet = (dataset.get("facets") or {}).get("version") or {}
    value = facet.get("datasetVersion")
    return str(value)[:100] if value else ""


def mlgov_facet(event: dict) -> dict:
    """The job's ``mlgov`` facet (``{"model": slug, "version": …}``), or {}."""
    return ((event.get("job") or {}).get("facets") or {}).get("mlgov") or {}


#: Longest namespace or name mlgov stores (a job's or a dataset's).
NAME_MAX = 500


def length_errors(event: dict) -> list[tuple[str, str]]:
    """Namespaces and names longer than mlgov stores, as (JSON pointer, message)."""
    places = [("/job", event.get("job") or {})]
    for side in ("inputs", "outputs"):
        places += [(f"/{side}/{i}", d) for i, d in enumerate(event.get(side) or [])]
    errors = []
    for where, item in places:
        for key in ("namespace", "name"):
            value = item.get(key) if isinstance(item, dict) else None
            if isinstance(value, str) and len(value) > NAME_MAX:
                errors.append((f"{where}/{key}", f"Longer than {NAME_MAX} characters."))
    return errors
