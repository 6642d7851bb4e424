"""Validation of company master data, shared by forms and API serializers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["normalize_vat_id", "validate_german_postal_code", "validate_tax_number", "validate_vat_id"]

VAT_ID = re.compile(r"^[A-Z]{2}[0-9A-Z+*.]{2,12}$")
DE_VAT_ID = re.compile(r"^DE[0-9]{9}$")
TAX_NUMBER = re.compile(r"^[0-9][0-9 /]{8,16}[0-9]$")


def normalize_vat_id(value: str) -> str:
    return (value or "").replace(" ", "").upper()


def validate_vat_id(value: str) -> None:
    if value and (not VAT_ID.match(value) or (value.startswith("DE") and not DE_VAT_ID.match(value))):
        raise ValidationError(_("Not a valid VAT id (e.g. DE123456789)."), code="invalid_vat_id")


def validate_tax_number(value: str) -> None:
    digits = re.sub(r"\D", "", value or "")
    if value and (not TAX_NUMBER.match(value) or not 10 <= len(digits) <= 13):
        raise ValidationError(
            _("Not a valid tax number (10 to 13 digits, e.g. 21/815/08150)."), code="invalid_tax_number"
        )


def validate_german_postal_code(country: str, postal_code: str) -> None:
    if (country or "DE").upper() == "DE" and not re.fullmatch(r"[0-9]{5}", postal_code or ""):
        raise ValidationError(_("A German postal code has five digits."), code="invalid_postal_code")
