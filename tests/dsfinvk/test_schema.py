"""The catalogue comes from the official index.xml, shipped byte for byte."""

from pathlib import Path

import pytest

from exports.dsfinvk.schema import DATA_DIR, DTD_FILE, INDEX_FILE, load_tables, table

SHARED = Path(__file__).resolve().parents[3] / "shared" / "dsfinvk"

FILES = ["cashpointclosing.csv", "location.csv", "cashregister.csv", "slaves.csv", "pa.csv", "tse.csv", "vat.csv",
         "businesscases.csv", "payment.csv", "cash_per_currency.csv", "transactions.csv", "datapayment.csv",
         "lines.csv", "itemamounts.csv", "subitems.csv", "transactions_tse.csv", "transactions_vat.csv",
         "lines_vat.csv", "allocation_groups.csv", "references.csv"]


def test_twenty_tables_in_the_published_order_with_219_columns():
    tables = load_tables()
    assert [t.url for t in tables] == FILES
    assert sum(len(t.columns) for t in tables) == 219
    assert tables[0].name == "Stamm_Abschluss" and table("businesscases.csv").name == "Z_GV_Typ"


def test_every_table_starts_with_the_closing_key():
    for t in load_tables():
        assert t.column_names[:3] == ("Z_KASSE_ID", "Z_ERSTELLUNG", "Z_NR"), t.url
        assert t.by_name["Z_NR"].is_numeric and t.by_name["Z_NR"].accuracy == 0


def test_column_formats_as_published():
    lines = table("lines.csv")
    assert lines.by_name["STK_BR"].accuracy == 5 and lines.by_name["STK_BR"].is_numeric
    assert lines.by_name["POS_ZEILE"].kind == "alphanumeric" and lines.by_name["POS_ZEILE"].max_length == 50
    assert table("cashpointclosing.csv").by_name["Z_SE_ZAHLUNGEN"].accuracy == 2
    assert table("slaves.csv").by_name["TERMINAL_SERIENNR"].max_length == 70  # 2.4 (2.2 had 50)
    tse = table("tse.csv")
    assert tse.by_name["TSE_ZERTIFIKAT_I"].max_length == 1000 and "TSE_ZERTIFIKAT_II" in tse.by_name
    assert table("transactions_tse.csv").by_name["TSE_VORGANGSDATEN"].kind == "alphanumeric"


def test_the_2_2_file_differs_only_in_the_terminal_serial_length():
    old = {t.url: t for t in load_tables(DATA_DIR / "index.xml.dsfinvk-2.2-official")}
    new = {t.url: t for t in load_tables()}
    differences = [(url, a.name) for url in new for a, b in zip(new[url].columns, old[url].columns, strict=True)
                   if a != b]
    assert differences == [("slaves.csv", "TERMINAL_SERIENNR")]


def test_shipped_files_keep_their_bytes():
    data = INDEX_FILE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf<?xml") and b"\r\n" in data and not data.endswith(b"\n")
    assert b'<!DOCTYPE DataSet SYSTEM "gdpdu-01-09-2004.dtd">' in data
    assert DTD_FILE.name == "gdpdu-01-09-2004.dtd" and len(DTD_FILE.read_bytes()) == 9140


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared reference folder is not next to this checkout")
@pytest.mark.parametrize("name", ["index.xml.dsfinvk-2.4-derived", "index.xml.dsfinvk-2.2-official",
                                  "gdpdu-01-09-2004.dtd"])
def test_shipped_files_are_the_reference_files(name):
    assert (DATA_DIR / name).read_bytes() == (SHARED / name).read_bytes()
