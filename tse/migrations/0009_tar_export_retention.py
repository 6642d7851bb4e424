import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

from portal.db import postgresql_only

BERLIN = ZoneInfo("Europe/Berlin")

ARCHIVES = """
CREATE OR REPLACE FUNCTION tse_protect_tar_export() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.retain_until IS NOT NULL AND OLD.retain_until >= current_date THEN
            RAISE EXCEPTION 'tse_tarexport: the archive must be kept until %', OLD.retain_until
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state = 'completed' AND (NEW.sha256 <> OLD.sha256 OR NEW.file <> OLD.file OR NEW.size <> OLD.size
            OR NEW.state <> OLD.state OR NEW.retain_until IS DISTINCT FROM OLD.retain_until) THEN
        RAISE EXCEPTION 'tse_tarexport: a stored archive is final'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tse_tarexport_protect BEFORE UPDATE OR DELETE ON tse_tarexport
    FOR EACH ROW EXECUTE FUNCTION tse_protect_tar_export();
"""
ARCHIVES_BACK = """
DROP TRIGGER IF EXISTS tse_tarexport_protect ON tse_tarexport;
DROP FUNCTION IF EXISTS tse_protect_tar_export();
"""


def fill_retention(apps, schema_editor):
    """Completed exports stored before retention was tracked: 31 December of the 10th year after their data."""
    TarExport = apps.get_model("tse", "TarExport")
    years = getattr(settings, "DSFINVK_RETENTION_YEARS", 10)
    for export in TarExport.objects.filter(state="completed", retain_until__isnull=True).iterator():
        newest = export.finished_at or export.created_at
        if export.end_time is not None and export.end_time < newest:
            newest = export.end_time
        export.retain_until = dt.date(newest.astimezone(BERLIN).year + years, 12, 31)
        export.save(update_fields=["retain_until"])


class Migration(migrations.Migration):
    """TSE TAR exports are archives: kept until their retention date, final once stored."""

    dependencies = [("tse", "0008_certifications_notification_fields")]

    operations = [
        migrations.RunPython(fill_retention, migrations.RunPython.noop),
        postgresql_only(ARCHIVES, ARCHIVES_BACK),
    ]
