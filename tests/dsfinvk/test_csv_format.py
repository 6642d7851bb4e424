"""CSV format of the DSFinV-K tables: header, records, numbers, quoting, refusals."""

import io
from decimal import Decimal

import pytest

from exports.dsfinvk.csv_format import DsfinvkValueError, TableWriter, format_value
from exports.dsfinvk.schema import table

LINES = table("lines.csv")
CLOSING = table("cashpointclosing.csv")


def col(t, name):
    return t.by_name[name]


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("11.9"), "11,90"), (Decimal("-3.21"), "-3,21"), (Decimal("1234567.00"), "1234567,00"),
    (7, "7,00"), (Decimal("0"), "0,00"), (Decimal("-0.00"), "0,00"), (Decimal("5.100"), "5,10"),
])
def test_amounts_have_a_decimal_comma_exactly_two_decimals_and_no_grouping(value, expected):
    assert format_value(col(CLOSING, "Z_SE_ZAHLUNGEN"), value) == expected


def test_quantities_carry_the_declared_five_decimals_and_integers_none():
    assert format_value(col(LINES, "STK_BR"), Decimal("2.5")) == "2,50000"
    assert format_value(col(CLOSING, "Z_NR"), 1000) == "1000"


@pytest.mark.parametrize("value", [1.5, "1,50", True])
def test_numbers_must_be_decimal_or_int(value):
    with pytest.raises(DsfinvkValueError) as raised:
        format_value(col(CLOSING, "Z_SE_ZAHLUNGEN"), value)
    assert raised.value.code == "E_NOT_A_NUMBER" and raised.value.column == "Z_SE_ZAHLUNGEN"


def test_more_decimals_than_declared_are_refused_not_rounded():
    with pytest.raises(DsfinvkValueError) as raised:
        format_value(col(CLOSING, "Z_SE_ZAHLUNGEN"), Decimal("1.005"))
    assert raised.value.code == "E_TOO_MANY_DECIMALS"
    with pytest.raises(DsfinvkValueError):
        format_value(col(CLOSING, "Z_NR"), Decimal("1.5"))


@pytest.mark.parametrize(("value", "expected"), [
    ("Kaffee", "Kaffee"), ("Kaffee; groß", '"Kaffee; groß"'), ('Der "Große"', '"Der ""Große"""'),
    ("zwei\r\nZeilen", '"zwei\r\nZeilen"'), (" Rand", '" Rand"'), (True, "1"), (False, "0"), (None, ""), ("", ""),
])
def test_text_is_quoted_only_where_needed(value, expected):
    assert format_value(col(LINES, "ARTIKELTEXT"), value) == expected


def test_text_longer_than_max_length_is_refused_not_truncated():
    column = col(LINES, "POS_ZEILE")
    assert format_value(column, "x" * column.max_length) == "x" * column.max_length
    with pytest.raises(DsfinvkValueError) as raised:
        format_value(column, "x" * (column.max_length + 1))
    assert raised.value.code == "E_TOO_LONG"
    # characters, not bytes
    assert format_value(column, "ä" * column.max_length) == "ä" * column.max_length


def test_the_writer_writes_header_and_records_with_crlf_and_no_bom():
    out = io.BytesIO()
    writer = TableWriter(table("vat.csv"), out)
    writer.write({"Z_KASSE_ID": "KASSE-01", "Z_ERSTELLUNG": "2026-11-30T22:00:00+01:00", "Z_NR": 7,
                  "UST_SCHLUESSEL": 1, "UST_SATZ": Decimal("19.00"), "UST_BESCHR": "Regelsteuersatz"})
    writer.write({"Z_KASSE_ID": "KASSE-01", "Z_ERSTELLUNG": "2026-11-30T22:00:00+01:00", "Z_NR": 7,
                  "UST_SCHLUESSEL": 2, "UST_SATZ": Decimal("7")})
    assert writer.rows == 2
    assert out.getvalue() == (
        b"Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;UST_SCHLUESSEL;UST_SATZ;UST_BESCHR\r\n"
        b"KASSE-01;2026-11-30T22:00:00+01:00;7;1;19,00;Regelsteuersatz\r\n"
        b"KASSE-01;2026-11-30T22:00:00+01:00;7;2;7,00;\r\n"
    )


def test_an_empty_table_is_its_header_only_and_unknown_columns_are_refused():
    out = io.BytesIO()
    writer = TableWriter(table("references.csv"), out)
    assert out.getvalue().count(b"\r\n") == 1 and out.getvalue().startswith(b"Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;BON_ID")
    with pytest.raises(KeyError):
        writer.write({"Z_KASSE_ID": "K", "NOT_A_COLUMN": "x"})
    assert writer.rows == 0
