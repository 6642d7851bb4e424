"""The stdnum-based validators of company master data and where they are used."""

import pytest
from django.core.exceptions import ValidationError
from stdnum.de import stnr
from stdnum.eu import vat

from tenants import validators
from tenants.validators import (
    normalize_tax_number,
    normalize_vat_id,
    normalize_w_idnr,
    validate_tax_number,
    validate_vat_id,
    validate_w_idnr,
)

# --- tax number (Steuernummer) --------------------------------------------------------------

VALID_TAX_NUMBERS = [
    "21/815/08150",  # Berlin, Bremen, Hamburg, Niedersachsen, RLP, SH: FF/BBB/UUUUP
    "181/815/08155",  # Bayern: FFF/BBB/UUUUP
    "214/5678/1234",  # Nordrhein-Westfalen: FFF/BBBB/UUUP
    "99015/12345",  # Baden-Württemberg: FFBBB/UUUUP
    "013 815 08153",  # Hessen: 0FF BBB UUUUP
    "201/123/12340",  # Sachsen: 2FF/BBB/UUUUP
    "151/815/08156",  # Thüringen: 1FF/BBB/UUUUP
    "1121081508150",  # federal 13-digit format, Berlin (11FF0BBBUUUUP)
    "9181081508155",  # federal 13-digit format, Bayern (9FFF0BBBUUUUP)
    "5214056781234",  # federal 13-digit format, NRW (5FFF0BBBBUUUP)
    "4151081508156",  # federal 13-digit format, Thüringen
]
INVALID_TAX_NUMBERS = [
    "12345",  # too short
    "123456789",  # 9 digits
    "123456789012",  # 12 digits
    "12345678901234",  # 14 digits
    "4151181508156",  # 13 digits but no "0" after the office number
    "6612081508150",  # 13 digits with an unknown state prefix
    "21/815/0815X",  # a letter
    "DE136695976",  # a VAT id is not a tax number
]


@pytest.mark.parametrize("value", VALID_TAX_NUMBERS)
def test_it_accepts_tax_numbers_of_every_state_layout_and_the_federal_format(value):
    validate_tax_number(value)
    assert validators.is_valid_tax_number(value)


@pytest.mark.parametrize("value", INVALID_TAX_NUMBERS)
def test_it_refuses_malformed_tax_numbers(value):
    with pytest.raises(ValidationError) as info:
        validate_tax_number(value)
    assert info.value.code in ("invalid_tax_number", "invalid_tax_number_length")
    assert not validators.is_valid_tax_number(value)


@pytest.mark.usefixtures("in_english")
def test_the_length_message_names_both_formats():
    with pytest.raises(ValidationError) as info:
        validate_tax_number("123456789")
    message = info.value.messages[0]
    assert "10 or 11" in message and "13" in message and "21/815/08150" in message


def test_blank_tax_number_is_not_an_error_of_the_format():
    validate_tax_number("")  # a missing tax number is a data-check finding, not a format error


def test_tax_numbers_are_kept_as_written_by_the_tax_office():
    assert normalize_tax_number("  21/815/08150 ") == "21/815/08150"
    assert normalize_tax_number("21  815\t08150") == "21 815 08150"
    assert normalize_tax_number("21–815–08150") == "21-815-08150"  # en dashes become ASCII


# --- VAT id ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["DE136695976", "DE812345673", "ATU13585627", "FR40303265045", "NL004495445B01"])
def test_it_accepts_vat_ids_with_correct_check_digits(value):
    validate_vat_id(value)


@pytest.mark.usefixtures("in_english")
@pytest.mark.parametrize("value", ["DE123456789", "DE136695977", "ATU13585626", "FR41303265045"])
def test_it_refuses_vat_ids_with_a_wrong_check_digit(value):
    assert not vat.is_valid(value)
    with pytest.raises(ValidationError) as info:
        validate_vat_id(value)
    assert info.value.code == "invalid_vat_id_checksum"
    assert "check digit" in info.value.messages[0]


@pytest.mark.parametrize("value", ["DE12", "XX123456789", "US123456789", "DE1366959761", "136695976"])
def test_it_refuses_vat_ids_of_the_wrong_format_or_country(value):
    with pytest.raises(ValidationError) as info:
        validate_vat_id(value)
    assert info.value.code == "invalid_vat_id"
    assert validators.VAT_ID_EXAMPLE in info.value.messages[0]


def test_vat_ids_are_normalized():
    assert normalize_vat_id(" de 136 695 976 ") == "DE136695976"
    assert normalize_vat_id("xx 12") == "XX12"


# --- W-IdNr. --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["DE136695976-00001", "DE812345673-12345"])
def test_it_accepts_w_idnr(value):
    validate_w_idnr(value)
    assert validators.is_valid_w_idnr(value)


@pytest.mark.parametrize("value, code", [
    ("DE136695976", "invalid_w_idnr"),  # no distinguishing suffix
    ("DE136695976-0001", "invalid_w_idnr"),  # four digits
    ("DE136695976-000001", "invalid_w_idnr"),  # six digits
    ("DE136695976/00001", "invalid_w_idnr"),
    ("AT136695976-00001", "invalid_w_idnr"),
    ("DE13669597-00001", "invalid_w_idnr"),
    ("DE123456789-00001", "invalid_w_idnr_checksum"),  # the model's old help-text example
    ("DE136695977-00001", "invalid_w_idnr_checksum"),
])
def test_it_refuses_malformed_w_idnr(value, code):
    with pytest.raises(ValidationError) as info:
        validate_w_idnr(value)
    assert info.value.code == code
    assert not validators.is_valid_w_idnr(value)


def test_w_idnr_is_normalized():
    assert normalize_w_idnr(" de136695976-00001 ") == "DE136695976-00001"


def test_the_examples_in_the_messages_are_valid():
    validate_tax_number(validators.TAX_NUMBER_EXAMPLE)
    validate_vat_id(validators.VAT_ID_EXAMPLE)
    validate_w_idnr(validators.W_IDNR_EXAMPLE)


# --- the SQL form of the tax-number check agrees with stdnum -----------------------------------


def _sql_regex_view(value: str) -> bool:
    import re

    compact = value
    for char in validators.STNR_SEPARATORS:
        compact = compact.replace(char, "")
    return bool(re.search(validators.TAX_NUMBER_COMPACT_REGEX, compact))


def test_the_tax_number_regex_matches_stdnum_for_every_prefix_and_length():
    samples = [*VALID_TAX_NUMBERS, *INVALID_TAX_NUMBERS]
    for length in (9, 10, 11, 12, 13, 14):
        for prefix in range(100):
            digits = f"{prefix:02d}" + "3" * (length - 2)
            samples += [digits, digits[:4] + "0" + digits[5:], digits[:5] + "/" + digits[5:]]
    for value in samples:
        assert _sql_regex_view(value) == stnr.is_valid(value), value
