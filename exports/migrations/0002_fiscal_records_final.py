from django.db import migrations

from portal.db import append_only_trigger, postgresql_only

CLOSINGS = """
CREATE OR REPLACE FUNCTION exports_forbid_completed_closing_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.state = 'COMPLETED' THEN
        RAISE EXCEPTION 'exports_cashpointclosing: an accepted closing (and any closing) cannot be changed or deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER exports_cashpointclosing_final BEFORE UPDATE OR DELETE ON exports_cashpointclosing
    FOR EACH ROW EXECUTE FUNCTION exports_forbid_completed_closing_change();
"""
CLOSINGS_BACK = """
DROP TRIGGER IF EXISTS exports_cashpointclosing_final ON exports_cashpointclosing;
DROP FUNCTION IF EXISTS exports_forbid_completed_closing_change();
"""
ARCHIVES = """
CREATE OR REPLACE FUNCTION exports_protect_archive() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.retain_until IS NOT NULL AND OLD.retain_until >= current_date THEN
            RAISE EXCEPTION 'exports_dsfinvkexport: the archive must be kept until %', OLD.retain_until
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state = 'COMPLETED' AND (NEW.sha256 <> OLD.sha256 OR NEW.file <> OLD.file OR NEW.size <> OLD.size
            OR NEW.state <> OLD.state OR NEW.retain_until IS DISTINCT FROM OLD.retain_until) THEN
        RAISE EXCEPTION 'exports_dsfinvkexport: a stored archive is final'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER exports_dsfinvkexport_protect BEFORE UPDATE OR DELETE ON exports_dsfinvkexport
    FOR EACH ROW EXECUTE FUNCTION exports_protect_archive();
"""
ARCHIVES_BACK = """
DROP TRIGGER IF EXISTS exports_dsfinvkexport_protect ON exports_dsfinvkexport;
DROP FUNCTION IF EXISTS exports_protect_archive();
"""


class Migration(migrations.Migration):
    """Fiscal records: master-data revisions and closing transactions append-only, accepted closings final,
    stored archives final and kept until their retention date."""

    dependencies = [("exports", "0001_dsfinvk"), ("portal", "0003_logentry_append_only")]

    operations = [
        append_only_trigger("exports_masterdatarevision"),
        append_only_trigger("exports_closingtransaction"),
        postgresql_only(CLOSINGS, CLOSINGS_BACK),
        postgresql_only(ARCHIVES, ARCHIVES_BACK),
    ]
