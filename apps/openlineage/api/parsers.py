"""The intake's body parser: JSON, gzip-compressed or not."""

from __future__ import annotations

import io
import zlib

from django.conf import settings
from rest_framework.exceptions import ParseError

from apps.core.api.exceptions import PayloadTooLarge
from apps.core.api.parsers import JSONParser


def gunzip_capped(data: bytes, *, limit: int) -> bytes:
    """``data`` decompressed, refusing more than ``limit`` bytes of output (a small body may
    inflate to gigabytes)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ParseError(f"The gzip body cannot be read: {exc}.") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"The decompressed body is larger than {limit} bytes.")
    if not inflater.eof:
        raise ParseError("The gzip body is cut short.")
    return out


class OpenLineageJSONParser(JSONParser):
    """OpenLineage's HTTP transports send ``Content-Encoding: gzip`` when their
    ``compression`` option is set; the body is inflated (within the upload limit) first."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else ""
        if encoding.strip().lower() == "gzip":
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
            stream = io.BytesIO(gunzip_capped(stream.read(), limit=limit))
        return super().parse(stream, media_type, parser_context)
