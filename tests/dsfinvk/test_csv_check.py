"""The format check accepts what the writer writes and names each kind of broken file."""

import io
from decimal import Decimal

import pytest

from exports.dsfinvk.csv_check import check_table_file
from exports.dsfinvk.csv_format import TableWriter
from exports.dsfinvk.schema import table

VAT = table("vat.csv")
HEADER = b"Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;UST_SCHLUESSEL;UST_SATZ;UST_BESCHR\r\n"
KEY = b"KASSE-01;2026-11-30T22:00:00+01:00;7;"


def _check(data: bytes, t=VAT):
    return check_table_file(t, io.BytesIO(data))


def _written() -> bytes:
    out = io.BytesIO()
    writer = TableWriter(VAT, out)
    for key, rate, text in ((1, Decimal("19"), "Regelsteuersatz"), (2, Decimal("7"), 'Der "ermäßigte"; Satz'),
                            (5, Decimal("0"), "zwei\r\nZeilen")):
        writer.write({"Z_KASSE_ID": "KASSE-01", "Z_ERSTELLUNG": "2026-11-30T22:00:00+01:00", "Z_NR": 7,
                      "UST_SCHLUESSEL": key, "UST_SATZ": rate, "UST_BESCHR": text})
    return out.getvalue()


def test_what_the_writer_writes_passes():
    result = _check(_written())
    assert result.ok, result.problems
    assert result.records == 3


def test_a_header_only_file_passes():
    result = _check(HEADER)
    assert result.ok and result.records == 0


@pytest.mark.parametrize(("data", "code", "column"), [
    (b"\xef\xbb\xbf" + HEADER, "E_BOM", ""),
    (HEADER.replace(b"\r\n", b"\n") + KEY + b"1;19,00;x\n", "E_RECORD_DELIMITER", ""),
    (HEADER + KEY + b"1;19,00;x", "E_RECORD_DELIMITER", ""),
    (HEADER.replace(b"UST_SATZ;UST_BESCHR", b"UST_BESCHR;UST_SATZ"), "E_HEADER", ""),
    (HEADER + KEY + b"1;19,00\r\n", "E_FIELD_COUNT", ""),
    (HEADER + KEY + b"1;1.019,00;x\r\n", "E_NUMBER_FORMAT", "UST_SATZ"),
    (HEADER + KEY + b"1;19.00;x\r\n", "E_NUMBER_FORMAT", "UST_SATZ"),
    (HEADER + KEY + b"1;19,005;x\r\n", "E_NUMBER_FORMAT", "UST_SATZ"),
    (HEADER + KEY + b"1,0;19,00;x\r\n", "E_NUMBER_FORMAT", "UST_SCHLUESSEL"),
    (HEADER + KEY + b"1;19,00;" + b"x" * 56 + b"\r\n", "E_TOO_LONG", "UST_BESCHR"),
    (HEADER + KEY + b"1;19,00;\xff\r\n", "E_ENCODING", ""),
    (HEADER + KEY + b'1;19,00;"offen\r\n', "E_UNTERMINATED_QUOTE", ""),
    (b"", "E_EMPTY_FILE", ""),
])
def test_each_kind_of_broken_file_is_named(data, code, column):
    result = _check(data)
    assert not result.ok
    assert (code, column) in {(p.code, p.column) for p in result.problems}, result.problems


def test_problems_carry_the_record_number_and_are_capped():
    rows = b"".join(KEY + b"1;19.00;x\r\n" for _ in range(250))
    result = check_table_file(VAT, io.BytesIO(HEADER + rows), limit=10)
    assert result.problem_count == 250 and len(result.problems) == 10
    assert [p.record for p in result.problems[:3]] == [2, 3, 4]
