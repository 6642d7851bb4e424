"""Golden export: one fully specified day, every file of the archive compared byte for byte.

The day (see golden/README.md) is written out here by hand — no generator — so the expected files
in ``golden/`` are the DSFinV-K format made concrete: sums, decimals per column, quoting, CRLF.
Regenerate only after checking a change line by line:
``DJANGO_SETTINGS_MODULE=portal.settings .venv/bin/python -m tests.dsfinvk_export.test_golden --write``.
"""

import base64
import hashlib
import io
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from exports.dsfinvk.csv_check import check_table_file
from exports.dsfinvk.index_check import check_index_xml
from exports.dsfinvk.process_data import kassenbeleg_v1
from exports.dsfinvk.schema import load_tables
from exports.dsfinvk.writer import DTD_NAME, INDEX_NAME, ClosingRecord, write_export

GOLDEN = Path(__file__).resolve().parent / "golden"
MEMBERS = [*(t.url for t in load_tables()), INDEX_NAME, DTD_NAME]

Z_KASSE_ID = "KASSE-01"
Z_ERSTELLUNG = "2026-11-30T22:15:03+01:00"
Z_NR = 7
PUBLIC_KEY = "BBXkd43xBE969mYvBVL3IhGeFL6wv54nMsmgJiJRzIUtvt7+arsKqb3bI+GYA5pMGCeruTNlYRTsY2u6M+s8vKo="
TSE_SERIAL = "ee1ed8a5fb0989e2a0e69282e35aa3c368014e369112bd56ff2d118d92df6227"
CERTIFICATE = ("MIIFkjCCBHqgAwIBAgIQ" + "R29sZGVuIFRTRSBDZXJ0aWZpY2F0ZQ" * 60)[:1400]  # 1400 chars: I + II (400)

MASTER = {
    "cashpointclosing": {"NAME": "Café Fiskal GmbH", "STRASSE": "Hauptstraße 1", "PLZ": "10115", "ORT": "Berlin",
                         "LAND": "DEU", "STNR": "1234567890123", "USTID": "DE123456789"},
    "location": {"LOC_NAME": "Filiale Mitte", "LOC_STRASSE": "Torstraße 5", "LOC_PLZ": "10119", "LOC_ORT": "Berlin",
                 "LOC_LAND": "DEU", "LOC_USTID": "DE123456789"},
    "cashregister": {"KASSE_BRAND": "Kassenbau", "KASSE_MODELL": "K1", "KASSE_SERIENNR": "KASSE-01",
                     "KASSE_SW_BRAND": "KassenSoft", "KASSE_SW_VERSION": "4.2", "KASSE_BASISWAEH_CODE": "EUR",
                     "KEINE_UST_ZUORDNUNG": False},
    "slaves": [],
    "pa": [],
    "tse": [{"TSE_ID": 1, "TSE_SERIAL": TSE_SERIAL, "TSE_SIG_ALGO": "ecdsa-plain-SHA256",
             "TSE_ZEITFORMAT": "unixTime", "TSE_PD_ENCODING": "UTF-8", "TSE_PUBLIC_KEY": PUBLIC_KEY,
             "certificate": CERTIFICATE}],
    "vat": [{"UST_SCHLUESSEL": 1, "UST_SATZ": "19.00", "UST_BESCHR": "Regelsteuersatz", "slot": "NORMAL"},
            {"UST_SCHLUESSEL": 2, "UST_SATZ": "7.00", "UST_BESCHR": "Ermäßigter Steuersatz", "slot": "REDUCED_1"},
            {"UST_SCHLUESSEL": 5, "UST_SATZ": "0.00", "UST_BESCHR": "Nicht Steuerbar", "slot": "NULL"}],
}


def _head(bon_id, bon_typ, start, end, total, **extra):
    return {"BON_ID": bon_id, "BON_NR": int(bon_id), "BON_TYP": bon_typ, "BON_STORNO": False, "BON_START": start,
            "BON_ENDE": end, "BEDIENER_ID": "1", "BEDIENER_NAME": "Anna", "UMS_BRUTTO": total, **extra}


def _line(number, text, qty, price, *, art_nr, **extra):
    return {"POS_ZEILE": number, "ARTIKELTEXT": text, "GV_TYP": "Umsatz", "INHAUS": True, "P_STORNO": False,
            "AGENTUR_ID": 0, "ART_NR": art_nr, "MENGE": qty, "STK_BR": price, **extra}


def _vat(key, gross, net, vat, prefix="POS"):
    return {"UST_SCHLUESSEL": key, f"{prefix}_BRUTTO": gross, f"{prefix}_NETTO": net, f"{prefix}_UST": vat}


