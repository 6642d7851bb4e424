import datetime as dt

from django.conf import settings
from django.db import migrations

from portal.db import retained_archive_trigger


def fill_retention(apps, schema_editor):
    """Completed bundles without a retention date: 31 December of the 10th year after the end of their period."""
    NachschauBundle = apps.get_model("compliance", "NachschauBundle")
    years = getattr(settings, "DSFINVK_RETENTION_YEARS", 10)
    for bundle in NachschauBundle.objects.filter(state="COMPLETED", retain_until__isnull=True).iterator():
        bundle.retain_until = dt.date(bundle.date_to.year + years, 12, 31)
        bundle.save(update_fields=["retain_until"])


class Migration(migrations.Migration):
    """Kassen-Nachschau bundles are archives: kept until their retention date, final once stored."""

    dependencies = [("compliance", "0001_compliance_centre")]

    operations = [
        migrations.RunPython(fill_retention, migrations.RunPython.noop),
        retained_archive_trigger("compliance_nachschaubundle", "COMPLETED"),
    ]
