"""The cross-file rules of dsfinvk.md §8: one targeted break per rule, the validator names exactly it.

The base export (``archives.rules_export``) passes; each test changes one thing — a cell, a row,
or a receipt of the documents the export is written from — and checks the error codes.
"""

import io
from decimal import Decimal

import pytest

from exports.dsfinvk.schema import table
from exports.dsfinvk.validator import validate_export
from tests.dsfinvk_documents import make_master, simple_receipts
from tests.dsfinvk_validation.archives import (
    bump,
    closing,
    codes,
    edit_cell,
    edit_csv,
    error_codes,
    export,
    rows_of,
    rules_export,
)

BASE = rules_export()
K1 = {"Z_KASSE_ID": "KASSE-01", "Z_NR": "1"}  # closing 1 of KASSE-01 (BON 1–6, BON 6 = AVTraining)
TRAINING = {**K1, "BON_ID": "6"}


def _report(data: bytes):
    return validate_export(io.BytesIO(data))


def _errors(data: bytes) -> set[str]:
    return error_codes(_report(data))


def _duplicate(where: dict):
    """Repeats the first row matching ``where`` right after it."""

    def change(rows):
        index = next(i for i, row in enumerate(rows) if all(row[k] == v for k, v in where.items()))
        rows.insert(index + 1, dict(rows[index]))
    return change


def _drop(where: dict):
    def change(rows):
        return [row for row in rows if not all(row[k] == v for k, v in where.items())]
    return change


def _only(data: bytes, code: str):
    report = _report(data)
    assert error_codes(report) == {code}, report.findings
    return report


def test_the_base_export_passes():
    report = _report(BASE)
    assert report.passed and report.findings == []


# --- rule 1: closing keys -------------------------------------------------------------------

def test_a_closing_twice_in_cashpointclosing():
    _only(edit_csv(BASE, "cashpointclosing.csv", _duplicate(K1)), "E_DUPLICATE_CLOSING")


@pytest.mark.parametrize("file", ["location.csv", "cashregister.csv"])
def test_one_master_row_per_closing(file):
    report = _only(edit_csv(BASE, file, _duplicate(K1)), "E_ROWS_PER_CLOSING")
    assert report.findings[0].file == file and report.findings[0].line == 3


def test_z_nr_must_increase_per_register():
    records = [closing(2, simple_receipts(2), first_bon=7), closing(1, simple_receipts(2), first_tanr=7)]
    _only(export(records), "E_Z_NR_ORDER")


def test_rows_of_an_unknown_closing():
    data = edit_csv(BASE, "vat.csv", lambda rows: rows.insert(5, {**rows[4], "Z_NR": "99"}))
    finding = _only(data, "E_UNKNOWN_CLOSING").findings[0]
    assert (finding.file, finding.line) == ("vat.csv", 7)


def test_rows_not_grouped_by_closing():
    # the vat.csv row of key 43 (used by no receipt) of closing 1 moved to the end of the file
    data = edit_csv(BASE, "vat.csv", lambda rows: rows.append(rows.pop(
        next(i for i, row in enumerate(rows) if row["UST_SCHLUESSEL"] == "43"))))
    finding = _only(data, "E_NOT_GROUPED").findings[0]
    assert finding.file == "vat.csv"


# --- rule 2: BON_ID / POS_ZEILE ---------------------------------------------------------------

def test_a_bon_id_twice_in_a_closing():
    _only(edit_csv(BASE, "transactions.csv", _duplicate(TRAINING)), "E_DUPLICATE_BON_ID")


def test_a_line_twice():
    _only(edit_csv(BASE, "lines.csv", _duplicate({**K1, "BON_ID": "2", "POS_ZEILE": "2"})), "E_DUPLICATE_LINE")


@pytest.mark.parametrize(("file", "row"), [
    ("allocation_groups.csv", {"BON_ID": "99", "ABRECHNUNGSKREIS": "Tisch 4"}),
    ("references.csv", {"BON_ID": "99", "REF_TYP": "ExterneRechnung", "REF_BON_ID": "R-1"}),
])
def test_a_transaction_level_row_without_its_transaction(file, row):
    _only(_add_row(BASE, file, {**K1, "Z_ERSTELLUNG": "2026-11-01T22:00:00+01:00", **row}), "E_UNKNOWN_BON_ID")


