"""mlgov's complete model-card JSON: the snapshot, its generation metadata and its coverage.

``card_json_bytes`` is the one serialisation of the card document; the PDF card attaches these
same bytes as ``model-card.json``, so the attachment equals the JSON export byte for byte.
"""

from __future__ import annotations

import json

from apps.reports.coverage import coverage

FORMAT_VERSION = 1


def card_document(snapshot: dict, meta: dict) -> dict:
    """The card as one JSON-ready dict."""
    return {
        "mlgov_model_card": FORMAT_VERSION,
        "meta": meta,
        "snapshot": snapshot,
        "coverage": coverage(snapshot),
    }


def card_json_bytes(snapshot: dict, meta: dict) -> bytes:
    """The card document as indented, key-sorted UTF-8 JSON; equal inputs give equal bytes."""
    text = json.dumps(card_document(snapshot, meta), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
