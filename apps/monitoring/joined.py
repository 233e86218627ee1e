"""Objects read with their children in the same query.

``prefetch_related`` reads a reverse foreign key's children in a second query; on a page
counted in queries (the Monitoring tab: thresholds with their states, the latest drift run
with its columns) the children come instead by a LEFT JOIN on the parents' query, and the
rows are folded back into one object per parent with its list of children.
"""

from __future__ import annotations

from django.db.models import F, Model, QuerySet

_ALIAS = "joined_{relation}_{name}"


def with_children(
    queryset: QuerySet,
    relation: str,
    *,
    related: dict[str, tuple[str, ...]] | None = None,
    to_attr: str | None = None,
) -> list:
    """The objects of ``queryset``, each with its children through ``relation`` (the
    accessor of a reverse foreign key, such as ``"states"``) read in the same query.

    Order the queryset by the parents' keys, then by the children's ones
    (``"<relation>__<field>"``): the parents come in the order of their first row, the
    children in row order. Every column of a child is read; ``related`` names forward
    foreign keys of the child read along with the columns given (``{"version": ("id",
    "version", "created_at")}``; the others are deferred). The children are stored in
    ``to_attr`` as a list, or else as the relation's prefetched objects, so
    ``parent.<relation>.all()`` reads nothing more."""
    related = related or {}
    reverse = queryset.model._meta.get_field(relation)
    child_model, parent_fk = reverse.related_model, reverse.field
    columns = [f for f in child_model._meta.concrete_fields if f is not parent_fk]
    aliases: dict[str, str] = {}
    for field in columns:
        aliases[_ALIAS.format(relation=relation, name=field.attname)] = f"{relation}__{field.name}"
    for name, fields in related.items():
        for column in fields:
            alias = _ALIAS.format(relation=relation, name=f"{name}_{column}")
            aliases[alias] = f"{relation}__{name}__{column}"
    pk_alias = _ALIAS.format(relation=relation, name=child_model._meta.pk.attname)

    parents: dict = {}
    children: dict = {}
    for row in queryset.annotate(**{alias: F(path) for alias, path in aliases.items()}):
        values = {alias: row.__dict__.pop(alias) for alias in aliases}
        parent = parents.setdefault(row.pk, row)
        found = children.setdefault(row.pk, [])
        if values[pk_alias] is None:  # a parent without children
            continue
        own = {f.attname: values[_ALIAS.format(relation=relation, name=f.attname)] for f in columns}
        child = instance(child_model, queryset.db, own | {parent_fk.attname: parent.pk})
        setattr(child, parent_fk.name, parent)
        for name, fields in related.items():
            forward = child_model._meta.get_field(name)
            read = {c: values[_ALIAS.format(relation=relation, name=f"{name}_{c}")] for c in fields}
            if any(v is not None for v in read.values()):  # else none is linked
                setattr(child, name, instance(forward.related_model, queryset.db, read))
        found.append(child)

    for pk, parent in parents.items():
        if to_attr is not None:
            setattr(parent, to_attr, children[pk])
            continue
        # What prefetch_related leaves: the related manager's queryset, already evaluated.
        prefetched = getattr(parent, relation).all()
        prefetched._result_cache = children[pk]
        prefetched._prefetch_done = True
        parent.__dict__.setdefault("_prefetched_objects_cache", {})[reverse.cache_name] = prefetched
    return list(parents.values())


def instance(model: type[Model], db: str, values: dict) -> Model:
    """An instance of ``model`` as the database gave it, from ``values`` by column name
    (``attname``); the columns not given are deferred (read on access)."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(db, fields, [values[name] for name in fields])
