"""Several row sets read in one query: the ``values()`` rows of many querysets as one
``UNION ALL`` of (part, JSON object) rows, turned back into the values ``values()`` gives.

A page that needs a dozen small, unrelated row sets (a model's versions, deployments,
approvals, incidents...) pays one round trip instead of a dozen, and its query count does not
depend on how many kinds of rows it reads. Each row is written by the database as a JSON
object (``JSONB_BUILD_OBJECT`` on PostgreSQL, ``json_object`` on SQLite) and read back through
the column's model field: times, dates, numbers, booleans and JSON come back as the same
Python values the ORM gives. Floats are exact: PostgreSQL writes them in their shortest
round-trip form; on SQLite, whose JSON keeps 15 digits, they travel as 21-digit text.

A part's rows come in no particular order unless it names an ``order_by``: the database
numbers its rows in that order (a window, so collations are the database's own) and they are
returned in it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import NotSupportedError, connections, models
from django.db.models import F, Func, QuerySet, Value, Window
from django.db.models.functions import RowNumber
from django.utils.dateparse import parse_date, parse_datetime

#: The JSON key of a part's row number (when it has an order).
_ORDER = "batch:order"
#: Columns in one JSON object (two arguments each, of PostgreSQL's 100 at most).
_CHUNK = 40
_TEXT = frozenset(
    {"CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField"}
)
_INTEGER = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)


@dataclass(frozen=True)
class Part:
    """One row set: the ``values(*columns)`` rows of ``queryset`` (in ``order_by`` when
    given, a sequence of ``order_by()`` arguments)."""

    queryset: QuerySet
    columns: Sequence[str]
    order_by: Sequence[Any] = ()
    #: Read on its own with ``values()``: for a part of thousands of rows (a series' hourly
    #: rollups), whose JSON would cost more than the round trip it saves.
    alone: bool = False


class _SqliteValue(Func):
    """A column as it goes into a JSON object on SQLite: floats as round-trip text, JSON
    columns as JSON (not as the text they are stored in), the others unchanged."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        (source,) = self.get_source_expressions()
        sql, params = compiler.compile(source)
        kind = _kind(source.output_field)
        if kind == "FloatField":
            return (
                f"(CASE WHEN ({sql}) IS NULL THEN NULL ELSE printf('%%!.20e', {sql}) END)",
                (*params, *params),
            )
        if kind == "JSONField":
            return f"json({sql})", params
        return sql, params


class _JsonObject(Func):
    """A JSON object of the given keys and expressions: ``JSONB_BUILD_OBJECT`` on PostgreSQL,
    ``json_object`` on SQLite (without asking the database whether it has JSON functions,
    which costs SQLite a query on a connection's first use of Django's ``JSONObject``)."""

    output_field = models.JSONField()

    def __init__(self, pairs: Mapping[str, Any]):
        self.keys = list(pairs)
        super().__init__(*pairs.values())

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor == "postgresql":
            function, cast = "JSONB_BUILD_OBJECT", "::text"
        elif connection.vendor == "sqlite":
            function, cast = "JSON_OBJECT", ""
        else:
            raise NotSupportedError(f"Batched reads are not implemented on {connection.vendor}.")
        pairs, params = [], []
        for name, expression in zip(self.keys, self.get_source_expressions(), strict=True):
            sql, expression_params = compiler.compile(expression)
            # The keys are the code's column names, written as literals (not parameters, of
            # which a batch would otherwise pass hundreds).
            literal = "'{}'".format(name.replace("'", "''").replace("%", "%%"))
            pairs.append(f"{literal}{cast}, {sql}")
            params.extend(expression_params)
        return f"{function}({', '.join(pairs)})", params


def read(parts: Mapping[str, Part]) -> dict[str, list[dict[str, Any]]]:
    """Every part's rows, by name, in one query (none when every part is empty; one per
    database when the parts are read from several; one more for each part read ``alone``)."""
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in parts}
    members: dict[str, list[QuerySet]] = {}
    fields = {}
    for index, (name, part) in enumerate(parts.items()):
        if part.queryset.query.is_empty():
            continue
        if part.alone:
            queryset = part.queryset.order_by(*part.order_by) if part.order_by else part.queryset
            result[name] = list(queryset.values(*part.columns))
            continue
        db = part.queryset.db
        sqlite = connections[db].vendor == "sqlite"
        row = {column: _SqliteValue(F(column)) if sqlite else F(column) for column in part.columns}
        if part.order_by:
            row[_ORDER] = Window(RowNumber(), order_by=list(part.order_by))
        # A function takes at most 100 arguments on PostgreSQL: a wide row is an object of
        # objects of at most ``_CHUNK`` columns each.
        keys = list(row)
        chunks = [keys[i : i + _CHUNK] for i in range(0, len(keys), _CHUNK)]
        member = part.queryset.order_by().annotate(
            batch_part=Value(index, output_field=models.IntegerField()),
            batch_row=_JsonObject(
                {str(i): _JsonObject({k: row[k] for k in chunk}) for i, chunk in enumerate(chunks)}
            ),
        )
        resolved = member.query.annotations["batch_row"].get_source_expressions()
        outputs = [e.output_field for chunk in resolved for e in chunk.get_source_expressions()]
        fields[index] = (name, [(k, _decoder(f)) for k, f in zip(keys, outputs, strict=True)])
        members.setdefault(db, []).append(member.values_list("batch_part", "batch_row"))
    ordered: dict[str, list[tuple[int, dict]]] = {}
    # One query per database the parts are read from (the router sends them all to one).
    unions = [first.union(*rest, all=True) if rest else first for first, *rest in members.values()]
    for index, chunks in (row for union in unions for row in union):
        name, columns = fields[index]
        raw = {key: value for chunk in chunks.values() for key, value in chunk.items()}
        values = {
            column: None if raw.get(column) is None else decode(raw[column])
            for column, decode in columns
        }
        ordered.setdefault(name, []).append((values.pop(_ORDER, 0), values))
    for name, rows in ordered.items():
        if parts[name].order_by:
            rows.sort(key=lambda pair: pair[0])
        result[name] = [values for _, values in rows]
    return result


def _kind(field) -> str:
    while field.is_relation:
        field = field.target_field
    return field.get_internal_type()


def _time(value: str) -> dt.datetime:
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"{value!r} is not a time.")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _same(value):
    return value


def _decoder(field):
    """How a (non-null) value of the JSON object becomes what ``values()`` gives the column."""
    kind = _kind(field)
    if kind in _TEXT or kind == "JSONField":
        return _same
    decoders = {
        "FloatField": float,
        "BooleanField": bool,
        "DateTimeField": _time,
        "DateField": parse_date,
        "UUIDField": lambda value: uuid.UUID(str(value)),
        **dict.fromkeys(_INTEGER, int),
    }
    if kind not in decoders:
        raise TypeError(f"A {kind} column is not read in batches.")
    return decoders[kind]