def _signed(tanr, start, end, sigz, signature, process_data):
    return {"TSE_ID": 1, "TSE_TANR": tanr, "TSE_TA_START": start, "TSE_TA_ENDE": end,
            "TSE_TA_VORGANGSART": "Kassenbeleg-V1", "TSE_TA_SIGZ": sigz, "TSE_TA_SIG": signature,
            "TSE_VORGANGSDATEN": process_data}


def _payment(typ, amount, *, name=None, currency="EUR", foreign=None):
    return {"ZAHLART_TYP": typ, "ZAHLART_NAME": name, "ZAHLWAEH_CODE": currency, "ZAHLWAEH_BETRAG": foreign,
            "BASISWAEH_BETRAG": amount}


def _transaction(head, lines, vat, payments, tse, *, allocation_groups=(), references=()):
    return {"head": head, "vat": vat, "payments": payments, "allocation_groups": list(allocation_groups),
            "references": list(references), "tse": [tse], "lines": lines}


def _entry(line, vat, amounts=(), subitems=()):
    return {"line": line, "vat": [vat], "amounts": list(amounts), "subitems": list(subitems)}


T1 = _transaction(  # cash sale, 19 %, a text with ; and "
    _head("1001", "Beleg", "2026-11-30T09:12:05+01:00", "2026-11-30T09:12:41+01:00", "9.00"),
    [_entry(_line("1", "Kaffee", "2", "3.20", art_nr="K-100"), _vat(1, "6.40", "5.37815", "1.02185")),
     _entry(_line("2", 'Espresso "doppio"; groß', "1", "2.60", art_nr="K-110"), _vat(1, "2.60", "2.18487", "0.41513"))],
    [_vat(1, "9.00", "7.56302", "1.43698", "BON")],
    [_payment("Bar", "9.00")],
    _signed(101, "2026-11-30T08:12:05.120Z", "2026-11-30T08:12:41.870Z", 202,
            "eEUVhtMGwXJaJeMQguxkIQfXYRwEvMdOgj0di5VvfuSO5ElYLjkAzmv/z9Cs22lXvWN48DA140ZDyn/qbPyObw==",
            "Beleg^9.00_0.00_0.00_0.00_0.00^9.00:Bar"))

T2 = _transaction(  # card sale 19 % / 7 %: a discounted croissant, a cappuccino with an oat-milk sub-item
    _head("1002", "Beleg", "2026-11-30T10:03:17+01:00", "2026-11-30T10:04:02+01:00", "6.70",
          BEDIENER_ID="2", BEDIENER_NAME="Jörg"),
    [_entry(_line("1", "Croissant", "1", "2.80", art_nr="B-200"), _vat(2, "2.80", "2.61682", "0.18318"),
            amounts=[{"TYP": "base_amount", "UST_SCHLUESSEL": 2, "PF_BRUTTO": "3.00", "PF_NETTO": "2.80374",
                      "PF_UST": "0.19626"},
                     {"TYP": "discount", "UST_SCHLUESSEL": 2, "PF_BRUTTO": "-0.20", "PF_NETTO": "-0.18692",
                      "PF_UST": "-0.01308"}]),
     _entry(_line("2", "Cappuccino", "1", "3.90", art_nr="K-120"), _vat(1, "3.90", "3.27731", "0.62269"),
            amounts=[{"TYP": "base_amount", "UST_SCHLUESSEL": 1, "PF_BRUTTO": "3.50", "PF_NETTO": "2.94118",
                      "PF_UST": "0.55882"},
                     {"TYP": "extra_amount", "UST_SCHLUESSEL": 1, "PF_BRUTTO": "0.40", "PF_NETTO": "0.33613",
                      "PF_UST": "0.06387"}],
            subitems=[{"ZI_ART_NR": "Z-HAFER", "ZI_NAME": "Hafermilch", "ZI_MENGE": "1", "ZI_UST_SCHLUESSEL": 1,
                       "ZI_BASISPREIS_BRUTTO": "0.40", "ZI_BASISPREIS_NETTO": "0.33613",
                       "ZI_BASISPREIS_UST": "0.06387"}])],
    [_vat(1, "3.90", "3.27731", "0.62269", "BON"), _vat(2, "2.80", "2.61682", "0.18318", "BON")],
    [_payment("Kreditkarte", "6.70", name="Visa")],
    _signed(102, "2026-11-30T09:03:17.004Z", "2026-11-30T09:04:02.511Z", 204,
            "evaEUGfBljTF4lKxxflaWVOumRD6fwgoVfWY+V+sMKIto2SPtgVPB9CUCDlL9F1u2lHP0ONH+bDKpHc0pK3jaQ==",
            "Beleg^3.90_2.80_0.00_0.00_0.00^6.70:Unbar"),
    allocation_groups=["Tisch 4"])

