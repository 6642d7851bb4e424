import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

from portal.db import retained_archive_trigger

BERLIN = ZoneInfo("Europe/Berlin")

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
        retained_archive_trigger("tse_tarexport", "completed"),
    ]
