"""The OpenLineage specification mlgov speaks, and the JSON Schemas of mlgov's own facets.

Pure (no database): the vendored spec (``apps/reports/schemas/openlineage/``, see its
PROVENANCE.md), the definitions of the custom facets mlgov emits and reads, the documents
mlgov serves for them (so that a facet's ``_schemaURL`` resolves to a JSON Schema, not to a
source file) and one validator, ``run_event_errors``, used both by the lineage export's tests
and by the OpenLineage intake (``apps.openlineage``) to refuse a malformed event naming the
field by its JSON pointer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

SPEC_DIR = Path(__file__).resolve().parent.parent / "schemas" / "openlineage"
SPEC_VERSION = "2-0-2"
SPEC_URL = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"
RUN_EVENT_SCHEMA_URL = f"{SPEC_URL}#/$defs/RunEvent"
#: The OpenLineage standard facets mlgov emits, vendored so that they are checked too.
STANDARD_FACET_FILES = (
    "DatasetVersionDatasetFacet.json",
    "OwnershipDatasetFacet.json",
    "OwnershipJobFacet.json",
)

#: Where mlgov serves the schema documents of its facets (``apps.openlineage`` routes it).
FACET_PATH = "/openlineage/facets/{name}.json"
#: The base URL used when the installation has none configured (``MLGOV_BASE_URL``).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _facet(base: str, description: str, properties: dict, required: list[str]) -> dict:
    """A facet definition after the spec's convention: the base facet of its kind, and its
    own fields."""
    return {
        "description": description,
        "allOf": [
            {"$ref": f"{SPEC_URL}#/$defs/{base}"},
            {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": True,
            },
        ],
        "type": "object",
    }


#: mlgov's custom facets: name -> (the key it is sent under, its definition).
FACETS: dict[str, tuple[str, dict]] = {
    "MlgovJobFacet": (
        "mlgov",
        _facet(
            "JobFacet",
            "The mlgov model (and optionally the version) a job trains, evaluates or serves. "
            "A pipeline adds it to map its job to a model in mlgov's inventory.",
            {
                "model": {
                    "description": "Slug of the registered model in mlgov.",
                    "type": "string",
                    "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$",
                    "maxLength": 80,
                },
                "version": {
                    "description": "Version of the model this run produced or used; input "
                    "datasets become its training (or evaluation) data.",
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                },
            },
            ["model"],
        ),
    ),
    "MlgovDatasetFacet": (
        "mlgov_dataset",
        _facet(
            "DatasetFacet",
            "An mlgov dataset: its slug, the roles it plays for the model version (inputs "
            "only), its URI, content SHA-256 and whether it holds personal data.",
            {
                "slug": {"type": "string"},
                "roles": {
                    "description": "What the version did with the dataset.",
                    "type": "array",
                    "items": {"type": "string", "enum": ["trained_on", "evaluated_on"]},
                    "uniqueItems": True,
                },
                "uri": {"type": "string"},
                "contentSha256": {"type": "string", "pattern": "^([0-9a-f]{64})?$"},
                "containsPersonalData": {"type": "boolean"},
            },
            [],
        ),
    ),
    "MlgovArtifactFacet": (
        "mlgov_artifact",
        _facet(
            "DatasetFacet",
            "A model version's artefact as registered in mlgov, and where it is deployed.",
            {
                "uri": {"type": "string"},
                "sha256": {"type": "string", "pattern": "^([0-9a-f]{64})?$"},
                "stage": {"type": "string"},
                "codeCommit": {"type": "string"},
                "deployments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "environment": {"type": "string"},
                            "endpoint": {"type": "string"},
                            "status": {"type": "string"},
                            "deployedAt": {"type": ["string", "null"]},
                        },
                        "required": ["id", "environment", "status"],
                    },
                },
            },
            ["uri", "sha256"],
        ),
    ),
    "MlgovFeedsJobFacet": (
        "mlgov_feeds",
        _facet(
            "JobFacet",
            "The models whose outputs this model's scoring reads (model-to-model feeds).",
            {
                "upstream": {
                    "description": "Slugs of the upstream models.",
                    "type": "array",
                    "items": {"type": "string"},
                }
            },
            ["upstream"],
        ),
    ),
}
#: Facet key -> facet name, to validate mlgov's facets in events whatever their _schemaURL.
FACET_KEYS = {key: name for name, (key, _) in FACETS.items()}


def base_url(configured: str = "") -> str:
    """The installation's public base URL without a trailing slash."""
    return (configured or DEFAULT_BASE_URL).rstrip("/")


