"""Archive structure and ``index.xml`` checks (reference/dsfinvk.md §2, §5, §11.3 items 1–2).

- The archive holds exactly ``index.xml``, ``gdpdu-01-09-2004.dtd`` (the shipped bytes) and the
  CSV files ``index.xml`` declares; flat, lower-case names, nothing else, every declared file present.
- ``index.xml`` validates against the relaxed DTD (``exports.dsfinvk.index_check``) and has the
  structure of the published file (``schema.load_tables()``): the same tables in the same order with
  the same columns, types and formats; the only columns that may be appended are further certificate
  chunks ``TSE_ZERTIFIKAT_III``, ``_IV``, … (AN 1000) in ``tse.csv``. Every table declares the
  DSFinV-K CSV dialect (UTF-8, ``,``/``.``, data from line 2, ``;``, CRLF, ``"``).
"""

import xml.etree.ElementTree as ET  # noqa: S405  (parsed without entities, after the DTD check)
from collections import Counter

from exports.dsfinvk.index_check import check_index_xml
from exports.dsfinvk.index_xml import CERTIFICATE_CHUNK, certificate_column_names
from exports.dsfinvk.schema import ALPHANUMERIC, DTD_FILE, Table, load_tables, parse_tables
from exports.dsfinvk.validation.report import Findings

__all__ = ["DTD_NAME", "INDEX_NAME", "check_structure"]

INDEX_NAME = "index.xml"
DTD_NAME = "gdpdu-01-09-2004.dtd"
_DIALECT = (("DecimalSymbol", ","), ("DigitGroupingSymbol", "."), ("Range/From", "2"),
            ("VariableLength/ColumnDelimiter", ";"), ("VariableLength/RecordDelimiter", "\r\n"),
            ("VariableLength/TextEncapsulator", '"'))


def _check_members(names: list[str], findings: Findings) -> None:
    for name, count in Counter(names).items():
        if count > 1:
            findings.error("E_DUPLICATE_MEMBER", name, None, f"the archive holds {count} members of this name")
    for name in dict.fromkeys(names):
        if "/" in name or "\\" in name:
            findings.error("E_NOT_FLAT", name, None, "the archive must be flat (no folders)")
        elif name != name.lower():
            findings.error("E_NAME_CASE", name, None, "file names must be lower-case")


def _column_signature(column) -> tuple:
    return (column.name, column.kind, column.max_length, column.accuracy)


def _compare_tables(declared: tuple[Table, ...], findings: Findings) -> None:
    published = load_tables()
    if [(t.url, t.name) for t in declared] != [(t.url, t.name) for t in published]:
        findings.error("E_INDEX_TABLES", INDEX_NAME, None,
                       "the tables differ from the published index.xml: "
                       + ", ".join(t.url for t in declared))
    by_url = {t.url: t for t in declared}
    for official in published:
        table = by_url.get(official.url)
        if table is None:
            continue
        own = [_column_signature(c) for c in table.columns[:len(official.columns)]]
        if own != [_column_signature(c) for c in official.columns]:
            findings.error("E_INDEX_COLUMNS", INDEX_NAME, None,
                           f"{official.url}: the columns differ from the published index.xml")
            continue
        extra = table.columns[len(official.columns):]
        if not extra:
            continue
        allowed = certificate_column_names(len(extra) + 2)[2:] if official.url == "tse.csv" else []
        if [_column_signature(c) for c in extra] != [(n, ALPHANUMERIC, CERTIFICATE_CHUNK, 0) for n in allowed]:
            findings.error("E_INDEX_EXTRA_COLUMN", INDEX_NAME, None,
                           f"{official.url}: appended columns {', '.join(c.name for c in extra)} are not allowed "
                           "(only TSE_ZERTIFIKAT_III… AN 1000 in tse.csv)")


def _check_dialect(data: bytes, findings: Findings) -> None:
    root = ET.fromstring(data)  # noqa: S314  (well-formed and DTD-valid at this point; no entities resolved)
    for element in root.iter("Table"):
        url = (element.findtext("URL") or "").strip()
        if element.find("UTF8") is None:
            findings.error("E_INDEX_FORMAT", INDEX_NAME, None, f"{url}: UTF8 is not declared")
        for path, expected in _DIALECT:
            value = element.findtext(path)
            if value is None or (value.strip() if expected.strip() else value) != expected:
                findings.error("E_INDEX_FORMAT", INDEX_NAME, None,
                               f"{url}: {path} is {value!r}, expected {expected!r}")


def check_structure(zf, findings: Findings) -> tuple[Table, ...] | None:
    """The tables the archive's ``index.xml`` declares, or ``None`` when it cannot be read."""
    names = zf.namelist()
    _check_members(names, findings)
    if DTD_NAME not in names:
        findings.error("E_DTD_MISSING", DTD_NAME, None, "the DTD is missing")
    elif zf.read(DTD_NAME) != DTD_FILE.read_bytes():
        findings.error("E_DTD_CHANGED", DTD_NAME, None, "the DTD differs from the published file")
    if INDEX_NAME not in names:
        findings.error("E_INDEX_MISSING", INDEX_NAME, None, "index.xml is missing")
        return None
    data = zf.read(INDEX_NAME)
    result = check_index_xml(data)
    if not result.ok and result.errors and result.errors[0].startswith("not well-formed"):
        findings.error("E_INDEX_XML", INDEX_NAME, None, result.errors[0])
        return None
    for error in result.errors:
        findings.error("E_INDEX_DTD", INDEX_NAME, None, error)
    try:
        declared = parse_tables(data)
        _check_dialect(data, findings)
    except (ValueError, ET.ParseError) as exc:
        findings.error("E_INDEX_XML", INDEX_NAME, None, str(exc))
        return None
    _compare_tables(declared, findings)
    urls = [t.url for t in declared]
    present = set(names)
    for url in dict.fromkeys(urls):
        if url not in present:
            findings.error("E_FILE_MISSING", url, None, "declared in index.xml but not in the archive")
    for name in dict.fromkeys(names):
        if name not in urls and name not in (INDEX_NAME, DTD_NAME):
            findings.error("E_FOREIGN_FILE", name, None, "not declared in index.xml")
    return declared
