"""The export archive: members, CSV format, certificate columns, refusals, determinism, formatter fast path."""

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.dsfinvk.csv_check import check_table_file
from exports.dsfinvk.csv_format import DsfinvkValueError, column_formatter, format_value
from exports.dsfinvk.index_check import check_index_xml
from exports.dsfinvk.schema import DTD_FILE, NUMERIC, Column, load_tables, parse_tables
from exports.dsfinvk.writer import DTD_NAME, INDEX_NAME, ClosingRecord, write_export
from tests.dsfinvk_documents import make_document, make_master, simple_receipts

TABLE_FILES = [t.url for t in load_tables()]


def _record(z_nr=7, receipts=3, *, kasse="KASSE-01", master=None, document=None):
    document = document or make_document(simple_receipts(receipts), first_bon=100 * z_nr)
    return ClosingRecord(kasse, f"2026-11-{z_nr:02d}T22:15:03+01:00", z_nr, master or make_master(kasse), document)


def _export(records, **kwargs) -> tuple[bytes, object]:
    out = io.BytesIO()
    summary = write_export(iter(records), out, **kwargs)
    return out.getvalue(), summary


def _tables_of(archive: zipfile.ZipFile):
    return {t.url: t for t in parse_tables(archive.read(INDEX_NAME))}


