from django.db import migrations

from portal.db import postgresql_only

IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION tenants_outlet_number_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.number IS DISTINCT FROM OLD.number THEN
        RAISE EXCEPTION 'the number of outlet % is immutable (% -> %)', OLD.public_id, OLD.number, NEW.number
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tenants_outlet_number_immutable BEFORE UPDATE ON tenants_outlet
    FOR EACH ROW EXECUTE FUNCTION tenants_outlet_number_immutable();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS tenants_outlet_number_immutable ON tenants_outlet;
DROP FUNCTION IF EXISTS tenants_outlet_number_immutable();
"""



class Migration(migrations.Migration):
    """An outlet number never changes once set; on PostgreSQL a trigger refuses an UPDATE that changes it."""

    dependencies = [("tenants", "0004_initial_contract_texts")]

    operations = [postgresql_only(IMMUTABLE_SQL, DROP_SQL)]
