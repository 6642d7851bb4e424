import datetime as dt

from django.conf import settings
from django.db import migrations

from portal.db import postgresql_only

BUNDLES = """
CREATE OR REPLACE FUNCTION compliance_protect_bundle() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.retain_until IS NOT NULL AND OLD.retain_until >= current_date THEN
            RAISE EXCEPTION 'compliance_nachschaubundle: the archive must be kept until %', OLD.retain_until
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state = 'COMPLETED' AND (NEW.sha256 <> OLD.sha256 OR NEW.file <> OLD.file OR NEW.size <> OLD.size
            OR NEW.state <> OLD.state OR NEW.retain_until IS DISTINCT FROM OLD.retain_until) THEN
        RAISE EXCEPTION 'compliance_nachschaubundle: a stored archive is final'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER compliance_nachschaubundle_protect BEFORE UPDATE OR DELETE ON compliance_nachschaubundle
    FOR EACH ROW EXECUTE FUNCTION compliance_protect_bundle();
"""
BUNDLES_BACK = """
DROP TRIGGER IF EXISTS compliance_nachschaubundle_protect ON compliance_nachschaubundle;
DROP FUNCTION IF EXISTS compliance_protect_bundle();
"""


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
        postgresql_only(BUNDLES, BUNDLES_BACK),
    ]
