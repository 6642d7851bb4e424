from django.db import migrations

SQL = """
CREATE TRIGGER tenants_contractsignature_append_only BEFORE UPDATE OR DELETE ON tenants_contractsignature
    FOR EACH ROW EXECUTE FUNCTION portal_forbid_change();
"""
DROP_SQL = "DROP TRIGGER IF EXISTS tenants_contractsignature_append_only ON tenants_contractsignature;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    """Contract signatures are evidence: append-only, enforced by a trigger on PostgreSQL."""

    dependencies = [("tenants", "0002_partner_onboarding"), ("portal", "0003_logentry_append_only")]

    operations = [migrations.RunPython(forward, backward)]
