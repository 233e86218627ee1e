"""Deploy check (``manage.py check --deploy``): the application must not connect to
PostgreSQL as a superuser or as the owner of the audit table, since either can rewrite the
trail and switch off its triggers (README, "Database roles"). Silent on SQLite."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError, connections

from apps.audit.dbroles import role_problems

HINT = (
    "Run the app as a role that owns nothing (DATABASE_URL) and migrate as the owner role, "
    "then grant the app role its rights with `manage.py audit_grant_app_role` "
    '(README, "Database roles").'
)


@register(Tags.security, Tags.database, deploy=True)
def app_database_role(app_configs=None, databases=None, **kwargs):
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            problems = role_problems(cursor)
    except DatabaseError as exc:
        return [
            Warning(
                f"The application's database role could not be checked ({exc}).".replace("\n", " "),
                id="audit.W002",
            )
        ]
    return [
        Warning(
            f"The application {problem}: the audit trail can be rewritten unseen.",
            hint=HINT,
            id="audit.W001",
        )
        for problem in problems
    ]