def _csv(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"), newline=""), delimiter=";"))


def test_the_archive_holds_all_20_tables_index_and_dtd_flat_and_in_index_order():
    data, _ = _export([_record()])
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names == [*TABLE_FILES, INDEX_NAME, DTD_NAME]
    assert all("/" not in name and name == name.lower() for name in names)
    assert archive.read(DTD_NAME) == DTD_FILE.read_bytes()
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    assert archive.testzip() is None


def test_every_file_passes_the_format_check_and_index_xml_the_dtd_check():
    document = make_document(simple_receipts(4) + [{"lines": [{"text": 'Der "Große"; extra', "vat_key": 1,
                                                               "gross": Decimal("-2.50")}],
                                                    "payments": [{"typ": "Bar", "amount": Decimal("-2.50")}],
                                                    "tse_failure": "TSE ausgefallen"}])
    data, summary = _export([_record(7, document=document), _record(8)])
    archive = zipfile.ZipFile(io.BytesIO(data))
    tables = _tables_of(archive)
    assert check_index_xml(archive.read(INDEX_NAME)).ok
    for name in TABLE_FILES:
        result = check_table_file(tables[name], io.BytesIO(archive.read(name)))
        assert result.ok, (name, result.problems)
        assert result.records == summary.rows[name], name


def test_empty_tables_are_header_only():
    data, summary = _export([_record()])
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in ("slaves.csv", "pa.csv", "itemamounts.csv", "subitems.csv", "allocation_groups.csv",
                 "references.csv"):
        assert summary.rows[name] == 0
        content = archive.read(name)
        assert content.count(b"\r\n") == 1 and content.endswith(b"\r\n"), name
        header = next(t for t in load_tables() if t.url == name).column_names
        assert content == (";".join(header) + "\r\n").encode("ascii")
    assert _export([])[1].rows == dict.fromkeys(TABLE_FILES, 0)


def test_an_empty_export_still_has_every_member():
    data, summary = _export([])
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [*TABLE_FILES, INDEX_NAME, DTD_NAME]
    assert (summary.closings, summary.transactions, summary.lines) == (0, 0, 0)


def test_summary_counts_and_progress_per_closing():
    seen = []
    _, summary = _export([_record(7, 3), _record(8, 5)], progress=seen.append)
    assert seen == [1, 2]
    assert (summary.closings, summary.transactions) == (2, 8)
    assert summary.lines == summary.rows["lines.csv"] == (1 + 2 + 2) + (1 + 2 + 2 + 1 + 2)  # no cake on every third
    assert summary.rows["cashpointclosing.csv"] == summary.rows["location.csv"] == 2
    assert summary.rows["vat.csv"] == 2 * len(make_master()["vat"])
    assert set(summary.rows) == set(TABLE_FILES)


def test_closings_are_read_once_from_an_iterator():
    records = iter([_record(7), _record(8)])
    out = io.BytesIO()
    assert write_export(records, out).closings == 2
    assert next(records, None) is None


def test_rows_are_grouped_by_closing_and_the_key_is_byte_identical_everywhere():
    data, _ = _export([_record(7), _record(8, kasse="KASSE-02")])
    archive = zipfile.ZipFile(io.BytesIO(data))
    keys = {tuple(row[:3]) for row in _csv(archive, "cashpointclosing.csv")[1:]}
    assert keys == {("KASSE-01", "2026-11-07T22:15:03+01:00", "7"), ("KASSE-02", "2026-11-08T22:15:03+01:00", "8")}
    for name in TABLE_FILES:
        rows = _csv(archive, name)[1:]
        assert {tuple(row[:3]) for row in rows} <= keys, name
        order = [tuple(row[:3]) for row in rows]
        assert order == sorted(order), name  # grouped by closing, in the order given


def test_booleans_integers_and_amounts_are_written_in_the_spec_format():
    data, _ = _export([_record()])
    archive = zipfile.ZipFile(io.BytesIO(data))
    lines = _csv(archive, "lines.csv")
    line = dict(zip(lines[0], lines[1], strict=True))
    assert (line["INHAUS"], line["P_STORNO"], line["AGENTUR_ID"]) == ("1", "0", "0")
    assert (line["MENGE"], line["STK_BR"]) == ("1,000", "3,20000")
    head = dict(zip(*_csv(archive, "transactions.csv")[:2], strict=True))
    assert (head["BON_NR"], head["BON_STORNO"], head["UMS_BRUTTO"]) == ("700", "0", "3,20")
    cashregister = dict(zip(*_csv(archive, "cashregister.csv")[:2], strict=True))
    assert cashregister["KEINE_UST_ZUORDNUNG"] == "0"


def test_a_tse_outage_row_has_the_failure_and_empty_signature_fields():
    document = make_document([{"lines": [{"text": "Tee", "vat_key": 1, "gross": Decimal("2.50")}],
                               "payments": [{"typ": "Bar", "amount": Decimal("2.50")}],
                               "tse_failure": "TSE nicht erreichbar"}])
    data, _ = _export([_record(document=document)])
    header, row = _csv(zipfile.ZipFile(io.BytesIO(data)), "transactions_tse.csv")
    row = dict(zip(header, row, strict=True))
    assert row["TSE_TA_FEHLER"] == "TSE nicht erreichbar" and row["TSE_ID"] == "1"
    assert row["TSE_TA_SIG"] == row["TSE_TA_SIGZ"] == row["TSE_TANR"] == row["TSE_TA_ENDE"] == ""


def test_identical_input_gives_identical_bytes():
    assert _export([_record(7), _record(8)])[0] == _export([_record(7), _record(8)])[0]


def test_a_long_certificate_adds_column_iii_to_tse_csv_and_index_xml_for_the_whole_export():
    short, long = make_master(certificate_length=1400), make_master(certificate_length=2500)
    data, _ = _export([_record(7, master=short), _record(8, master=long)])
    archive = zipfile.ZipFile(io.BytesIO(data))
    tse = _tables_of(archive)["tse.csv"]
    assert tse.column_names[-3:] == ("TSE_ZERTIFIKAT_I", "TSE_ZERTIFIKAT_II", "TSE_ZERTIFIKAT_III")
    assert check_index_xml(archive.read(INDEX_NAME)).ok
    rows = _csv(archive, "tse.csv")
    assert tuple(rows[0]) == tse.column_names
    first, second = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert first["TSE_ZERTIFIKAT_III"] == "" and len(first["TSE_ZERTIFIKAT_II"]) == 400
    certificate = long["tse"][0]["certificate"]
    assert second["TSE_ZERTIFIKAT_I"] + second["TSE_ZERTIFIKAT_II"] + second["TSE_ZERTIFIKAT_III"] == certificate
    assert check_table_file(tse, io.BytesIO(archive.read("tse.csv"))).ok


def test_without_long_certificates_the_published_index_xml_is_shipped():
    data, _ = _export([_record()])
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read(INDEX_NAME) == (DTD_FILE.parent / "index.xml.dsfinvk-2.4-derived").read_bytes()


def test_a_too_long_value_is_refused_and_nothing_is_written():
    document = make_document(simple_receipts(2))
    document["transactions"][1]["lines"][0]["line"]["ARTIKELTEXT"] = "x" * 256
    out = io.BytesIO()
    with pytest.raises(DsfinvkValueError) as raised:
        write_export(iter([_record(7), _record(8, document=document)]), out)
    assert raised.value.code == "E_TOO_LONG" and raised.value.column == "ARTIKELTEXT"
    assert out.getvalue() == b""


def test_too_many_decimals_and_non_numbers_are_refused():
    for bad in ("3.201", "3,20", 3.2):
        document = make_document(simple_receipts(1))
        document["transactions"][0]["head"]["UMS_BRUTTO"] = bad
        with pytest.raises(DsfinvkValueError) as raised:
            _export([_record(document=document)])
        assert raised.value.code in ("E_TOO_MANY_DECIMALS", "E_NOT_A_NUMBER")


def test_an_unknown_column_is_refused():
    document = make_document(simple_receipts(1))
    document["transactions"][0]["head"]["BON_NUMMER"] = "1"
    with pytest.raises(KeyError, match="BON_NUMMER"):
        _export([_record(document=document)])


_DECIMALS = st.builds(
    lambda sign, whole, fraction: sign + whole + ("." + fraction if fraction else ""),
    st.sampled_from(["", "-"]),
    st.one_of(st.from_regex(r"[0-9]{1,6}", fullmatch=True), st.from_regex(r"[1-9][0-9]{20,28}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{1,8}", fullmatch=True)))


# regex strategies draw slowly on a loaded machine; the property does not depend on drawing speed
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_DECIMALS, accuracy=st.integers(min_value=0, max_value=5))
def test_the_decimal_string_fast_path_equals_format_value(value, accuracy):
    column = Column("X", "", NUMERIC, accuracy=accuracy)
    try:
        expected = format_value(column, Decimal(value))
    except DsfinvkValueError as exc:
        with pytest.raises(DsfinvkValueError) as raised:
            column_formatter(column)(value)
        assert raised.value.code == exc.code
        return
    assert column_formatter(column)(value) == expected