@pytest.mark.parametrize(("file", "row"), [
    ("itemamounts.csv", {"BON_ID": "1", "POS_ZEILE": "9", "TYP": "base_amount", "UST_SCHLUESSEL": "1",
                         "PF_BRUTTO": "1,19", "PF_NETTO": "1,00", "PF_UST": "0,19"}),
    ("references.csv", {"BON_ID": "1", "POS_ZEILE": "9", "REF_TYP": "ExterneRechnung", "REF_BON_ID": "R-1"}),
])
def test_a_line_level_row_without_its_line(file, row):
    _only(_add_row(BASE, file, {**K1, "Z_ERSTELLUNG": "2026-11-01T22:00:00+01:00", **row}), "E_UNKNOWN_LINE")


def _add_row(data: bytes, file: str, row: dict) -> bytes:
    columns = table(file).column_names
    return edit_csv(data, file, lambda rows: rows.insert(0, {**dict.fromkeys(columns, ""), **row}))


# --- rule 3: Z_START_ID / Z_ENDE_ID -----------------------------------------------------------

@pytest.mark.parametrize(("column", "value"), [("Z_START_ID", "2"), ("Z_ENDE_ID", "5")])
def test_first_and_last_bon_id(column, value):
    _only(edit_cell(BASE, "cashpointclosing.csv", column, value, **K1), f"E_{column}")


# --- rule 4: declared VAT keys, TSEs, agencies -------------------------------------------------

def test_a_vat_key_not_in_vat_csv():
    report = _only(edit_csv(BASE, "vat.csv", _drop({**K1, "UST_SCHLUESSEL": "2"})), "E_UNKNOWN_VAT_KEY")
    assert {f.file for f in report.findings} == {"businesscases.csv", "transactions_vat.csv", "lines_vat.csv"}


def test_a_tse_id_not_in_tse_csv():
    _only(edit_cell(BASE, "transactions_tse.csv", "TSE_ID", "2", **{**K1, "BON_ID": "3"}), "E_UNKNOWN_TSE_ID")


def _agency_export(pa: list[dict]) -> bytes:
    records = []
    master = make_master()
    master["pa"] = pa
    record = closing(1, [{"bon_typ": "AVTraining", "lines": [{"text": "Kommission", "vat_key": 1,
                                                               "gross": Decimal("5.00")}]}], master=master)
    record.document["transactions"][0]["lines"][0]["line"]["AGENTUR_ID"] = 7
    records.append(record)
    return export(records)


def test_an_agency_not_in_pa_csv():
    _only(_agency_export([]), "E_UNKNOWN_AGENCY")
    agency = {"AGENTUR_ID": 7, "AGENTUR_NAME": "Verlag", "AGENTUR_STRASSE": "Weg 1", "AGENTUR_PLZ": "10115",
              "AGENTUR_ORT": "Berlin", "AGENTUR_LAND": "DEU", "AGENTUR_USTID": "DE999999999"}
    assert _report(_agency_export([agency])).passed


# --- rules 5–8: closing sums ------------------------------------------------------------------

def test_businesscases_sum():
    data = edit_cell(BASE, "businesscases.csv", "Z_UMS_BRUTTO", bump, **K1, UST_SCHLUESSEL="1")
    data = edit_cell(data, "businesscases.csv", "Z_UMS_NETTO", bump, **K1, UST_SCHLUESSEL="1")
    _only(data, "E_BUSINESSCASES_SUM")


def test_a_business_case_twice():
    data = edit_csv(BASE, "businesscases.csv", _duplicate({**K1, "UST_SCHLUESSEL": "1"}))
    assert _errors(data) == {"E_DUPLICATE_KEY", "E_BUSINESSCASES_SUM"}  # the repeated row doubles the sum


def test_payment_sum():
    _only(edit_cell(BASE, "payment.csv", "Z_ZAHLART_BETRAG", bump, **K1, ZAHLART_TYP="ECKarte"), "E_PAYMENT_SUM")


def test_cash_per_currency_sum():
    data = edit_cell(BASE, "cash_per_currency.csv", "ZAHLART_BETRAG_WAEH", bump, **K1, ZAHLART_WAEH="CHF")
    _only(data, "E_CASH_PER_CURRENCY_SUM")


