from django.db import migrations

from portal.db import postgresql_only

FORWARD = """
CREATE OR REPLACE FUNCTION tse_forbid_finished_transaction_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.state <> 'ACTIVE' THEN
        RAISE EXCEPTION 'tse_tsetransaction: a finished or cancelled transaction (and any deletion) is final'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tse_tsetransaction_final BEFORE UPDATE OR DELETE ON tse_tsetransaction
    FOR EACH ROW EXECUTE FUNCTION tse_forbid_finished_transaction_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS tse_tsetransaction_final ON tse_tsetransaction;
DROP FUNCTION IF EXISTS tse_forbid_finished_transaction_change();
"""


class Migration(migrations.Migration):
    """TSE transactions are fiscal records: once FINISHED or CANCELLED no column changes, none is deleted."""

    dependencies = [("tse", "0004_outages_exports_connections")]

    operations = [postgresql_only(FORWARD, BACKWARD)]
