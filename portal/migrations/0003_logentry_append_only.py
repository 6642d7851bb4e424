from django.db import migrations

FORBID_SQL = """
CREATE OR REPLACE FUNCTION portal_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_logentry_append_only BEFORE UPDATE OR DELETE ON portal_logentry
    FOR EACH ROW EXECUTE FUNCTION portal_forbid_change();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS portal_logentry_append_only ON portal_logentry;
DROP FUNCTION IF EXISTS portal_forbid_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID_SQL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    """The audit log is append-only; on PostgreSQL a trigger refuses UPDATE and DELETE."""

    dependencies = [("portal", "0002_initial")]

    operations = [migrations.RunPython(forward, backward)]
