"""The scale data generator (``manage.py generate_scale_data``): a bank-sized inventory
written through the services and the project's own bulk paths. See ``run.py``."""

from apps.demo.scale.context import ScaleOptions
from apps.demo.scale.inventory import HEAVY_SLUG
from apps.demo.scale.run import COUNTED, DatabaseNotEmpty, ScaleResult, generate, refusal

__all__ = [
    "COUNTED",
    "HEAVY_SLUG",
    "DatabaseNotEmpty",
    "ScaleOptions",
    "ScaleResult",
    "generate",
    "refusal",
]