def test_a_foreign_cash_payment_without_its_foreign_amount():
    data = edit_cell(BASE, "datapayment.csv", "ZAHLWAEH_BETRAG", "", **K1, ZAHLWAEH_CODE="CHF")
    found = _errors(data)
    assert "E_FOREIGN_AMOUNT_MISSING" in found
    assert found <= {"E_FOREIGN_AMOUNT_MISSING", "E_CASH_PER_CURRENCY_SUM", "E_PROCESS_DATA"}


@pytest.mark.parametrize("column", ["Z_SE_ZAHLUNGEN", "Z_SE_BARZAHLUNGEN"])
def test_closing_payment_totals(column):
    _only(edit_cell(BASE, "cashpointclosing.csv", column, bump, **K1), f"E_{column}")


def test_training_receipts_are_not_in_the_closing_sums():
    # BON 6 (AVTraining) has lines: they are not in businesscases.csv, and the base export passes
    lines = [row for row in rows_of(BASE, "lines_vat.csv") if row["BON_ID"] == "6" and row["Z_NR"] == "1"]
    assert lines and _report(BASE).passed


# --- rule 9: receipt totals -------------------------------------------------------------------

def test_ums_brutto_of_a_beleg():
    data = edit_cell(BASE, "transactions.csv", "UMS_BRUTTO", bump, **{**K1, "BON_ID": "3"})
    assert _errors(data) == {"E_UMS_BRUTTO_VAT", "E_UMS_BRUTTO_PAYMENTS"}


def test_ums_brutto_against_the_vat_rows():
    _only(edit_cell(BASE, "transactions.csv", "UMS_BRUTTO", bump, **TRAINING), "E_UMS_BRUTTO_VAT")


def test_ums_brutto_against_the_payments():
    receipt = {"lines": [{"text": "Kaffee", "vat_key": 1, "gross": Decimal("3.20")}],
               "payments": [{"typ": "Bar", "amount": Decimal("3.00")}]}
    _only(export([closing(1, [receipt])]), "E_UMS_BRUTTO_PAYMENTS")


def test_lines_against_transaction_vat():
    data = edit_cell(BASE, "lines_vat.csv", "POS_BRUTTO", bump, **TRAINING)
    data = edit_cell(data, "lines_vat.csv", "POS_NETTO", bump, **TRAINING)
    finding = _only(data, "E_LINES_VAT_MISMATCH").findings[0]
    assert finding.file == "transactions_vat.csv"


def test_lines_within_the_rounding_tolerance_pass():
    data = edit_cell(BASE, "lines_vat.csv", "POS_BRUTTO", lambda v: bump(v, Decimal("0.004")), **TRAINING)
    data = edit_cell(data, "lines_vat.csv", "POS_NETTO", lambda v: bump(v, Decimal("0.004")), **TRAINING)
    assert _report(data).passed


# --- rule 10: gross = net + VAT -----------------------------------------------------------------

@pytest.mark.parametrize(("file", "column"), [("lines_vat.csv", "POS_UST"), ("transactions_vat.csv", "BON_UST")])
def test_vat_split(file, column):
    _only(edit_cell(BASE, file, column, lambda v: bump(v, Decimal("0.001")), **TRAINING), "E_VAT_SPLIT")


# --- rule 11: receipt shapes --------------------------------------------------------------------

@pytest.mark.parametrize(("receipt", "code"), [
    ({"lines": [], "payments": []}, "E_BELEG_WITHOUT_LINES"),
    ({"lines": [{"text": "Kaffee", "vat_key": 1, "gross": Decimal("3.20")}], "payments": []},
     "E_BELEG_WITHOUT_PAYMENT"),
    ({"bon_typ": "AVSonstige", "lines": []}, "E_BON_NAME_MISSING"),
    ({"bon_typ": "AVTraining", "lines": [{"text": "Probe", "vat_key": 1, "gross": Decimal("2.00")}],
      "payments": [{"typ": "Bar", "amount": Decimal("2.00")}]}, "E_PAYMENT_NOT_ALLOWED"),
])
def test_receipt_shapes(receipt, code):
    _only(export([closing(1, simple_receipts(1) + [receipt])]), code)


