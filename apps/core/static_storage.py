"""The static files storage: WhiteNoise's hashed, compressed files, with the API
documentation's vendored assets compressed by gzip alone.

drf-spectacular-sidecar ships Swagger UI and Redoc (about 9 MB, nine tenths of what is
collected). Brotli at its highest quality, which WhiteNoise uses, spent most of a fresh
``make run`` on them, for pages developers read now and then; gzip at level 9 takes a small
fraction of that and browsers accept it. mlgov's own files (and the admin's) still get both,
brotli first. No ORM.
"""

from __future__ import annotations

import os

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

#: Collected paths (relative to ``STATIC_ROOT``) compressed with gzip only.
GZIP_ONLY_PREFIXES = ("drf_spectacular_sidecar/",)


class GzipOnlyForVendorCompressor(Compressor):
    """WhiteNoise's compressor, but files under ``prefixes`` get no brotli version."""

    def __init__(self, *args, root: str, prefixes: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.gzip_only = tuple(os.path.join(root, prefix) for prefix in prefixes)

    def compress(self, path: str) -> list[str]:
        if not self.use_gzip or not path.startswith(self.gzip_only):
            return super().compress(path)
        with open(path, "rb") as f:
            stat_result = os.fstat(f.fileno())
            data = f.read()
        compressed = self.compress_gzip(data)
        if not self.is_compressed_effectively("Gzip", path, len(data), compressed):
            return []
        return [self.write_data(path, compressed, ".gz", stat_result)]


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """``CompressedManifestStaticFilesStorage`` with gzip alone for ``GZIP_ONLY_PREFIXES``."""

    def create_compressor(self, **kwargs) -> Compressor:
        return GzipOnlyForVendorCompressor(
            root=os.path.join(self.location, ""), prefixes=GZIP_ONLY_PREFIXES, **kwargs
        )
