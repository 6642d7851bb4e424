"""Rows of the 20 DSFinV-K tables from one closing: keys, master data per closing, certificate chunks."""

from collections import defaultdict
from decimal import Decimal

from exports.dsfinvk.rows import ClosingRecord, closing_rows
from exports.dsfinvk.schema import load_tables, table
from tests.dsfinvk_documents import make_document, make_master

KEY = {"Z_KASSE_ID": "KASSE-01", "Z_ERSTELLUNG": "2026-11-30T22:15:03+01:00", "Z_NR": 7}
TRANSACTION_FILES = {"transactions.csv", "datapayment.csv", "transactions_tse.csv", "transactions_vat.csv",
                     "allocation_groups.csv", "references.csv"}
LINE_FILES = {"lines.csv", "itemamounts.csv", "subitems.csv", "lines_vat.csv"}


def _receipts():
    return [
        {"lines": [{"text": "Kaffee", "vat_key": 1, "gross": Decimal("3.20")},
                   {"text": "Kuchen", "vat_key": 2, "gross": Decimal("4.50")}],
         "payments": [{"typ": "Bar", "amount": Decimal("7.70")}]},
        {"lines": [{"text": "Tee", "vat_key": 1, "gross": Decimal("2.50")}],
         "payments": [{"typ": "ECKarte", "amount": Decimal("2.50")}], "tse_failure": "TSE nicht erreichbar"},
    ]


def _document():
    document = make_document(_receipts())
    first = document["transactions"][0]
    first["allocation_groups"] = ["Tisch 4", "Terrasse"]
    first["lines"][0]["amounts"] = [{"TYP": "base_amount", "UST_SCHLUESSEL": 1, "PF_BRUTTO": "3.20"}]
    first["lines"][0]["subitems"] = [{"ZI_ART_NR": "Z1", "ZI_MENGE": "1", "ZI_UST_SCHLUESSEL": 1}]
    first["references"] = [{"REF_TYP": "ExterneRechnung", "REF_BON_ID": "R-17"}]
    return document


def _rows(master=None, document=None):
    record = ClosingRecord(KEY["Z_KASSE_ID"], KEY["Z_ERSTELLUNG"], KEY["Z_NR"], master or make_master(),
                           document or _document())
    grouped = defaultdict(list)
    for url, row in closing_rows(record):
        grouped[url].append(row)
    return grouped


def test_every_row_starts_with_the_closing_key_and_only_has_columns_of_its_table():
    rows = _rows()
    assert set(rows) <= {t.url for t in load_tables()}
    for url, file_rows in rows.items():
        names = set(table(url).column_names) | {f"TSE_ZERTIFIKAT_{n}" for n in ("III", "IV")}
        for row in file_rows:
            assert {name: row[name] for name in KEY} == KEY, url
            assert set(row) <= names, (url, set(row) - names)


def test_transaction_rows_carry_bon_id_and_line_rows_bon_id_and_pos_zeile():
    rows = _rows()
    bon_ids = [row["BON_ID"] for row in rows["transactions.csv"]]
    assert bon_ids == ["1", "2"]
    for url in TRANSACTION_FILES | LINE_FILES:
        assert all(row["BON_ID"] in bon_ids for row in rows[url]), url
    for url in LINE_FILES:
        assert all(row["POS_ZEILE"] for row in rows[url]), url
    assert [(r["BON_ID"], r["POS_ZEILE"]) for r in rows["lines.csv"]] == [("1", "1"), ("1", "2"), ("2", "1")]
    assert [(r["BON_ID"], r["POS_ZEILE"]) for r in rows["lines_vat.csv"]] == [("1", "1"), ("1", "2"), ("2", "1")]
    assert rows["itemamounts.csv"][0]["POS_ZEILE"] == "1" and rows["subitems.csv"][0]["ZI_ART_NR"] == "Z1"
    assert rows["references.csv"] == [{**KEY, "BON_ID": "1", "REF_TYP": "ExterneRechnung", "REF_BON_ID": "R-17"}]


def test_allocation_groups_give_one_row_per_string():
    assert [(r["BON_ID"], r["ABRECHNUNGSKREIS"]) for r in _rows()["allocation_groups.csv"]] == [
        ("1", "Tisch 4"), ("1", "Terrasse")]


def test_master_files_once_per_closing_and_cashpointclosing_joins_company_and_sums():
    master, document = make_master(), _document()
    rows = _rows(master, document)
    for url in ("cashpointclosing.csv", "location.csv", "cashregister.csv"):
        assert len(rows[url]) == 1, url
    closing = rows["cashpointclosing.csv"][0]
    assert closing["NAME"] == "Café Fiskal GmbH" and closing["USTID"] == "DE123456789"
    assert closing["Z_SE_ZAHLUNGEN"] == "10.20" and closing["Z_SE_BARZAHLUNGEN"] == "7.70"
    assert closing["Z_START_ID"] == "1" and closing["Z_ENDE_ID"] == "2" and closing["TAXONOMIE_VERSION"] == "2.4"
    assert rows["cashregister.csv"][0]["KASSE_SERIENNR"] == "KASSE-01"
    assert "slaves.csv" not in rows and "pa.csv" not in rows


def test_vat_rows_per_key_without_the_slot_helper():
    rows = _rows()["vat.csv"]
    assert [row["UST_SCHLUESSEL"] for row in rows] == [vat["UST_SCHLUESSEL"] for vat in make_master()["vat"]]
    assert all("slot" not in row for row in rows)


def test_tse_rows_split_the_certificate_and_drop_the_helper_key():
    master = make_master(certificate_length=1400)
    certificate = master["tse"][0]["certificate"]
    (row,) = _rows(master)["tse.csv"]
    assert "certificate" not in row
    assert row["TSE_ZERTIFIKAT_I"] == certificate[:1000] and row["TSE_ZERTIFIKAT_II"] == certificate[1000:]
    assert "TSE_ZERTIFIKAT_III" not in row
    long_master = make_master(certificate_length=2500)
    (long_row,) = _rows(long_master)["tse.csv"]
    assert long_row["TSE_ZERTIFIKAT_III"] == long_master["tse"][0]["certificate"][2000:]
    assert len(long_row["TSE_ZERTIFIKAT_III"]) == 500


def test_two_tses_give_two_rows():
    master = make_master()
    master["tse"].append({**master["tse"][0], "TSE_ID": 2})
    assert [row["TSE_ID"] for row in _rows(master)["tse.csv"]] == [1, 2]


def test_the_tse_outage_row_has_the_failure_and_no_signature():
    failed = _rows()["transactions_tse.csv"][1]
    assert failed["BON_ID"] == "2" and failed["TSE_TA_FEHLER"] == "TSE nicht erreichbar"
    for name in ("TSE_TANR", "TSE_TA_SIG", "TSE_TA_SIGZ", "TSE_TA_START", "TSE_TA_ENDE"):
        assert failed.get(name) in (None, ""), name


def test_rows_follow_the_transactions_in_document_order():
    document = make_document([{"lines": [{"text": "A", "vat_key": 1, "gross": Decimal("1.00")}],
                               "payments": [{"typ": "Bar", "amount": Decimal("1.00")}]}] * 3, first_bon=41)
    rows = _rows(document=document)
    assert [r["BON_ID"] for r in rows["transactions.csv"]] == ["41", "42", "43"]
    assert [r["BON_ID"] for r in rows["datapayment.csv"]] == ["41", "42", "43"]