def test_allowed_receipt_shapes_pass():
    receipts = [{"lines": [{"text": "Gratis", "vat_key": 1, "gross": Decimal("0.00")}], "payments": []},
                {"bon_typ": "AVBelegabbruch", "lines": [], "payments": [{"typ": "Keine", "amount": Decimal("0")}]}]
    report = _report(export([closing(1, receipts)]))
    assert report.passed, report.findings


# --- rules 12–14: TSE -------------------------------------------------------------------------

def test_process_data_must_match():
    data = edit_cell(BASE, "transactions_tse.csv", "TSE_VORGANGSDATEN",
                     lambda v: v.replace("3.20", "3.30", 1), **{**K1, "BON_ID": "1"})
    _only(data, "E_PROCESS_DATA")


def test_process_data_with_foreign_currency_is_rebuilt():
    row = next(r for r in rows_of(BASE, "transactions_tse.csv") if r["BON_ID"] == "5" and r["Z_NR"] == "1")
    assert row["TSE_VORGANGSDATEN"] == "Beleg^0.00_12.80_0.00_0.00_0.00^2.50:Bar_10.00:Bar:CHF"
    data = edit_cell(BASE, "datapayment.csv", "ZAHLWAEH_BETRAG", "11,00", **K1, ZAHLWAEH_CODE="CHF")
    assert _errors(data) == {"E_PROCESS_DATA", "E_CASH_PER_CURRENCY_SUM"}


def test_individual_vat_keys_cannot_be_rebuilt():
    data = edit_cell(BASE, "transactions_vat.csv", "UST_SCHLUESSEL", "1000", **TRAINING)
    data = edit_cell(data, "lines_vat.csv", "UST_SCHLUESSEL", "1000", **TRAINING)
    data = edit_csv(data, "vat.csv", _duplicate({**K1, "UST_SCHLUESSEL": "1"}))
    data = edit_cell(data, "vat.csv", "UST_SCHLUESSEL", "1000", **K1, UST_SCHLUESSEL="1", UST_BESCHR="Regelsteuersatz")
    report = _report(data)
    assert report.passed, report.findings
    assert codes(report) == {"W_PROCESS_DATA_NOT_REBUILT"}


def test_a_documented_tse_failure_is_a_warning():
    receipts = simple_receipts(2) + [{**simple_receipts(1)[0], "tse_failure": "TSE nicht erreichbar"}]
    report = _report(export([closing(1, receipts)]))
    assert report.passed
    assert codes(report) == {"W_TSE_FAILURE"}
    assert report.findings[0].line == 4


def test_a_row_without_signature_and_failure():
    _only(edit_cell(BASE, "transactions_tse.csv", "TSE_TA_SIG", "", **{**K1, "BON_ID": "2"}), "E_TSE_NOT_SIGNED")


def test_a_signed_row_needs_its_counters():
    _only(edit_cell(BASE, "transactions_tse.csv", "TSE_TANR", "", **{**K1, "BON_ID": "2"}), "E_MISSING_VALUE")


def test_signature_counter_strictly_increasing_per_tse():
    first = next(r for r in rows_of(BASE, "transactions_tse.csv") if r["BON_ID"] == "1")
    # closing 2 of KASSE-01 uses the same TSE: its first counter must follow closing 1's last
    data = edit_cell(BASE, "transactions_tse.csv", "TSE_TA_SIGZ", first["TSE_TA_SIGZ"], Z_NR="2", BON_ID="7")
    _only(data, "E_TSE_SIGZ_ORDER")


def test_tse_transaction_numbers_unique_per_tse():
    first = next(r for r in rows_of(BASE, "transactions_tse.csv") if r["BON_ID"] == "1")
    _only(edit_cell(BASE, "transactions_tse.csv", "TSE_TANR", first["TSE_TANR"], Z_NR="2", BON_ID="8"),
          "E_TSE_TANR_DUPLICATE")


def test_other_registers_have_their_own_tse_counters():
    # KASSE-02's counters start at 1 again (another TSE): the base export passes
    counters = [r["TSE_TA_SIGZ"] for r in rows_of(BASE, "transactions_tse.csv") if r["Z_KASSE_ID"] == "KASSE-02"]
    assert counters[0] == "2" and _report(BASE).passed


