"""The head guard (0004) checks that no event follows the head with ``max(sequence)``, not with
``NOT EXISTS (... WHERE sequence > NEW.sequence)``.

PL/pgSQL caches a generic plan for a trigger's queries after a few executions in a session.
For ``sequence > $1`` the generic plan expects a third of the table to match and reads it
sequentially; for the head it matches nothing, so every head update in a long-lived
connection read the whole audit table (40 ms at 300k events, growing with the trail: the
audit extract's growth curve caught it). ``max(sequence)`` is one step down the unique index
whatever the plan. Same rule: an event with the head's sequence exists, so the head names the
last one exactly when that sequence is the maximum.
"""

import importlib

from django.db import migrations

GENESIS = "0" * 64

FUNCTION = f"""
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
    ) AND NEW.sequence = (SELECT max(sequence) FROM audit_auditevent) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit chain head must name the last audit event (sequence %% with hash '
        '%% is not it)', NEW.sequence, NEW.hash USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        guards = importlib.import_module("apps.audit.migrations.0004_chain_guards")
        schema_editor.execute(guards.CREATE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_verification_in_background_and_keyset_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
