"""The parties of an invoice as snapshots (§ 14 Abs. 4 Nr. 1 and 2 UStG): issuer and recipient.

An invoice keeps the names, addresses and tax ids as they were when it was issued; later changes of
the organization or of ``settings.BILLING_ISSUER`` never change an issued invoice.
"""

from django.conf import settings

__all__ = ["ISSUER_KEYS", "RECIPIENT_KEYS", "issuer_snapshot", "recipient_snapshot"]

ISSUER_KEYS = ("key", "name", "street", "postal_code", "city", "country", "vat_id", "tax_number", "email")
RECIPIENT_KEYS = ("name", "street", "postal_code", "city", "country", "vat_id", "tax_number")


def issuer_snapshot() -> dict:
    """The portal operator as issuer, from ``settings.BILLING_ISSUER`` (missing keys as "")."""
    issuer = settings.BILLING_ISSUER
    return {key: str(issuer.get(key) or "") for key in ISSUER_KEYS}


def recipient_snapshot(organization) -> dict:
    """``{name, street, postal_code, city, country, vat_id, tax_number}`` of ``organization``."""
    return {key: getattr(organization, key) or "" for key in RECIPIENT_KEYS}
