"""Moving a version between stages: the service, the API and the browser give the same answer,
for every role, every kind of version and every target stage.

Each path is asked the same question about the same version (with the right password: taking
the production version out of production is signed, see test_views_versions.py), inside a
savepoint rolled back after the answer, and the answers are compared with each other and
with the rule written out here once more, independently of
``apps.inventory.rules.may_move_version``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, VersionStage
from apps.inventory.models import ModelVersion
from tests.approvals.helpers import PASSWORD
from tests.factories import ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

MOVED, FORBIDDEN, REFUSED = "moved", "forbidden", "refused"

# persona -> (edits the model's unapproved versions, promotes versions)
PERSONAS = {
    "admin_user": (True, True),
    "validator": (False, True),
    "model_owner": (True, False),
    "developer": (True, False),
    "business_owner": (False, False),
    "auditor": (False, False),
    "viewer": (False, False),
}


@dataclass(frozen=True)
class Kind:
    """A version to move: its stage, whether it is approved, and the model's status."""

    name: str
    stage: str
    locked: bool
    model_status: str


KINDS = [
    Kind("draft", VersionStage.DEVELOPMENT, False, LifecycleStatus.DEVELOPMENT),
    Kind("staged", VersionStage.STAGING, False, LifecycleStatus.VALIDATION),
    Kind("archived draft", VersionStage.ARCHIVED, False, LifecycleStatus.DEVELOPMENT),
    Kind("approved in staging", VersionStage.STAGING, True, LifecycleStatus.APPROVED),
    Kind("live", VersionStage.PRODUCTION, True, LifecycleStatus.PRODUCTION),
    Kind("live, model stepped back", VersionStage.PRODUCTION, True, LifecycleStatus.APPROVED),
]


def expected(persona: str, kind: Kind, target: str) -> str:
    """The rule: an approved version is moved by those who promote, an unapproved one by
    those who edit it (asking for production by either); production only by a promotion;
    a model in production keeps its production version."""
    edits, promotes = PERSONAS[persona]
    may_ask = promotes if kind.locked else (edits or promotes)
    if not may_ask:
        return FORBIDDEN
    if target == kind.stage or target == VersionStage.PRODUCTION:
        return REFUSED
    if kind.stage == VersionStage.PRODUCTION and kind.model_status == LifecycleStatus.PRODUCTION:
        return REFUSED
    may_move = promotes if kind.locked else edits
    return MOVED if may_move else FORBIDDEN


def _by_service(user, version, target) -> str:
    try:
        services.model_version_set_stage(
            actor=user.user, version=version, stage=target, password=PASSWORD
        )
    except PermissionDenied:
        return FORBIDDEN
    except ApplicationError:
        return REFUSED
    return MOVED


def _by_api(user, version, target) -> str:
    url = reverse(
        "api:model-version-stage",
        kwargs={"model_slug": version.model.slug, "version": version.version},
    )
    body = {"stage": target, "password": PASSWORD}
    code = user.api.post(url, body, format="json").status_code
    return {200: MOVED, 403: FORBIDDEN, 400: REFUSED}.get(code, f"HTTP {code}")


def _by_browser(user, version, target) -> str:
    url = reverse(
        "inventory:version_stage", kwargs={"slug": version.model.slug, "version": version.version}
    )
    code = user.browser.post(url, {"stage": target, "password": PASSWORD}).status_code
    # A refused move shows the form again with its message (200); a move redirects.
    return {302: MOVED, 403: FORBIDDEN, 200: REFUSED}.get(code, f"HTTP {code}")


PATHS = {"service": _by_service, "api": _by_api, "browser": _by_browser}


@dataclass
class Asker:
    """A persona, signed in to the API and the browser."""

    user: object
    api: APIClient
    browser: Client


def _answer(path, asker, version, target) -> tuple[str, str]:
    """The path's answer and the stage the version is in afterwards; nothing is kept."""
    with transaction.atomic():
        answer = PATHS[path](asker, version, target)
        stage = ModelVersion.objects.get(pk=version.pk).stage
        transaction.set_rollback(True)
    return answer, stage


@pytest.fixture
def people(request, other_model_owner) -> dict[str, Asker]:
    users = {name: request.getfixturevalue(name) for name in PERSONAS if name != "developer"}
    users["developer"] = other_model_owner
    askers = {}
    for name, user in users.items():
        api, browser = APIClient(), Client()
        api.force_authenticate(user)
        browser.force_login(user)
        askers[name] = Asker(user=user, api=api, browser=browser)
    return askers


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_service_api_and_browser_agree_for_every_role_and_move(
    kind, people, model_owner, business_owner
):
    model = RegisteredModelFactory(
        slug="staged-model",
        owner=model_owner,
        business_owner=business_owner,
        status=kind.model_status,
        risk_tier=2,
        eu_ai_act_class=EUAIActClass.MINIMAL,
    )
    model.developers.add(people["developer"].user)
    version = ModelVersionFactory(
        model=model,
        version="1.0.0",
        stage=kind.stage,
        approved_at=timezone.now() if kind.locked else None,
    )
    disagreements = []
    for persona, user in people.items():
        for target in VersionStage.values:
            want = expected(persona, kind, target)
            for path in PATHS:
                got, stage = _answer(path, user, version, target)
                after = target if want == MOVED else kind.stage
                if (got, stage) != (want, after):
                    disagreements.append(f"{persona} {kind.stage}->{target} {path}: {got}")
    assert not disagreements, "\n".join(disagreements)


def test_the_rule_is_not_vacuous():
    """Every answer occurs, so the comparison above can tell the paths apart."""
    answers = {
        expected(persona, kind, target)
        for persona in PERSONAS
        for kind in KINDS
        for target in VersionStage.values
    }
    assert answers == {MOVED, FORBIDDEN, REFUSED}