T3 = _transaction(  # loose nuts by weight (unit price with 5 decimals), paid in EUR and CHF cash
    _head("1003", "Beleg", "2026-11-30T12:40:00+01:00", "2026-11-30T12:41:30+01:00", "6.50"),
    [_entry(_line("1", "Nüsse lose", "0.25", "17.98765", art_nr="N-300", EINHEIT="kg"),
            _vat(2, "4.50", "4.20561", "0.29439")),
     _entry(_line("2", "Wasser 0,5 l", "1", "2.00", art_nr="G-400"), _vat(1, "2.00", "1.68067", "0.31933"))],
    [_vat(1, "2.00", "1.68067", "0.31933", "BON"), _vat(2, "4.50", "4.20561", "0.29439", "BON")],
    [_payment("Bar", "5.00"), _payment("Bar", "1.50", currency="CHF", foreign="1.45")],
    _signed(103, "2026-11-30T11:40:00.250Z", "2026-11-30T11:41:30.999Z", 206,
            "sCA7ho2qN9PlwCmcSrDJwqa9170AOM8oE4GTbJo/SySpPY+7dNHM2lmS85U6rhfK31avnh89qnKHSs9Is+yeMg==",
            "Beleg^2.00_4.50_0.00_0.00_0.00^5.00:Bar_1.45:Bar:CHF"))

T4 = _transaction(  # refund of one coffee of 1001: a negative Beleg with a reference
    _head("1004", "Beleg", "2026-11-30T13:05:09+01:00", "2026-11-30T13:05:30+01:00", "-3.20",
          BON_NOTIZ='Rückgabe; Kunde sagt "zu kalt"'),
    [_entry(_line("1", "Kaffee", "-1", "3.20", art_nr="K-100"), _vat(1, "-3.20", "-2.68908", "-0.51092"))],
    [_vat(1, "-3.20", "-2.68908", "-0.51092", "BON")],
    [_payment("Bar", "-3.20")],
    _signed(104, "2026-11-30T12:05:09.000Z", "2026-11-30T12:05:30.300Z", 208,
            "jNj9G/n8VuBGNZYXdUWqB3gyvx3wqjrzJrP1pgtRgxLJ+fUeNVpsiXZIrfZ2Q1WaIzzbCa7Ifl76UdR5Qedt2w==",
            "Beleg^-3.20_0.00_0.00_0.00_0.00^-3.20:Bar"),
    references=[{"REF_TYP": "Transaktion", "REF_DATUM": Z_ERSTELLUNG, "REF_Z_KASSE_ID": Z_KASSE_ID,
                 "REF_Z_NR": Z_NR, "REF_BON_ID": "1001"}])

T5 = _transaction(  # training: recorded and signed, no payment, not in the closing sums
    _head("1005", "AVTraining", "2026-11-30T15:30:00+01:00", "2026-11-30T15:30:20+01:00", "3.20",
          BEDIENER_ID="3", BEDIENER_NAME="Azubi Ben"),
    [_entry(_line("1", "Kaffee", "1", "3.20", art_nr="K-100"), _vat(1, "3.20", "2.68908", "0.51092"))],
    [_vat(1, "3.20", "2.68908", "0.51092", "BON")],
    [],
    _signed(105, "2026-11-30T14:30:00.000Z", "2026-11-30T14:30:20.020Z", 210,
            "T+u2XnhV19Z+sPyHNBr2YhTj9XoS6KDoiO7E2mlAhPtcSW0dtW3ksXhNRpQx6Yw0klTpE5aV8uFXNlYRMKlYKw==",
            "AVTraining^3.20_0.00_0.00_0.00_0.00^"))

T6 = _transaction(  # sold while the TSE was unreachable: failure row, no signature
    _head("1006", "Beleg", "2026-11-30T18:02:11+01:00", "2026-11-30T18:02:45+01:00", "2.00"),
    [_entry(_line("1", "Wasser 0,5 l", "1", "2.00", art_nr="G-400"), _vat(1, "2.00", "1.68067", "0.31933"))],
    [_vat(1, "2.00", "1.68067", "0.31933", "BON")],
    [_payment("Bar", "2.00")],
    {"TSE_ID": 1, "TSE_TA_FEHLER": "TSE nicht erreichbar (Zeitüberschreitung)"})