@pytest.mark.parametrize(("file", "column", "value", "code"), [
    ("transactions_tse.csv", "TSE_TA_START", "2026-11-30T09:00:00.000Z", "E_TSE_TIME_ORDER"),
    ("transactions.csv", "BON_START", "2026-11-30T23:00:00+01:00", "E_BON_TIME_ORDER"),
    ("transactions.csv", "BON_ENDE", "gestern", "E_TIMESTAMP"),
])
def test_time_order(file, column, value, code):
    _only(edit_cell(BASE, file, column, value, **{**K1, "BON_ID": "1"}), code)


def test_tse_serial_is_the_hash_of_the_public_key():
    _only(edit_cell(BASE, "tse.csv", "TSE_SERIAL", "0" * 64, **K1), "E_TSE_SERIAL")
    _only(edit_cell(BASE, "tse.csv", "TSE_PUBLIC_KEY", "kein base64!", **K1), "E_TSE_PUBLIC_KEY")


@pytest.mark.parametrize("change", [
    {"TSE_ZERTIFIKAT_I": lambda v: v[:-1]},  # 999 characters before a further chunk
    {"TSE_ZERTIFIKAT_I": lambda v: ""},  # a chunk after an empty one
])
def test_certificate_chunks(change):
    ((column, value),) = change.items()
    _only(edit_cell(BASE, "tse.csv", column, value, **K1), "E_CERTIFICATE_CHUNKS")


# --- values: enumerations, flags, ISO codes -----------------------------------------------------

@pytest.mark.parametrize(("file", "column", "value", "where", "code"), [
    ("tse.csv", "TSE_SIG_ALGO", "ecdsa-plain-SHA1", K1, "E_ENUM"),
    ("tse.csv", "TSE_ZEITFORMAT", "UnixTime", K1, "E_ENUM"),
    ("tse.csv", "TSE_PD_ENCODING", "UTF8", K1, "E_ENUM"),
    ("tse.csv", "TSE_SIG_ALGO", "", K1, "E_MISSING_VALUE"),
    ("lines.csv", "GV_TYP", "Verkauf", TRAINING, "E_ENUM"),
    ("transactions_tse.csv", "TSE_TA_VORGANGSART", "KassenBeleg-V1", {**K1, "BON_ID": "1"}, "E_ENUM"),
    ("lines.csv", "INHAUS", "2", {**K1, "BON_ID": "1"}, "E_BOOLEAN"),
    ("cashregister.csv", "KEINE_UST_ZUORDNUNG", "2", K1, "E_BOOLEAN"),
    ("cashpointclosing.csv", "LAND", "DE", K1, "E_ISO_CODE"),
    ("location.csv", "LOC_LAND", "deu", K1, "E_ISO_CODE"),
])
def test_values(file, column, value, where, code):
    report = _only(edit_cell(BASE, file, column, value, **where), code)
    assert report.findings[0].file == file and column in report.findings[0].message


@pytest.mark.parametrize(("file", "row", "code"), [
    ("references.csv", {"BON_ID": "1", "REF_TYP": "Rechnung", "REF_BON_ID": "R-1"}, "E_ENUM"),
    ("itemamounts.csv", {"BON_ID": "1", "POS_ZEILE": "1", "TYP": "Grundbetrag", "UST_SCHLUESSEL": "1",
                         "PF_BRUTTO": "3,20", "PF_NETTO": "2,68908", "PF_UST": "0,51092"}, "E_ENUM"),
    ("references.csv", {"BON_ID": "1", "REF_TYP": "ExterneRechnung", "REF_BON_ID": "R-1"}, None),
    ("itemamounts.csv", {"BON_ID": "1", "POS_ZEILE": "1", "TYP": "base_amount", "UST_SCHLUESSEL": "1",
                         "PF_BRUTTO": "3,20", "PF_NETTO": "2,68908", "PF_UST": "0,51092"}, None),
])
def test_values_in_added_rows(file, row, code):
    data = _add_row(BASE, file, {**K1, "Z_ERSTELLUNG": "2026-11-01T22:00:00+01:00", **row})
    if code is None:
        assert _report(data).passed
    else:
        _only(data, code)
