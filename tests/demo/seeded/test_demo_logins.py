"""What `make run` prints about the seeded demo: every figure read from the database."""

import io
import re

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.approvals import selectors as approval_selectors
from apps.approvals.models import ApprovalRequest
from apps.incidents.choices import ACTIVE_STATUSES
from apps.incidents.models import Incident
from apps.inventory.models import RegisteredModel

pytestmark = pytest.mark.django_db


def _logins() -> str:
    out = io.StringIO()
    call_command("demo_logins", "--url", "http://127.0.0.1:8000", stdout=out)
    return out.getvalue()


def _waiting_column(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == 4 and cells[0] != "Username" and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[3]
    return rows


def test_it_prints_what_waits_for_each_account_as_the_inbox_counts_it(seeded_demo):
    waiting = _waiting_column(_logins())
    assert set(waiting) == set(User.objects.values_list("username", flat=True))
    for username, shown in waiting.items():
        user = User.objects.get(username=username)
        if approval_selectors.waiting_q(user=user) is None:
            assert shown == "—", username  # signs nothing (auditor, viewer, model owners)
            continue
        n = approval_selectors.waiting_count(user=user)
        assert shown == ("nothing" if n == 0 else f"{n} sign-off{'s' if n != 1 else ''}")
    # The story leaves requests for both business owners and both validators.
    for username in ("business_owner", "business_owner2", "validator", "validator2"):
        assert waiting[username] not in ("nothing", "—"), username


def test_its_figures_are_the_database_s(seeded_demo):
    text = _logins()
    pending = ApprovalRequest.objects.filter(status="pending").count()
    assert pending >= 5  # the README's story: five requests left waiting
    assert f"{pending} approval requests waiting" in text
    assert f"{RegisteredModel.objects.count()} models" in text
    incidents = Incident.objects.filter(status__in=ACTIVE_STATUSES).count()
    assert f"{incidents} open incident" in text


def test_seed_demo_prints_nothing_at_verbosity_zero(seeded_demo):
    out = io.StringIO()
    call_command("seed_demo", verbosity=0, stdout=out)
    assert out.getvalue() == ""
