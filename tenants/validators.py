"""Validation of company master data, shared by forms, API serializers, services and the data check.

Tax numbers, VAT ids and W-IdNr. are checked with python-stdnum:

- Steuernummer: ``stdnum.de.stnr`` — the regional formats of every federal state (10 or 11
  digits, written with or without ``/``, spaces, ``-``, ``.``) and the 13-digit federal format
  (ELSTER). stdnum checks the layout per state; the tax offices' check digit is not public for
  every state, so it is not verified.
- USt-IdNr. / VAT id: ``stdnum.eu.vat`` — the format *and the check digit* of every EU member
  state (``DE`` ISO 7064 MOD 11,10, …).
- W-IdNr. (Wirtschafts-Identifikationsnummer): ``DE`` + 9 digits + ``-`` + 5 digits, the first
  part a valid German VAT id.

The values are stored as entered (tax number: as issued by the tax office; VAT id and W-IdNr.:
upper case without spaces).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum import util as stdnum_util
from stdnum.de import stnr as de_stnr
from stdnum.de import vat as de_vat
from stdnum.eu import vat as eu_vat

__all__ = [
    "STNR_SEPARATORS",
    "TAX_NUMBER_COMPACT_REGEX",
    "W_IDNR_REGEX",
    "is_valid_tax_number",
    "is_valid_vat_id",
    "is_valid_w_idnr",
    "normalize_tax_number",
    "normalize_vat_id",
    "normalize_w_idnr",
    "validate_country_code",
    "validate_german_postal_code",
    "validate_tax_number",
    "validate_vat_id",
    "validate_w_idnr",
]

# Examples shown in messages; each passes its own check (tests assert that).
TAX_NUMBER_EXAMPLE = "21/815/08150"
VAT_ID_EXAMPLE = "DE136695976"
W_IDNR_EXAMPLE = "DE136695976-00001"

# The characters stdnum.de.stnr.compact() removes before it checks a tax number.
STNR_SEPARATORS = " -./,"
# stdnum.de.stnr as one regular expression over the compact number, for the data check in SQL
# (``tenants.services.premises``): any 10 or 11 digits match one of the regional formats (e.g.
# Berlin ``FFBBBUUUUP``, Bavaria ``FFFBBBUUUUP``); the 13-digit federal format is the state
# prefix + office + ``0`` + district + serial + check digit. ``tests/tenants/premises`` checks
# that this expression and stdnum agree.
TAX_NUMBER_COMPACT_REGEX = (
    r"^([0-9]{10,11}|(10|11|21|22|23|24|26|27|28|30|31|32|40|41)[0-9]{2}0[0-9]{8}|[59][0-9]{3}0[0-9]{8})$"
)
W_IDNR_REGEX = re.compile(r"^(DE[0-9]{9})-([0-9]{5})$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


# --- tax number (Steuernummer) --------------------------------------------------------------


def normalize_tax_number(value: str) -> str:
    """The tax number as the tax office writes it, without surrounding or doubled spaces; look-alike
    characters (typographic dashes, full-width digits) become ASCII, as stdnum reads them."""
    return " ".join(stdnum_util.clean(value or "").split())


def is_valid_tax_number(value: str) -> bool:
    return bool(value) and de_stnr.is_valid(value)


def validate_tax_number(value: str) -> None:
    """A German tax number in a regional format (10/11 digits) or the 13-digit federal format."""
    if not value:
        return
    try:
        de_stnr.validate(value)
    except stdnum_exceptions.InvalidLength:
        raise ValidationError(
            _("A tax number has 10 or 11 digits (regional format, e.g. %(example)s) or 13 digits (federal format)."),
            code="invalid_tax_number_length", params={"example": TAX_NUMBER_EXAMPLE},
        ) from None
    except stdnum_exceptions.ValidationError:
        raise ValidationError(
            _("Not a valid tax number (Steuernummer) of a German tax office, e.g. %(example)s."),
            code="invalid_tax_number", params={"example": TAX_NUMBER_EXAMPLE},
        ) from None


# --- VAT id (USt-IdNr.) ---------------------------------------------------------------------


def normalize_vat_id(value: str) -> str:
    value = "".join((value or "").split()).upper()
    try:
        return eu_vat.compact(value)
    except stdnum_exceptions.ValidationError:
        return value.replace("-", "").replace(".", "")


def is_valid_vat_id(value: str) -> bool:
    return bool(value) and eu_vat.is_valid(value)


def validate_vat_id(value: str) -> None:
    """An EU VAT id with a correct check digit (``DE`` + 9 digits for Germany)."""
    if not value:
        return
    try:
        eu_vat.validate(value)
    except stdnum_exceptions.InvalidChecksum:
        raise ValidationError(
            _("The check digit of this VAT id is wrong. Please check the number (e.g. %(example)s)."),
            code="invalid_vat_id_checksum", params={"example": VAT_ID_EXAMPLE},
        ) from None
    except stdnum_exceptions.ValidationError:
        raise ValidationError(
            _("Not a valid VAT id of an EU member state (e.g. %(example)s)."),
            code="invalid_vat_id", params={"example": VAT_ID_EXAMPLE},
        ) from None


# --- W-IdNr. (Wirtschafts-Identifikationsnummer) --------------------------------------------


def normalize_w_idnr(value: str) -> str:
    return "".join((value or "").split()).upper()


def is_valid_w_idnr(value: str) -> bool:
    match = W_IDNR_REGEX.match(value or "")
    return match is not None and de_vat.is_valid(match.group(1))


def validate_w_idnr(value: str) -> None:
    """``DE`` + 9 digits + ``-`` + 5 digits; the first part is a valid German VAT id."""
    if not value:
        return
    match = W_IDNR_REGEX.match(value)
    if match is None:
        raise ValidationError(
            _("A W-IdNr. is DE, 9 digits, a hyphen and 5 digits, e.g. %(example)s."),
            code="invalid_w_idnr", params={"example": W_IDNR_EXAMPLE},
        )
    if not de_vat.is_valid(match.group(1)):
        raise ValidationError(
            _("The first part of the W-IdNr. is not a valid German VAT id (wrong check digit)."),
            code="invalid_w_idnr_checksum",
        )


# --- addresses ------------------------------------------------------------------------------


def validate_country_code(value: str) -> None:
    if not COUNTRY_CODE.match(value or ""):
        raise ValidationError(_("Use the two-letter ISO country code, e.g. DE."), code="invalid_country")


def validate_german_postal_code(country: str, postal_code: str) -> None:
    if (country or "DE").upper() == "DE" and not re.fullmatch(r"[0-9]{5}", postal_code or ""):
        raise ValidationError(_("A German postal code has five digits."), code="invalid_postal_code")
