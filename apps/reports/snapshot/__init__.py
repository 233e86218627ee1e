"""One registered model's record at a time T as a JSON-ready dict: the source of every card.

``model_snapshot`` reads the record as it stood at T: rows are rebuilt from the audit trail
(``apps.reports.history``) and time-stamped rows (decisions, observations, drift runs) are
filtered by their time. ``as_of`` gives T exactly, so a snapshot requested again as of its own
``as_of`` is the same snapshot. The number of queries does not depend on the amount of data.
Callers check permissions first.

The package follows the snapshot's sections:

- ``build``: ``model_snapshot``, which fixes T and assembles the sections;
- ``context``: what every section reads (the model, T, its audit events, the people, and the
  rows read for them in batches);
- ``identity``: the model itself (``model``);
- ``inventory``: versions with their datasets, deployments, dependencies;
- ``metrics``: thresholds with their values, states and series, and the latest drift run;
- ``approvals``: approval requests and decisions, and thresholds' sign-offs;
- ``incidents``: incidents and the versions they affected;
- ``reviews``: reviews, findings and risk assessments;
- ``changes``: the change history;
- ``people``: the people named, as they were at T;
- ``values``: how times, numbers, labels and text are written;
- ``canonical``: the canonical bytes and their SHA-256.

A constant is read by the module that defines it (``metrics.SERIES_DAYS``,
``changes.MAX_CHANGES``): change it there.
"""

from apps.reports.snapshot.build import SCHEMA, model_snapshot
from apps.reports.snapshot.canonical import canonical_bytes, snapshot_sha256
from apps.reports.snapshot.changes import MAX_CHANGES
from apps.reports.snapshot.metrics import SERIES_DAYS

__all__ = [
    "MAX_CHANGES",
    "SCHEMA",
    "SERIES_DAYS",
    "canonical_bytes",
    "model_snapshot",
    "snapshot_sha256",
]
