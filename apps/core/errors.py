"""The one application exception. Services raise it; views and the API turn it into a 4xx."""

from __future__ import annotations


class ApplicationError(Exception):
    """A domain rule refused an operation. ``field_errors`` maps field names to messages."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
