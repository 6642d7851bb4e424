from django.db import migrations

from portal.db import append_only_trigger, postgresql_only

FORBID_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION portal_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    """The audit log is append-only; on PostgreSQL a trigger refuses UPDATE and DELETE."""

    dependencies = [("portal", "0002_initial")]

    operations = [
        postgresql_only(FORBID_FUNCTION_SQL, "DROP FUNCTION IF EXISTS portal_forbid_change();"),
        append_only_trigger("portal_logentry"),
    ]
