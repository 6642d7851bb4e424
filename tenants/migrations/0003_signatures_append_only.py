from django.db import migrations

from portal.db import append_only_trigger


class Migration(migrations.Migration):
    """Contract signatures are evidence: append-only, enforced by a trigger on PostgreSQL."""

    dependencies = [("tenants", "0002_partner_onboarding"), ("portal", "0003_logentry_append_only")]

    operations = [append_only_trigger("tenants_contractsignature")]