DOCUMENT = {
    "cashpointclosing": {"TAXONOMIE_VERSION": "2.4", "Z_START_ID": "1001", "Z_ENDE_ID": "1006",
                         "Z_SE_ZAHLUNGEN": "21.00", "Z_SE_BARZAHLUNGEN": "14.30"},
    "businesscases": [
        {"GV_TYP": "Umsatz", "AGENTUR_ID": 0, "UST_SCHLUESSEL": 1, "Z_UMS_BRUTTO": "13.70",
         "Z_UMS_NETTO": "11.51259", "Z_UST": "2.18741"},
        {"GV_TYP": "Umsatz", "AGENTUR_ID": 0, "UST_SCHLUESSEL": 2, "Z_UMS_BRUTTO": "7.30",
         "Z_UMS_NETTO": "6.82243", "Z_UST": "0.47757"},
    ],
    "payment": [{"ZAHLART_TYP": "Bar", "Z_ZAHLART_BETRAG": "14.30"},
                {"ZAHLART_TYP": "Kreditkarte", "ZAHLART_NAME": "Visa", "Z_ZAHLART_BETRAG": "6.70"}],
    "cash_per_currency": [{"ZAHLART_WAEH": "CHF", "ZAHLART_BETRAG_WAEH": "1.45"},
                          {"ZAHLART_WAEH": "EUR", "ZAHLART_BETRAG_WAEH": "12.80"}],
    "transactions": [T1, T2, T3, T4, T5, T6],
}

RECORD = ClosingRecord(Z_KASSE_ID, Z_ERSTELLUNG, Z_NR, MASTER, DOCUMENT)


def _export() -> dict[str, bytes]:
    out = io.BytesIO()
    write_export(iter([RECORD]), out)
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_golden_day_is_consistent_in_itself():
    """The hand-written sums hold (dsfinvk.md §8), so the golden files encode a correct day."""
    belege = [t for t in DOCUMENT["transactions"] if t["head"]["BON_TYP"] == "Beleg"]
    payments = [p for t in belege for p in t["payments"]]
    closing = DOCUMENT["cashpointclosing"]
    assert sum(Decimal(p["BASISWAEH_BETRAG"]) for p in payments) == Decimal(closing["Z_SE_ZAHLUNGEN"])
    cash = [p for p in payments if p["ZAHLART_TYP"] == "Bar"]
    assert sum(Decimal(p["BASISWAEH_BETRAG"]) for p in cash) == Decimal(closing["Z_SE_BARZAHLUNGEN"])
    for case in DOCUMENT["businesscases"]:
        key = case["UST_SCHLUESSEL"]
        splits = [v for t in belege for e in t["lines"] for v in e["vat"] if v["UST_SCHLUESSEL"] == key]
        for column, total in (("POS_BRUTTO", "Z_UMS_BRUTTO"), ("POS_NETTO", "Z_UMS_NETTO"), ("POS_UST", "Z_UST")):
            assert sum(Decimal(v[column]) for v in splits) == Decimal(case[total]), (case, column)
    for transaction in DOCUMENT["transactions"]:
        head = transaction["head"]
        assert sum(Decimal(v["BON_BRUTTO"]) for v in transaction["vat"]) == Decimal(head["UMS_BRUTTO"])
        for vat in transaction["vat"]:
            assert Decimal(vat["BON_NETTO"]) + Decimal(vat["BON_UST"]) == Decimal(vat["BON_BRUTTO"])
        for entry in (e for e in transaction["lines"] if e["amounts"]):
            for part, whole in (("PF_BRUTTO", "POS_BRUTTO"), ("PF_NETTO", "POS_NETTO"), ("PF_UST", "POS_UST")):
                assert sum(Decimal(a[part]) for a in entry["amounts"]) == Decimal(entry["vat"][0][whole])
        if head["BON_TYP"] == "Beleg":
            assert sum(Decimal(p["BASISWAEH_BETRAG"]) for p in transaction["payments"]) == Decimal(head["UMS_BRUTTO"])
        tse = transaction["tse"][0]
        if "TSE_VORGANGSDATEN" in tse:
            gross = {v["UST_SCHLUESSEL"]: Decimal(v["BON_BRUTTO"]) for v in transaction["vat"]}
            paid = [(p["ZAHLART_TYP"], p["ZAHLWAEH_CODE"], Decimal(p["ZAHLWAEH_BETRAG"] or p["BASISWAEH_BETRAG"]))
                    for p in transaction["payments"]]
            assert kassenbeleg_v1(head["BON_TYP"], gross, paid, base_currency="EUR") == tse["TSE_VORGANGSDATEN"]
    assert hashlib.sha256(base64.b64decode(PUBLIC_KEY)).hexdigest() == TSE_SERIAL
    assert len(CERTIFICATE) == 1400


@pytest.mark.parametrize("member", MEMBERS)
def test_every_file_equals_the_golden_file(member):
    assert _export()[member] == (GOLDEN / member).read_bytes(), member


def test_the_archive_has_exactly_the_golden_members_and_they_pass_the_checks():
    files = _export()
    assert list(files) == MEMBERS
    assert check_index_xml(files[INDEX_NAME]).ok
    for table in load_tables():
        result = check_table_file(table, io.BytesIO(files[table.url]))
        assert result.ok, (table.url, result.problems)


def _write_golden() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, data in _export().items():
        (GOLDEN / name).write_bytes(data)


if __name__ == "__main__" and "--write" in sys.argv:
    _write_golden()
