"""Offline validation of a DSFinV-K export archive (reference/dsfinvk.md §11.3, §8).

``validate_export(fileobj_or_path)`` checks a ZIP written by ``exports.dsfinvk.writer`` (or anyone
else) and returns a :class:`ValidationReport`:

1. archive structure and ``index.xml`` (``validation.structure``);
2. every CSV file against its ``index.xml`` table with ``csv_check.check_table_file`` (BOM, CRLF,
   header, field count, number format, lengths, UTF-8; its codes are kept);
3. the content, closing by closing (``validation.reading``): values (``validation.values``), keys
   and references (``validation.references``), sums (``validation.totals``) and TSE data
   (``validation.tse``).

Step 3 needs all 20 published tables with readable files; when the structure or format checks
found a file that cannot be read as its table (missing, other columns, header, encoding, CSV
syntax), step 3 is skipped with ``W_CONTENT_NOT_CHECKED``.

Memory: every file is streamed. Step 3 opens all members at once and reads them in lockstep, one
closing at a time (the writer groups every file by closing in cashpointclosing.csv order; other
orders are ``E_NOT_GROUPED``); only the current closing's rows, the list of closing keys and the
per-TSE counters are held.

Findings carry a stable code, the file and the physical line (1 = header) where possible; the
report keeps the first 500 (``truncated`` counts the rest, ``stats["codes"]`` counts all; the
format check lists up to 500 problems per file and only counts the rest, as ``E_FORMAT_UNLISTED``).

Stats: ``closings``, ``transactions``, ``lines`` (content checked), ``rows`` per file (format
check), ``content_checked``, ``errors``, ``warnings`` and ``codes`` (count per code).
"""

import zipfile
from pathlib import Path

from exports.dsfinvk.csv_check import check_table_file
from exports.dsfinvk.schema import load_tables
from exports.dsfinvk.validation.lookup import ClosingLookup
from exports.dsfinvk.validation.reading import CLOSING_FILE, ClosingReader, TableReader
from exports.dsfinvk.validation.references import check_references, closing_keys
from exports.dsfinvk.validation.report import ERROR, WARNING, Finding, Findings, ValidationReport
from exports.dsfinvk.validation.structure import check_structure
from exports.dsfinvk.validation.totals import check_totals
from exports.dsfinvk.validation.tse import TseState
from exports.dsfinvk.validation.values import check_values

__all__ = ["ERROR", "WARNING", "Finding", "ValidationReport", "validate_export"]

_UNREADABLE = frozenset({"E_HEADER", "E_ENCODING", "E_CSV_SYNTAX", "E_EMPTY_FILE", "E_UNTERMINATED_QUOTE"})


def _check_formats(zf, tables, findings: Findings, stats: dict) -> set[str]:
    """Runs the single-file check on every declared file; returns the files that cannot be read."""
    present = set(zf.namelist())
    unreadable = set()
    for table in tables:
        if table.url not in present:
            continue
        with zf.open(table.url) as handle:
            result = check_table_file(table, handle, limit=findings.limit)
        stats["rows"][table.url] = result.records
        for problem in result.problems:
            column = f"{problem.column}: " if problem.column else ""
            findings.error(problem.code, problem.file, problem.record, column + problem.message)
        findings.count_unlisted("E_FORMAT_UNLISTED", result.problem_count - len(result.problems))
        if any(problem.code in _UNREADABLE for problem in result.problems):
            unreadable.add(table.url)
    return unreadable


def _content_checkable(zf, tables, unreadable: set[str], findings: Findings) -> dict | None:
    declared = {table.url: table for table in tables}
    present = set(zf.namelist())
    reasons = []
    for official in load_tables():
        table = declared.get(official.url)
        if table is None or official.url not in present:
            reasons.append(f"{official.url} missing")
        elif table.column_names[:len(official.columns)] != official.column_names:
            reasons.append(f"{official.url} has other columns")
        elif official.url in unreadable:
            reasons.append(f"{official.url} unreadable")
    if reasons:
        findings.warning("W_CONTENT_NOT_CHECKED", "", None, "content checks skipped: " + ", ".join(reasons))
        return None
    return {official.url: declared[official.url] for official in load_tables()}


def _check_content(zf, tables: dict, findings: Findings, stats: dict) -> None:
    head = TableReader(zf, tables[CLOSING_FILE])
    try:
        keys = closing_keys(head, findings)
    finally:
        head.close()
    reader = ClosingReader(zf, tables, keys, findings)
    tse = TseState()
    try:
        for closing in reader:
            lookup = ClosingLookup(closing)
            for file, rows in closing.rows.items():
                check_values(file, rows, findings)
            check_references(closing, lookup, findings)
            check_totals(closing, lookup, findings)
            tse.check_closing(closing, lookup, findings)
            stats["closings"] += 1
            stats["transactions"] += len(closing["transactions.csv"])
            stats["lines"] += len(closing["lines.csv"])
    finally:
        reader.close()
    stats["content_checked"] = True


def validate_export(fileobj_or_path) -> ValidationReport:
    """Check the DSFinV-K ZIP at ``fileobj_or_path`` (a path or a binary, seekable file object)."""
    findings = Findings()
    stats = {"closings": 0, "transactions": 0, "lines": 0, "rows": {}, "content_checked": False}
    source = str(fileobj_or_path) if isinstance(fileobj_or_path, Path) else fileobj_or_path
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        findings.error("E_NOT_A_ZIP", "", None, f"the export is not a readable ZIP archive: {exc}")
        return findings.report(stats)
    with zf:
        tables = check_structure(zf, findings)
        if tables is not None:
            unreadable = _check_formats(zf, tables, findings, stats)
            content_tables = _content_checkable(zf, tables, unreadable, findings)
            if content_tables is not None:
                _check_content(zf, content_tables, findings, stats)
    return findings.report(stats)
