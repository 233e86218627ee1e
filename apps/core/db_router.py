"""The database router: reads inside a ``reading_from_replica()`` scope go to the replica,
everything else to ``default`` (``apps/core/replica.py``, README "Scaling out")."""

from __future__ import annotations

from django.db import connections

from apps.core import replica

ALIASES = {"default", replica.REPLICA}


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        alias = replica.read_alias()
        if alias is None:
            return "default"
        # A read inside a transaction on the primary may depend on that transaction's own
        # writes, or lock rows (select_for_update): it stays there.
        if connections["default"].in_atomic_block:
            return "default"
        return alias

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: objects read from either may be related.
        if {obj1._state.db or "default", obj2._state.db or "default"} <= ALIASES:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica is migrated by replication, never directly.
        return db != replica.REPLICA
