"""Files the fault tests send: metric CSVs with distinct timestamps and drift samples."""

from __future__ import annotations

import datetime
import io

import numpy as np
import pandas as pd

from tests.jobs.world import MODEL, VERSION

HEADER = "model,version,metric,value,timestamp,segment"
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def metric_csv(rows: int, *, first_minute: int = 0) -> bytes:
    """``rows`` observations of ``auc``, one a minute from ``first_minute`` after 2024-01-01
    (files with disjoint ranges load disjoint rows)."""
    out = io.StringIO()
    out.write(HEADER + "\n")
    for i in range(first_minute, first_minute + rows):
        stamp = (EPOCH + datetime.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.write(f"{MODEL},{VERSION},auc,0.{800 + i % 100},{stamp},\n")
    return out.getvalue().encode()


def drift_samples(seed: int, rows: int = 500) -> tuple[bytes, bytes]:
    """A reference and a current CSV sample (``age`` shifted, ``region`` stable)."""
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {"age": rng.normal(40, 10, rows), "region": rng.choice(["north", "south"], rows)}
    )
    cur = pd.DataFrame(
        {"age": rng.normal(50, 10, rows), "region": rng.choice(["north", "south"], rows)}
    )
    return ref.to_csv(index=False).encode(), cur.to_csv(index=False).encode()
