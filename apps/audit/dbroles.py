"""PostgreSQL roles: the application role may append to the audit trail, never rewrite it.

In production two roles reach the database (README, "Database roles"):

- the **owner** (migration) role owns every table; it runs ``manage.py migrate`` and then
  ``manage.py audit_grant_app_role``;
- the **application** role (web, workers, beat) owns nothing. It reads and writes the other
  tables as usual, but may only SELECT and INSERT audit events (no UPDATE, DELETE or
  TRUNCATE) and never delete the chain head. Not being the owner, it cannot ALTER the tables
  or disable their triggers, and not being a superuser it cannot switch triggers off with
  ``session_replication_role`` either.

``grant_statements`` is what the owner runs (idempotent: it first revokes whatever the role had
on the tables, so a rerun after each migration also removes rights granted by mistake).
``role_problems`` is what the deploy check asks of the connection the app uses.
"""

from __future__ import annotations

from psycopg import sql

AUDIT_TABLE = "audit_auditevent"
HEAD_TABLE = "audit_auditchainhead"
MIGRATIONS_TABLE = "django_migrations"
TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


class RoleError(Exception):
    """The role cannot be used as the application role; the message says why."""


def grant_statements(*, role: str, owner: str, schema: str, database: str) -> list[sql.Composed]:
    """The statements the owner runs to give ``role`` exactly the application's rights on the
    tables and sequences of ``schema``, now and for tables ``owner`` creates later."""
    r, o, s = sql.Identifier(role), sql.Identifier(owner), sql.Identifier(schema)

    def table(name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(s, sql.Identifier(name))

    rights = sql.SQL(TABLE_RIGHTS)
    return [
        # TEMPORARY: metric ingestion stages rows in a temporary table.
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(database), r
        ),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(s, r),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(rights, s, r),
        # The audit trail: append and read only. The head row moves forward, never away.
        sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(table(AUDIT_TABLE), r),
        sql.SQL("REVOKE DELETE ON {} FROM {}").format(table(HEAD_TABLE), r),
        # Only the owner migrates.
        sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(table(MIGRATIONS_TABLE), r),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(s, r),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON TABLES TO {}"
        ).format(o, s, rights, r),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} "
            "GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(o, s, r),
    ]


def refusal(cursor, role: str) -> str | None:
    """Why ``role`` must not be the application role (None when it may be): it does not
    exist, is the current (owner) role, a superuser, a member of the owner role, or owns a
    table of the schema."""
    cursor.execute(
        "SELECT rolsuper, pg_has_role(%s, current_user, 'MEMBER'), "
        "EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
        "AND tableowner = %s) FROM pg_roles WHERE rolname = %s",
        [role, role, role],
    )
    row = cursor.fetchone()
    if row is None:
        return f"the role {role} does not exist (create it first: CREATE ROLE {role} LOGIN ...)"
    superuser, member_of_owner, owns_tables = row
    if superuser:
        return f"{role} is a superuser, which can rewrite and un-trigger anything"
    if member_of_owner:
        return f"{role} is (or is a member of) the owner role running this command"
    if owns_tables:
        return f"{role} owns tables in the schema; the owner role must own them all"
    return None


def role_problems(cursor) -> list[str]:
    """What is wrong with the role this connection uses, as the application role: a
    superuser, the audit table's owner (or a member of the owner role), or holding rights
    to rewrite the audit table. Empty when the tables are not there yet (not migrated)."""
    cursor.execute(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user",
    )
    user, superuser = cursor.fetchone()
    problems = []
    if superuser:
        problems.append(f"connects as {user}, a superuser")
    cursor.execute(
        "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s",
        [AUDIT_TABLE],
    )
    row = cursor.fetchone()
    if row is None:
        return problems
    (owner,) = row
    cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [owner])
    member = cursor.fetchone()[0]
    if owner == user:
        problems.append(f"connects as {user}, which owns the audit table {AUDIT_TABLE}")
    elif member and not superuser:
        problems.append(
            f"connects as {user}, a member of {owner}, which owns the audit table {AUDIT_TABLE}"
        )
    elif not superuser:
        cursor.execute(
            "SELECT p FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p "
            "WHERE has_table_privilege(current_user, %s, p)",
            [AUDIT_TABLE],
        )
        rights = [p for (p,) in cursor.fetchall()]
        if rights:
            problems.append(
                f"connects as {user}, which may {', '.join(rights)} the audit table {AUDIT_TABLE}"
            )
    return problems
