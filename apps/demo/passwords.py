"""The password of the demo accounts."""

import os

DEFAULT_DEMO_PASSWORD = "mlgov-demo-2026"  # noqa: S105 - documented demo password


def demo_password() -> str:
    """The password of every demo account: ``MLGOV_DEMO_PASSWORD`` or the documented default."""
    return os.environ.get("MLGOV_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
