"""Archive structure, index.xml and per-file format: each broken archive gives exactly its code."""

import codecs
import io
import warnings
import zipfile

import pytest

from exports.dsfinvk.validator import validate_export
from tests.dsfinvk_documents import make_master, simple_receipts
from tests.dsfinvk_validation.archives import (
    closing,
    codes,
    edit_csv,
    error_codes,
    export,
    make_zip,
    members,
    replace_member,
    rules_export,
)

VALID = rules_export()


def _report(data: bytes):
    return validate_export(io.BytesIO(data))


def test_a_written_export_passes_without_findings():
    report = _report(VALID)
    assert report.passed, report.findings
    assert report.findings == []
    assert report.stats["content_checked"] is True
    assert report.stats["closings"] == 3
    assert report.stats["transactions"] == 11
    assert report.stats["rows"]["lines.csv"] == report.stats["lines"] == 16


def test_a_path_is_accepted(tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(VALID)
    assert validate_export(path).passed
    assert validate_export(str(path)).passed


def test_longer_certificates_in_appended_columns_pass():
    master = make_master(certificate_length=2500)
    data = export([closing(1, simple_receipts(2), master=master)])
    assert "TSE_ZERTIFIKAT_III" in members(data)["tse.csv"].decode().splitlines()[0]
    report = _report(data)
    assert report.passed, report.findings


def test_an_export_without_closings_passes():
    report = _report(export([]))
    assert report.passed, report.findings
    assert report.stats["closings"] == 0


def test_not_a_zip():
    report = _report(b"PK but not really")
    assert error_codes(report) == {"E_NOT_A_ZIP"}
    assert not report.passed


def _without(name: str) -> bytes:
    return replace_member(VALID, name, lambda _: None)


def _with(name: str, data: bytes) -> bytes:
    return make_zip({**members(VALID), name: data})


@pytest.mark.parametrize(("data", "expected"), [
    (_without("gdpdu-01-09-2004.dtd"), {"E_DTD_MISSING"}),
    (replace_member(VALID, "gdpdu-01-09-2004.dtd", lambda dtd: dtd.replace(b"\r\n", b"\n")), {"E_DTD_CHANGED"}),
    (_without("index.xml"), {"E_INDEX_MISSING"}),
    (_with("readme.txt", b"hello"), {"E_FOREIGN_FILE"}),
    (_with("README.TXT", b"hello"), {"E_FOREIGN_FILE", "E_NAME_CASE"}),
    (_with("docs/lines.csv", b"x"), {"E_FOREIGN_FILE", "E_NOT_FLAT"}),
    (_without("references.csv"), {"E_FILE_MISSING"}),
])
def test_archive_structure(data, expected):
    report = _report(data)
    assert error_codes(report) == expected, report.findings
    assert not report.passed


def test_a_missing_file_skips_the_content_checks():
    report = _report(_without("lines.csv"))
    assert "W_CONTENT_NOT_CHECKED" in codes(report, "warning")
    assert report.stats["content_checked"] is False


def test_a_duplicate_member():
    content = members(VALID)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, data in content.items():
            archive.writestr(name, data)
        archive.writestr("vat.csv", content["vat.csv"])
    assert error_codes(_report(out.getvalue())) == {"E_DUPLICATE_MEMBER"}


def _index(change) -> bytes:
    return replace_member(VALID, "index.xml", change)


def _vat_with_extra_column(raw: bytes) -> bytes:
    lines = raw.split(b"\r\n")[:-1]
    return b"\r\n".join([lines[0] + b";EXTRA"] + [line + b";" for line in lines[1:]]) + b"\r\n"


def _index_with_vat_extra(data: bytes) -> bytes:
    anchor = data.index(b"<Name>UST_BESCHR</Name>")
    end = data.index(b"</VariableColumn>\r\n", anchor) + len(b"</VariableColumn>\r\n")
    block = (b"        <VariableColumn>\r\n          <Name>EXTRA</Name>\r\n          <AlphaNumeric />\r\n"
             b"          <MaxLength>10</MaxLength>\r\n        </VariableColumn>\r\n")
    return data[:end] + block + data[end:]


def _drop_table(data: bytes, url: bytes) -> bytes:
    start = data.rindex(b"<Table>", 0, data.index(b"<URL>" + url + b"</URL>"))
    end = data.index(b"</Table>", start) + len(b"</Table>\r\n")
    return data[:start] + data[end:]


@pytest.mark.parametrize(("data", "expected"), [
    (_index(lambda x: x.replace(b"</DataSet>", b"")), {"E_INDEX_XML"}),
    (_index(lambda x: x.replace(b"<UTF8 />", b"<UTF8 /><Unknown />", 1)), {"E_INDEX_DTD"}),
    (_index(lambda x: x.replace(b"<MaxLength>255</MaxLength>", b"<MaxLength>300</MaxLength>", 1)),
     {"E_INDEX_COLUMNS"}),
    (_index(lambda x: x.replace(b"<DecimalSymbol>,</DecimalSymbol>", b"<DecimalSymbol>.</DecimalSymbol>", 1)),
     {"E_INDEX_FORMAT"}),
    (replace_member(_index(lambda x: _drop_table(x, b"references.csv")), "references.csv", lambda _: None),
     {"E_INDEX_TABLES"}),
    (replace_member(_index(_index_with_vat_extra), "vat.csv", _vat_with_extra_column), {"E_INDEX_EXTRA_COLUMN"}),
])
def test_index_xml(data, expected):
    report = _report(data)
    assert error_codes(report) == expected, report.findings


def _vat_line(raw: bytes, number: int, change) -> bytes:
    lines = raw.split(b"\r\n")
    lines[number - 1] = change(lines[number - 1])
    return b"\r\n".join(lines)


def _unused_vat_line(raw: bytes) -> int:
    """The line number of the first vat.csv row of VAT key 43 (used by no receipt)."""
    for number, line in enumerate(raw.split(b"\r\n"), start=1):
        if line.split(b";")[3:4] == [b"43"]:
            return number
    raise AssertionError("no key 43")


VAT = members(VALID)["vat.csv"]
VAT_43 = _unused_vat_line(VAT)


@pytest.mark.parametrize(("change", "code", "line"), [
    (lambda raw: codecs.BOM_UTF8 + raw, "E_BOM", 1),
    (lambda raw: _vat_line(raw, VAT_43, lambda x: x + b"\n" + x.replace(b";43;", b";44;"))[:-2] + b"\n",
     "E_RECORD_DELIMITER", VAT_43),
    (lambda raw: _vat_line(raw, VAT_43, lambda x: x.replace(b";8,40;", b";8.40;")), "E_NUMBER_FORMAT", VAT_43),
    (lambda raw: _vat_line(raw, VAT_43, lambda x: x + b";"), "E_FIELD_COUNT", VAT_43),
    (lambda raw: _vat_line(raw, VAT_43, lambda x: x + b"x" * 60), "E_TOO_LONG", VAT_43),
    (lambda raw: _vat_line(raw, VAT_43, lambda x: x + b"\xff"), "E_ENCODING", None),  # decoded in blocks
    (lambda raw: raw.replace(b"UST_SATZ;UST_BESCHR", b"UST_BESCHR;UST_SATZ", 1), "E_HEADER", 1),
])
def test_file_format_problems_are_reported_with_file_and_line(change, code, line):
    report = _report(replace_member(VALID, "vat.csv", change))
    assert error_codes(report) == {code}, report.findings
    finding = next(f for f in report.findings if f.code == code)
    assert finding.file == "vat.csv"
    if line is not None:
        assert finding.line == line


def test_an_unreadable_file_skips_the_content_checks():
    report = _report(replace_member(VALID, "vat.csv", lambda raw: raw.replace(b"UST_SATZ", b"UST_RATE", 1)))
    assert "W_CONTENT_NOT_CHECKED" in codes(report, "warning")


def test_findings_are_capped_and_counted():
    def many_bad_rows(rows):
        index = next(i for i, row in enumerate(rows) if row["UST_SCHLUESSEL"] == "43")
        return rows[:index + 1] + [{**rows[index], "UST_SATZ": "8.40"} for _ in range(620)] + rows[index + 1:]

    report = _report(edit_csv(VALID, "vat.csv", many_bad_rows))
    assert len(report.findings) == 500
    # the format check keeps 500 problems per file and counts the rest
    assert report.stats["codes"] == {"E_NUMBER_FORMAT": 500, "E_FORMAT_UNLISTED": 120}
    assert report.stats["errors"] == 620
    assert report.truncated == 120
    data = report.as_json()
    assert data["passed"] is False
    assert data["truncated"] == 120
    assert len(data["findings"]) == 500
    assert set(data["findings"][0]) == {"code", "severity", "file", "line", "message"}


def test_as_json_of_a_passing_report():
    data = _report(VALID).as_json()
    assert data["passed"] is True and data["findings"] == [] and data["truncated"] == 0
    assert data["stats"]["errors"] == 0
