"""The data the fault tests start from, made in the throwaway installation by
``manage.py shell`` (``python manage.py shell -c "from tests.jobs.world import main; main()"``):
a model owner with an API token, a model with one version, the ``auc`` metric, and a webhook
endpoint subscribed to ``incident.opened`` pointing at ``MLGOV_TEST_WEBHOOK_URL``.
Prints one JSON line with what the test needs."""

from __future__ import annotations

import json
import os

MODEL = "jobs-model"
VERSION = "1.0.0"
OWNER = "jo.owner"


def main() -> None:
    from apps.core import roles
    from apps.notifications.models import WebhookEndpoint
    from tests.factories import (
        ModelVersionFactory,
        RegisteredModelFactory,
        UserFactory,
        api_token_key,
    )
    from tests.monitoring.factories import MetricFactory

    admin = UserFactory(username="jo.admin", roles=[roles.ADMIN], is_staff=True)
    owner = UserFactory(username=OWNER, roles=[roles.MODEL_OWNER])
    model = RegisteredModelFactory(slug=MODEL, name="Jobs model", owner=owner)
    ModelVersionFactory(model=model, version=VERSION, created_by=owner)
    MetricFactory(name="auc", direction="higher_is_better", created_by=admin)
    url = os.environ.get("MLGOV_TEST_WEBHOOK_URL", "")
    if url:
        WebhookEndpoint.objects.create(
            name="fault-test listener",
            url=url,
            secret="fault-test-secret-0123456789",  # a test listener's secret
            events=["incident.opened"],
            created_by=admin,
        )
    print(json.dumps({"token": api_token_key(owner), "model": MODEL, "version": VERSION}))
