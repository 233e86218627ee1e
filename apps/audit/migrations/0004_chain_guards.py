"""On PostgreSQL, the database itself keeps the audit chain append-only and its head honest.

- TRUNCATE of audit events is refused like UPDATE and DELETE (a statement trigger).
- An inserted event must extend the chain head: the next sequence, linked to the head's hash.
- The head row cannot be deleted or truncated, and an update may only advance it to the last
  event, which must exist with that sequence and hash (never backwards, never to a forged
  pair). Writers still lock the head row first (``audit_record``), so appends stay serial.

Whoever owns the tables can still disable these triggers; in production the application
connects as a role that owns nothing (README, "Database roles"), and signed checkpoints
outside the database catch what an owner or superuser rewrites.
"""

from django.db import migrations

GENESIS = "0" * 64

CREATE = f"""
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION mlgov_audit_event_immutable();

CREATE OR REPLACE FUNCTION mlgov_audit_event_extends_head() RETURNS trigger AS $$
DECLARE
    head_sequence bigint;
    head_hash varchar;
BEGIN
    SELECT sequence, hash INTO head_sequence, head_hash FROM audit_auditchainhead WHERE id = 1;
    IF NOT FOUND THEN
        head_sequence := 0;
        head_hash := '{GENESIS}';
    END IF;
    IF NEW.sequence <> head_sequence + 1 OR NEW.prev_hash <> head_hash THEN
        RAISE EXCEPTION 'an audit event must extend the chain head (expected sequence %% after '
            'hash %%, got sequence %% after hash %%)',
            head_sequence + 1, head_hash, NEW.sequence, NEW.prev_hash
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_event_extends_head ON audit_auditevent;
CREATE TRIGGER audit_event_extends_head
    BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION mlgov_audit_event_extends_head();

CREATE OR REPLACE FUNCTION mlgov_audit_head_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'the audit chain head cannot be removed (%% refused on audit_auditchainhead)',
            TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id <> 1 OR (TG_OP = 'UPDATE' AND OLD.id <> 1) THEN
        RAISE EXCEPTION 'the audit chain has one head row, id 1'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.sequence < OLD.sequence THEN
            RAISE EXCEPTION 'the audit chain head cannot move backwards (from %% to %%)',
                OLD.sequence, NEW.sequence USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.sequence = OLD.sequence AND NEW.hash = OLD.hash THEN
            RETURN NEW;
        END IF;
    END IF;
    IF NEW.sequence = 0 THEN
        IF NEW.hash = '{GENESIS}' AND NOT EXISTS (SELECT 1 FROM audit_auditevent) THEN
            RETURN NEW;
        END IF;
    ELSIF EXISTS (
        SELECT 1 FROM audit_auditevent WHERE sequence = NEW.sequence AND hash = NEW.hash
    ) AND NOT EXISTS (SELECT 1 FROM audit_auditevent WHERE sequence > NEW.sequence) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit chain head must name the last audit event (sequence %% with hash '
        '%% is not it)', NEW.sequence, NEW.hash USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_head_guard ON audit_auditchainhead;
CREATE TRIGGER audit_head_guard
    BEFORE INSERT OR UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION mlgov_audit_head_guard();
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_auditchainhead;
CREATE TRIGGER audit_head_no_truncate
    BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION mlgov_audit_head_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_head_guard ON audit_auditchainhead;
DROP FUNCTION IF EXISTS mlgov_audit_head_guard();
DROP TRIGGER IF EXISTS audit_event_extends_head ON audit_auditevent;
DROP FUNCTION IF EXISTS mlgov_audit_event_extends_head();
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_more_actions")]
    operations = [migrations.RunPython(forwards, backwards)]
