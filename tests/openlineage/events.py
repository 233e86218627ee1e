"""OpenLineage events for the tests, made with the ``openlineage-python`` client's own classes
(as Airflow, dbt and the client's users make them), and mlgov's job facet as a client facet."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import JobFacet, dataset_version_dataset
from openlineage.client.serde import Serde

from apps.reports.formats import openlineage_spec as spec

PRODUCER = "https://example.org/pipelines/credit"
WHEN = "2026-11-24T10:15:00.000Z"


@attr.define(kw_only=True)
class MlgovJobFacet(JobFacet):
    """mlgov's ``mlgov`` job facet, declared as the client's docs say custom facets are."""

    model: str
    version: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return spec.facet_schema_url("MlgovJobFacet")


def dataset(namespace: str, name: str, *, version: str = "", output: bool = False):
    facets = {}
    if version:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=version
        )
    kind = OutputDataset if output else InputDataset
    return kind(namespace=namespace, name=name, facets=facets)


def run_event(
    *,
    job: str = "credit_scoring.train",
    namespace: str = "airflow-prod",
    state: RunState = RunState.COMPLETE,
    run_id: str | None = None,
    when: str = WHEN,
    inputs: Iterable = (),
    outputs: Iterable = (),
    model: str | None = None,
    version: str | None = None,
) -> RunEvent:
    facets = {"mlgov": MlgovJobFacet(model=model, version=version)} if model else {}
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace=namespace, name=job, facets=facets),
        inputs=list(inputs),
        outputs=list(outputs),
        producer=PRODUCER,
    )


def as_dict(event: RunEvent) -> dict:
    """The event as the client sends it (its own serialiser: nulls dropped, enums as text)."""
    return Serde.to_dict(event)
