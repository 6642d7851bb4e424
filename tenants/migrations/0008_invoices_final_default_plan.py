import datetime
from decimal import Decimal

from django.db import migrations

from portal.db import append_only_trigger


def default_plan(apps, schema_editor):
    """The signing-unit subscription with the plan operators know (reference/domain.md §10.1)."""
    Product = apps.get_model("tenants", "Product")
    PricePlan = apps.get_model("tenants", "PricePlan")
    product, _created = Product.objects.get_or_create(
        code="TSE-SUB", defaults={"name": "Signiereinheit (TSE) – Abonnement", "kind": "signing_unit",
                                  "description": "Je aktiver TSE und Monat: 9,00 EUR für die ersten 10.000 "
                                                 "Transaktionen, je weitere angefangene 10.000 9,00 EUR, "
                                                 "höchstens 45,00 EUR.",
                                  "vat_rate": Decimal("19.00")})
    PricePlan.objects.get_or_create(
        product=product, valid_from=datetime.date(2020, 1, 1),
        defaults={"base_fee": Decimal("9.00"), "included_transactions": 10000, "block_size": 10000,
                  "block_price": Decimal("9.00"), "max_blocks": 5, "term_months": 12})


class Migration(migrations.Migration):
    """Issued invoices and their lines are final (corrections are credit notes); the default plan."""

    dependencies = [("tenants", "0007_entitlements_billing"), ("portal", "0003_logentry_append_only")]

    operations = [
        append_only_trigger("tenants_invoice"),
        append_only_trigger("tenants_invoiceline"),
        migrations.RunPython(default_plan, migrations.RunPython.noop),
    ]