@given(value=st.one_of(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=10**22, max_value=10**29),
                       st.decimals(allow_nan=False, allow_infinity=False, places=3)),
       accuracy=st.integers(min_value=0, max_value=5))
def test_the_formatter_equals_format_value_for_ints_and_decimals(value, accuracy):
    column = Column("X", "", NUMERIC, accuracy=accuracy)
    try:
        expected = format_value(column, value)
    except DsfinvkValueError:
        with pytest.raises(DsfinvkValueError):
            column_formatter(column)(value)
        return
    assert column_formatter(column)(value) == expected


@given(value=st.one_of(st.text(max_size=12), st.booleans(), st.none()))
def test_the_text_formatter_equals_format_value(value):
    column = Column("T", "", "alphanumeric", max_length=10)
    try:
        expected = format_value(column, value)
    except DsfinvkValueError:
        with pytest.raises(DsfinvkValueError):
            column_formatter(column)(value)
        return
    assert column_formatter(column)(value) == expected


@pytest.mark.parametrize("value", ["1e3", " 1.5", "1.", ".5", "١", "NaN", "1_000"])
def test_strings_that_are_not_plain_dot_decimals_are_refused(value):
    with pytest.raises(DsfinvkValueError) as raised:
        column_formatter(Column("X", "", NUMERIC, accuracy=2))(value)
    assert raised.value.code == "E_NOT_A_NUMBER"
