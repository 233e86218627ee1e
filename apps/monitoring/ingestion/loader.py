"""Loading validated observations into the big table.

``load_observations`` is the one way rows reach ``monitoring_observation``; ingestion, drift
runs and the demo seed all use it. Call it inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from apps.monitoring.models import IngestionBatch, Observation

#: Columns (and dtypes) of the frame ``load_observations`` takes.
FRAME_COLUMNS = {
    "version_id": "int64",
    "metric_id": "int64",
    "segment": "object",
    "timestamp": "datetime64[ns, UTC]",
    "value": "float64",
}


@dataclass(frozen=True)
class LoadResult:
    loaded: int
    duplicate: int


def load_observations(*, batch: IngestionBatch, frame: pd.DataFrame) -> LoadResult:
    """Insert the frame's rows as observations of ``batch``; rows whose (version, metric,
    segment, timestamp) already exist are skipped and counted as duplicates.

    Portable placeholder: bulk_create with ignore_conflicts (replaced by COPY on PostgreSQL).
    """
    before = Observation.objects.filter(batch=batch).count()
    Observation.objects.bulk_create(
        [
            Observation(
                batch=batch,
                version_id=int(row.version_id),
                metric_id=int(row.metric_id),
                segment=row.segment,
                timestamp=row.timestamp.to_pydatetime(),
                value=float(row.value),
            )
            for row in frame.itertuples(index=False)
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    loaded = Observation.objects.filter(batch=batch).count() - before
    return LoadResult(loaded=loaded, duplicate=len(frame) - loaded)