def facet_schema_url(name: str, base: str = "") -> str:
    """The ``_schemaURL`` of mlgov facet ``name``: the served document, pointing at the
    definition (``…/MlgovJobFacet.json#/$defs/MlgovJobFacet``)."""
    return f"{base_url(base)}{FACET_PATH.format(name=name)}#/$defs/{name}"


def facet_schema_document(name: str, base: str = "") -> dict:
    """The JSON Schema document mlgov serves for facet ``name`` (KeyError if unknown), in the
    layout of the spec's own facet files."""
    key, definition = FACETS[name]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(base)}{FACET_PATH.format(name=name)}",
        "$defs": {name: definition},
        "type": "object",
        "properties": {key: {"$ref": f"#/$defs/{name}"}},
    }


def _load(name: str) -> dict:
    return json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    documents = [_load("OpenLineage.json"), *(_load(n) for n in STANDARD_FACET_FILES)]
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents)


def standard_facet_urls() -> dict[str, str]:
    """The vendored standard facets: ``_schemaURL`` (document URL) -> definition name."""
    urls = {}
    for file_name in STANDARD_FACET_FILES:
        doc = _load(file_name)
        (definition,) = doc["$defs"]
        urls[doc["$id"]] = definition
    return urls


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339: a date, a time and an offset (``Z`` or ``±hh:mm``)."""
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise ValueError("needs a date, a time and a UTC offset")
    try:
        parsed.astimezone(UTC)
    except OverflowError as exc:  # year 1 with a positive offset: before any storable time
        raise ValueError("out of range") from exc
    return True


@_FORMATS.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not urlsplit(value).scheme or any(c.isspace() for c in value):
        raise ValueError("not an absolute URI")
    return True


@_FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    import uuid

    if isinstance(value, str):
        uuid.UUID(value)
    return True


@cache
def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=_registry(), format_checker=_FORMATS)


@cache
def _mlgov_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(FACETS[name][1], registry=_registry(), format_checker=_FORMATS)


def pointer(path) -> str:
    """RFC 6901 JSON pointer of a path of keys and indexes (``/run/facets/a~1b``)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _deepest(error: ValidationError) -> ValidationError:
    """The most specific cause of an ``allOf``/``anyOf`` failure (its deepest context)."""
    while error.context:
        error = best_match(error.context)
    return error


def _missing(error: ValidationError) -> tuple:
    """A missing required property is named in the pointer (``/eventTime``), not only in the
    message: the pointer says which field to add."""
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in error.validator_value:
            if name not in error.instance and error.message == f"{name!r} is a required property":
                return (name,)
    return ()


def _errors(validator: Draft202012Validator, instance: Any, prefix=()) -> list[tuple[str, str]]:
    found = []
    for error in validator.iter_errors(instance):
        cause = _deepest(error)
        path = (*prefix, *cause.absolute_path, *_missing(cause))
        found.append((pointer(path), cause.message))
    return found


def _facets_of(event: dict):
    """Every facet of the event: (path to the facet, facet key, facet object)."""
    containers = [(("run", "facets"), (event.get("run") or {}).get("facets"))]
    containers.append((("job", "facets"), (event.get("job") or {}).get("facets")))
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        datasets = event.get(side)
        if not isinstance(datasets, list):
            continue
        for index, dataset in enumerate(datasets):
            if isinstance(dataset, dict):
                containers.append(((side, index, "facets"), dataset.get("facets")))
                containers.append(((side, index, extra), dataset.get(extra)))
    for path, facets in containers:
        if isinstance(facets, dict):
            for key, facet in facets.items():
                if isinstance(facet, dict):
                    yield (*path, key), key, facet


def run_event_errors(event: Any) -> list[tuple[str, str]]:
    """What is wrong with an OpenLineage RunEvent: ``[(json pointer, message), …]``, empty
    when it is valid against the spec, against the vendored standard facets it claims
    (by ``_schemaURL``) and against mlgov's facets (by key). Sorted by pointer."""
    if not isinstance(event, dict):
        return [("", "An OpenLineage RunEvent is a JSON object.")]
    errors = _errors(_validator(RUN_EVENT_SCHEMA_URL), event)
    standard = standard_facet_urls()
    for path, key, facet in _facets_of(event):
        schema_url = str(facet.get("_schemaURL", ""))
        document = schema_url.split("#", 1)[0]
        if key in FACET_KEYS:
            errors += _errors(_mlgov_validator(FACET_KEYS[key]), facet, path)
        elif document in standard:
            ref = f"{document}#/$defs/{standard[document]}"
            errors += _errors(_validator(ref), facet, path)
    return sorted(set(errors))
