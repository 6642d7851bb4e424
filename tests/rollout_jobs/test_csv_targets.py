"""Targets from CSV: encoding, delimiter, columns, empty cells, errors with row paths."""

import pytest

from tenants.services.configuration.errors import ConfigurationError
from tenants.services.rollout.csv_targets import parse_targets


def test_semicolons_with_a_bom():
    data = "\ufeffoperator;store;registers\nOP-1;B01;3\nOP-2;B02;\n".encode()
    assert parse_targets(data) == [{"operator": "OP-1", "variables": {"store": "B01", "registers": "3"}},
                                   {"operator": "OP-2", "variables": {"store": "B02"}}]


def test_commas_quotes_and_blank_lines():
    data = b'reference,name,city\r\n"KD 7","M\xc3\xbcller, Laden",K\xc3\xb6ln\r\n\r\n,,\r\nKD-8,,\r\n'
    assert parse_targets(data) == [{"operator": "KD 7", "variables": {"name": "Müller, Laden", "city": "Köln"}},
                                   {"operator": "KD-8", "variables": {}}]


@pytest.mark.parametrize("column", ["operator", "operator_id", "Reference", "OPERATOR"])
def test_the_operator_column_names(column):
    assert parse_targets(f"{column};store\n0b7e3f0c-52a4-4d0e-9a43-0c1a3c2f6d11;X\n".encode()) == [
        {"operator": "0b7e3f0c-52a4-4d0e-9a43-0c1a3c2f6d11", "variables": {"store": "X"}}]


def test_cells_are_trimmed_and_short_rows_padded():
    assert parse_targets(b"operator;store;city\n  OP-1 ; S1 \n") == [{"operator": "OP-1", "variables": {"store": "S1"}}]


def errors_of(data: bytes) -> list[tuple[str, str]]:
    with pytest.raises(ConfigurationError) as caught:
        parse_targets(data)
    assert (caught.value.status, caught.value.code) == (400, "E_CSV_INVALID")
    return [(error["path"], error["code"]) for error in caught.value.errors]


def test_row_errors_name_row_and_column():
    assert errors_of(b"operator;store\nOP-1;A\n;B\nOP-3;C;extra\n") == [
        ("/rows/1/operator", "E_REQUIRED"), ("/rows/2", "E_TOO_MANY_CELLS")]


@pytest.mark.parametrize(("data", "expected"), [
    (b"", [("/header", "E_REQUIRED")]),
    (b"store;city\nA;B\n", [("/header/operator", "E_REQUIRED")]),
    (b"operator;reference\nA;B\n", [("/header/operator", "E_DUPLICATE_COLUMN")]),
    (b"operator;store;store\nA;B;C\n", [("/header/2", "E_DUPLICATE_COLUMN")]),
    (b"operator;;city\nA;B;C\n", [("/header/1", "E_REQUIRED")]),
    (b"operator;store\n", [("/rows", "E_REQUIRED")]),
    ("operator;store\nOP-1;M\u00fcller\n".encode("latin-1"), [("/", "E_ENCODING")]),
])
def test_file_errors(data, expected):
    assert errors_of(data) == expected


def test_at_most_5000_rows():
    rows = "".join(f"OP-{i};S\n" for i in range(5001))
    assert errors_of(f"operator;store\n{rows}".encode()) == [("/rows", "E_TOO_MANY")]
    assert len(parse_targets(f"operator;store\n{rows[: rows.index('OP-5000')]}".encode())) == 5000
