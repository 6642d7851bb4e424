from django.db import migrations

FORBID_SQL = """
CREATE TRIGGER tse_logmessage_append_only BEFORE UPDATE OR DELETE ON tse_logmessage
    FOR EACH ROW EXECUTE FUNCTION portal_forbid_change();
"""
DROP_SQL = "DROP TRIGGER IF EXISTS tse_logmessage_append_only ON tse_logmessage;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID_SQL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    """Signed log messages are append-only; on PostgreSQL a trigger refuses UPDATE and DELETE."""

    dependencies = [
        ("tse", "0001_initial"),
        ("portal", "0003_logentry_append_only"),
    ]

    operations = [migrations.RunPython(forward, backward)]
