"""The facts behind a model's health (``apps/inventory/health.py``) as queries.

The inventory sits below the apps that know what can go wrong with a model (monitoring,
incidents, reviews), so they register their facts here in their ``AppConfig.ready()``, as
they register their tabs. A fact is a condition over ``RegisteredModel`` (``pk IN`` the ids
of the few rows with the problem, which PostgreSQL hashes once per query: a semi-join in a
filter, one hashed subplan in a select list or an aggregate, never a probe per model), and
optionally the rows behind it, which the model page's banner names and links to.

So a page of models reads its health in the same query as the page, the inventory filter by
health is one query however large the inventory, and one model's banner costs at most one
query (a UNION of the rows behind the facts that hold), none when the model is healthy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.db.models import BooleanField, CharField, Count, ExpressionWrapper, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from apps.core import clock
from apps.inventory.health import (
    FACT_STATES,
    FACTS,
    PRECEDENCE,
    Health,
    HealthState,
    Problem,
    health_of,
    state_requirements,
)
from apps.inventory.models import RegisteredModel

#: The annotation holding a fact on a model read with :func:`with_health_facts`.
PREFIX = "health_"
#: Rows named per fact in the banner; the rest are counted.
BANNER_ROWS = 5


class Detail(NamedTuple):
    """One row behind a fact, as text: what a link needs (``ref``), a name (``label``), a
    level (a severity or state) and a note (a version, a date)."""

    kind: str
    ref: str | None
    label: str | None
    level: str | None
    note: str | None


@dataclass(frozen=True)
class HealthFact:
    """A fact about models, registered by the app that owns its data.

    - ``key``: one of ``apps.inventory.health.FACTS``.
    - ``ids``: ``today -> QuerySet`` of the ids of the models with it (one ``values()``
      column of the few rows with the problem); or, for a fact on the model's own fields,
    - ``condition``: ``today -> Q`` over ``RegisteredModel``, true for the models with it.
    - ``details``: optional ``today -> QuerySet`` of the rows behind the fact for every
      model, with ``model_field`` the path from a row to its model and ``columns`` the four
      expressions (ref, label, level, note) the banner reads; none for a fact on the model
      itself.
    - ``describe``: ``(model, rows, today) -> list[Problem]`` for the banner.
    """

    key: str
    describe: Callable[[Any, list[Detail], dt.date], list[Problem]]
    ids: Callable[[dt.date], QuerySet] | None = None
    condition: Callable[[dt.date], Q] | None = None
    details: Callable[[dt.date], QuerySet] | None = None
    model_field: str = "model"
    columns: Sequence[Any] = field(default_factory=tuple)
    #: ``(model, facts, today) -> list[Problem]``: the problem in a line from the facts and
    #: the model's own fields alone, linking to the tab that lists it (no query).
    summary: Callable[[Any, dict[str, bool], dt.date], list[Problem]] | None = None

    def where(self, today: dt.date) -> Q:
        """Q over ``RegisteredModel`` of the models with the fact."""
        if self.ids is not None:
            return Q(pk__in=self.ids(today))
        return self.condition(today)


def rows_fact(
    *,
    key: str,
    rows: Callable[[dt.date], QuerySet],
    columns: Sequence[Any],
    describe: Callable[[Any, list[Detail], dt.date], list[Problem]],
    summary: Callable[[Any, dict[str, bool], dt.date], list[Problem]] | None = None,
    model_field: str = "model",
) -> HealthFact:
    """A fact held by the models that ``rows(today)`` (the few rows with the problem: open
    incidents, breached thresholds, overdue findings) point to through ``model_field``; the
    same rows are the details the banner names."""
    return HealthFact(
        key=key,
        ids=lambda today: rows(today).values(f"{model_field}_id"),
        details=rows,
        model_field=model_field,
        columns=columns,
        describe=describe,
        summary=summary,
    )


def banner_problems(
    rows: Sequence[Detail],
    *,
    state: str,
    line: Callable[[Detail], tuple[str, str]],
    more: str,
    more_url: str,
) -> list[Problem]:
    """The banner's lines for the rows behind a fact: ``line(row)`` gives the text and link
    of each of the first ``BANNER_ROWS`` rows, and the rest are counted in one line
    (``more`` with ``{count}``) linking to ``more_url``, the tab that lists them all."""
    problems = [
        Problem(state=state, text=text, url=url)
        for text, url in (line(row) for row in rows[:BANNER_ROWS])
    ]
    if len(rows) > BANNER_ROWS:
        problems.append(
            Problem(state=state, text=more.format(count=len(rows) - BANNER_ROWS), url=more_url)
        )
    return problems


class HealthRegistry:
    def __init__(self) -> None:
        self._facts: dict[str, HealthFact] = {}

    def register(self, fact: HealthFact) -> None:
        """Add ``fact``; registering the same fact again is harmless (``ready()`` may run
        twice in tests), a different one under a used key is a configuration error."""
        if fact.key not in FACTS:
            raise ImproperlyConfigured(f"{fact.key!r} is not a health fact ({', '.join(FACTS)}).")
        if self._facts.get(fact.key, fact) != fact:
            raise ImproperlyConfigured(f"The health fact {fact.key!r} is already registered.")
        if (fact.ids is None) == (fact.condition is None):
            raise ImproperlyConfigured(f"The health fact {fact.key!r} needs ids or a condition.")
        if fact.details is not None and len(fact.columns) != 4:
            raise ImproperlyConfigured(f"The health fact {fact.key!r} needs four detail columns.")
        self._facts[fact.key] = fact

    def facts(self) -> list[HealthFact]:
        """The registered facts, in the order of ``FACTS``."""
        return [self._facts[key] for key in FACTS if key in self._facts]


registry = HealthRegistry()
register_fact = registry.register


def health_today() -> dt.date:
    """The date the facts are judged on: today in the site's zone, by mlgov's clock."""
    return timezone.localdate(clock.now())


def with_health_facts(queryset: QuerySet, today: dt.date | None = None) -> QuerySet:
    """``queryset`` (of registered models) with each fact as a boolean annotation, read in
    the same query (hashed once whatever the number of rows)."""
    today = today or health_today()
    return queryset.annotate(
        **{
            PREFIX + fact.key: ExpressionWrapper(fact.where(today), output_field=BooleanField())
            for fact in registry.facts()
        }
    )


def facts_of(model) -> dict[str, bool]:
    """The facts annotated on ``model`` by :func:`with_health_facts`."""
    return {key: bool(getattr(model, PREFIX + key, False)) for key in FACTS}


def has_health_facts(model) -> bool:
    return all(hasattr(model, PREFIX + fact.key) for fact in registry.facts())


def attach_health(models: Iterable) -> list:
    """The models (read with :func:`with_health_facts`) with ``health`` set; no query."""
    models = list(models)
    for model in models:
        model.health = health_of(facts_of(model))
    return models


def health_q(states: Iterable[str], today: dt.date | None = None) -> Q:
    """Q over ``RegisteredModel`` of the models whose health is one of ``states``: the
    conditions of :func:`apps.inventory.health.state_requirements`, so the filter and the
    badge agree."""
    today = today or health_today()
    conditions = {fact.key: fact.where(today) for fact in registry.facts()}
    result = Q(pk__in=[])
    for state in dict.fromkeys(states):
        any_of, none_of = state_requirements(state)
        wanted = Q()
        if any_of:
            held = [conditions[f] for f in sorted(any_of) if f in conditions]
            if not held:  # no registered fact can put a model in this state
                continue
            either = held[0]
            for condition in held[1:]:
                either |= condition
            wanted &= either
        for name in sorted(none_of):
            if name in conditions:
                wanted &= ~conditions[name]
        result |= wanted
    return result


def health_count_aggregates(today: dt.date | None = None, prefix: str = "") -> dict[str, Count]:
    """``Count`` aggregates to add to an aggregate query over models, which
    :func:`counts_from` turns into the number of models in each state.

    Counted cumulatively: level *k* counts the models with a fact of one of the first *k*
    states of ``PRECEDENCE``, as ``pk IN`` one UNION of those facts' ids (one hashed lookup
    a model and level, however many facts) or a condition on the model's own fields. A
    state's count is the difference of two levels, OK the rest of the total. (A count per
    state written as "this fact and none worse" cost five to seven lookups a model and
    state: ~70 ms more at 10,000 models.)"""
    today = today or health_today()
    facts = registry.facts()
    aggregates = {}
    for level in range(len(PRECEDENCE)):
        states = set(PRECEDENCE[: level + 1])
        held = [f for f in facts if FACT_STATES[f.key] in states]
        ids = [f.ids(today).order_by() for f in held if f.ids is not None]
        where = Q(pk__in=[])
        if ids:
            where |= Q(pk__in=ids[0].union(*ids[1:], all=True) if len(ids) > 1 else ids[0])
        for fact in held:
            if fact.ids is None:
                where |= fact.condition(today)
        aggregates[f"{prefix}level_{level}"] = Count("pk", filter=where)
    return aggregates


def counts_from(row: dict, total: int, prefix: str = "") -> dict[str, int]:
    """The number of models in each state from the counts of :func:`health_count_aggregates`
    in ``row`` and the number of models counted."""
    counts, before = {}, 0
    for level, state in enumerate(PRECEDENCE):
        upto = row[f"{prefix}level_{level}"] or 0
        counts[state.value] = upto - before
        before = upto
    counts[HealthState.OK.value] = total - before
    return counts


def health_counts(queryset: QuerySet, today: dt.date | None = None) -> dict[str, int]:
    """How many models of ``queryset`` are in each state, in one aggregate query."""
    row = queryset.order_by().aggregate(total=Count("pk"), **health_count_aggregates(today))
    return counts_from(row, row["total"])


def model_health_summary(model, today: dt.date | None = None) -> Health:
    """The health of one model with a line per problem linking to the tab that lists it:
    no query for a model read with :func:`with_health_facts` (as ``model_get`` reads it),
    so the banner every tab of the model page shows costs nothing more."""
    today = today or health_today()
    if not has_health_facts(model):
        model = with_health_facts(RegisteredModel.objects.filter(pk=model.pk), today).get()
    facts = facts_of(model)
    problems = []
    for fact in registry.facts():
        if facts[fact.key]:
            if fact.summary is not None:
                problems.extend(fact.summary(model, facts, today))
            elif fact.details is None:
                problems.extend(fact.describe(model, [], today))
    return health_of(facts, problems=tuple(problems))


def model_health(model, today: dt.date | None = None) -> Health:
    """The health of one model with each problem named (every incident, breached threshold,
    expired threshold and finding, up to ``BANNER_ROWS`` of each) and linked: no query when
    it is healthy and was read with :func:`with_health_facts`, else one."""
    today = today or health_today()
    if not has_health_facts(model):
        model = with_health_facts(RegisteredModel.objects.filter(pk=model.pk), today).get()
    facts = facts_of(model)
    held = [fact for fact in registry.facts() if facts[fact.key]]
    parts = []
    for fact in held:
        if fact.details is None:
            continue
        ref, label, level, note = (Cast(c, output_field=CharField()) for c in fact.columns)
        parts.append(
            fact.details(today)
            .filter(**{fact.model_field: model.pk})
            .order_by()
            .annotate(
                h_kind=Value(fact.key, output_field=CharField()),
                h_ref=ref,
                h_label=label,
                h_level=level,
                h_note=note,
            )
            .values_list("h_kind", "h_ref", "h_label", "h_level", "h_note")
        )
    rows: dict[str, list[Detail]] = {}
    if parts:
        union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        for row in union:
            rows.setdefault(row[0], []).append(Detail(*row))
    problems = []
    for fact in held:
        found = rows.get(fact.key, [])
        if fact.details is not None and not found:
            continue  # a fact described by its rows, true a moment ago, no longer is
        problems.extend(fact.describe(model, found, today))
    return health_of(facts, problems=tuple(problems))
