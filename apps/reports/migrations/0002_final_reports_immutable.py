"""On PostgreSQL, refuse in the database itself any change to a finished report and any
deletion of a report (the application refuses them too, see Report.save)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION mlgov_report_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'reports cannot be deleted (report %%)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status IN ('done', 'failed') THEN
        RAISE EXCEPTION 'report %% is %%; it can no longer change', OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS report_immutable ON reports_report;
CREATE TRIGGER report_immutable
    BEFORE UPDATE OR DELETE ON reports_report
    FOR EACH ROW EXECUTE FUNCTION mlgov_report_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS report_immutable ON reports_report;
DROP FUNCTION IF EXISTS mlgov_report_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
