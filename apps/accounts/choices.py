"""Choice lists of accounts."""

from django.db import models


class TokenScope(models.TextChoices):
    """What an API token opens. ``api``: everything its user may do (the API as that user);
    ``lineage``: only the OpenLineage intake, for pipelines that send lineage events and
    should hold no key that could do anything else."""

    API = "api", "Full API (everything you may do)"
    LINEAGE = "lineage", "OpenLineage events only"


class SignatureMethod(models.TextChoices):
    """How an electronic signature was made (``apps.accounts.signatures``)."""

    PASSWORD = "password", "Password re-entered"
    PROVIDER = "provider", "Re-authentication at the identity provider"
