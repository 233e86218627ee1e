"""The schema answers every request when threads ask for it at once in a fresh process, as
gunicorn's threaded workers do just after they start (drf-spectacular's first generation
rewrites shared class attributes; unguarded, seven of eight threads failed with a 500)."""

from __future__ import annotations

import json

from tests.core.fresh_process import run_with_settings

EIGHT_THREADS_AT_ONCE = """
import json, threading, django
django.setup()
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.test.utils import setup_test_environment
from apps.core.api.permissions import HasAnyRole
from mlgov.urls import urlpatterns

setup_test_environment()
# The schema's permission check reads roles from the database; this test is about threads.
HasAnyRole.has_permission = lambda self, request, view: True
view = next(p.callback for p in urlpatterns if getattr(p, "name", "") == "api-schema")
outcomes, barrier = [], threading.Barrier(8)

def ask():
    request = RequestFactory().get("/api/schema/")
    request.user = AnonymousUser()
    barrier.wait()
    try:
        outcomes.append(view(request).status_code)
    except Exception as exc:
        outcomes.append(type(exc).__name__)

threads = [threading.Thread(target=ask) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(outcomes))
"""


def test_eight_threads_asking_at_once_all_get_the_schema(tmp_path):
    result = run_with_settings(EIGHT_THREADS_AT_ONCE, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200] * 8
