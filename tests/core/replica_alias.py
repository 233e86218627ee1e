"""A ``replica`` database alias for a test module: a second, real connection to the test
database (what ``TEST: {"MIRROR": "default"}`` makes of a configured replica), added after the
test database is set up and removed after the module, so no other module's reads are routed
to it. The module's tests name it: ``django_db(transaction=True, databases=DATABASES)``."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

from django.db import connections

from apps.core.replica import REPLICA

DATABASES = ["default", REPLICA]


@contextlib.contextmanager
def replica_alias(*, read_only: bool = False) -> Iterator[None]:
    """``read_only``: the replica's sessions refuse writes, as a hot standby does
    (PostgreSQL only)."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "MIRROR": "default"}
    if read_only:
        options = dict(settings_dict.get("OPTIONS") or {})
        options["options"] = "-c default_transaction_read_only=on"
        settings_dict["OPTIONS"] = options
    connections.settings[REPLICA] = settings_dict
    try:
        yield
    finally:
        with contextlib.suppress(AttributeError):
            connections[REPLICA].close()
            del connections[REPLICA]
        del connections.settings[REPLICA]


@contextlib.contextmanager
def without_replica() -> Iterator[None]:
    """The installation as if no replica were configured."""
    saved = connections.settings.pop(REPLICA)
    try:
        yield
    finally:
        connections.settings[REPLICA] = saved
