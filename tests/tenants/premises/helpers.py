"""Data of the premises tests."""

from tenants.models import Organization

VALID_TAX_NUMBER = "21/815/08150"  # Berlin / Schleswig-Holstein layout FF/BBB/UUUUP
VALID_VAT_ID = "DE136695976"

ADDRESS = {"street": "Hauptstraße", "house_number": "1", "postal_code": "10115", "city": "Berlin", "country": "DE"}


def betriebsstaette_data(**overrides) -> dict:
    return {"name": "Café Mitte", **ADDRESS, "remarks": "", **overrides}


def outlet_data(**overrides) -> dict:
    return {"name": "Filiale Mitte", **ADDRESS, **overrides}


def complete_company_data(organization: Organization) -> Organization:
    Organization.unscoped.filter(pk=organization.pk).update(
        legal_form="gmbh", tax_number=VALID_TAX_NUMBER, vat_id=VALID_VAT_ID, street="Hauptstraße 1",
        postal_code="10115", city="Berlin", country="DE",
    )
    organization.refresh_from_db()
    return organization
