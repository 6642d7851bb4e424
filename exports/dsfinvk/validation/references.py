"""Keys and references (reference/dsfinvk.md §8 rules 1–4 and the time order of rule 13).

- ``E_DUPLICATE_CLOSING``: a closing key twice in cashpointclosing.csv; ``E_ROWS_PER_CLOSING``:
  not exactly one location.csv / cashregister.csv row per closing; ``E_Z_NR_ORDER``: ``Z_NR`` not
  strictly increasing per ``Z_KASSE_ID`` (in cashpointclosing.csv order). Rows whose key is not a
  closing of cashpointclosing.csv: ``E_UNKNOWN_CLOSING`` (``reading``).
- ``E_DUPLICATE_BON_ID`` / ``E_DUPLICATE_LINE``: BON_ID twice in a closing's transactions.csv,
  (BON_ID, POS_ZEILE) twice in lines.csv; ``E_UNKNOWN_BON_ID`` / ``E_UNKNOWN_LINE``: a
  transaction-/line-level row without its transactions.csv / lines.csv row.
- ``E_Z_START_ID`` / ``E_Z_ENDE_ID``: not the first / last BON_ID of the closing's transactions.csv.
- ``E_UNKNOWN_VAT_KEY``, ``E_UNKNOWN_TSE_ID``, ``E_UNKNOWN_AGENCY``: a VAT key not in the closing's
  vat.csv, a TSE_ID not in its tse.csv, a non-zero AGENTUR_ID not in its pa.csv.
- ``E_BON_TIME_ORDER``: BON_START after BON_ENDE; ``E_TIMESTAMP``: a time that cannot be read.
"""

from exports.dsfinvk.validation.lookup import ClosingLookup
from exports.dsfinvk.validation.reading import CLOSING_FILE, Closing, Row, TableReader
from exports.dsfinvk.validation.report import Findings
from exports.dsfinvk.validation.values import integer, timestamp

__all__ = ["check_references", "closing_keys"]

_TRANSACTION_FILES = ("datapayment.csv", "transactions_tse.csv", "transactions_vat.csv", "allocation_groups.csv",
                      "lines.csv")
_LINE_FILES = ("itemamounts.csv", "subitems.csv", "lines_vat.csv")
_VAT_COLUMNS = (("businesscases.csv", "UST_SCHLUESSEL"), ("transactions_vat.csv", "UST_SCHLUESSEL"),
                ("lines_vat.csv", "UST_SCHLUESSEL"), ("itemamounts.csv", "UST_SCHLUESSEL"),
                ("subitems.csv", "ZI_UST_SCHLUESSEL"))
_AGENCY_FILES = ("businesscases.csv", "lines.csv")


def closing_keys(reader: TableReader, findings: Findings) -> list[tuple[str, str, str]]:
    """The distinct closing keys of cashpointclosing.csv in file order (checks duplicates, Z_NR order)."""
    keys: dict[tuple[str, str, str], None] = {}
    last_number: dict[str, int] = {}
    while (row := reader.next()) is not None:
        key = row.key
        if key in keys:
            findings.error("E_DUPLICATE_CLOSING", CLOSING_FILE, row.line,
                           f"closing {'/'.join(key)} has more than one row")
            continue
        keys[key] = None
        number = integer(row["Z_NR"])
        if number is None:
            continue
        previous = last_number.get(row["Z_KASSE_ID"])
        if previous is not None and number <= previous:
            findings.error("E_Z_NR_ORDER", CLOSING_FILE, row.line,
                           f"Z_NR {number} of {row['Z_KASSE_ID']} does not follow {previous}")
        last_number[row["Z_KASSE_ID"]] = number
    return list(keys)


def _one_row_each(closing: Closing, findings: Findings) -> None:
    for file in ("location.csv", "cashregister.csv"):
        rows = closing[file]
        if len(rows) != 1:
            line = rows[1].line if len(rows) > 1 else None
            findings.error("E_ROWS_PER_CLOSING", file, line,
                           f"{len(rows)} rows for closing {'/'.join(closing.key)}, exactly one expected")


def _transactions(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    seen: set[str] = set()
    for row in closing["transactions.csv"]:
        if row["BON_ID"] in seen:
            findings.error("E_DUPLICATE_BON_ID", "transactions.csv", row.line, f"BON_ID {row['BON_ID']!r} repeated")
        seen.add(row["BON_ID"])
        start, end = timestamp(row["BON_START"]), timestamp(row["BON_ENDE"])
        for column, value in (("BON_START", start), ("BON_ENDE", end)):
            if value is None:
                findings.error("E_TIMESTAMP", "transactions.csv", row.line, f"{column} {row[column]!r} is unreadable")
        if start is not None and end is not None and start > end:
            findings.error("E_BON_TIME_ORDER", "transactions.csv", row.line, "BON_START is after BON_ENDE")
    seen_lines: set[tuple[str, str]] = set()
    for row in closing["lines.csv"]:
        key = (row["BON_ID"], row["POS_ZEILE"])
        if key in seen_lines:
            findings.error("E_DUPLICATE_LINE", "lines.csv", row.line, f"line {key} repeated")
        seen_lines.add(key)
    for file in _TRANSACTION_FILES:
        for row in closing[file]:
            if row["BON_ID"] not in lookup.heads:
                findings.error("E_UNKNOWN_BON_ID", file, row.line,
                               f"BON_ID {row['BON_ID']!r} is not in transactions.csv")
    for file in _LINE_FILES:
        for row in closing[file]:
            _line_exists(file, row, lookup, findings)
    for row in closing["references.csv"]:
        if row["BON_ID"] not in lookup.heads:
            findings.error("E_UNKNOWN_BON_ID", "references.csv", row.line,
                           f"BON_ID {row['BON_ID']!r} is not in transactions.csv")
        elif row["POS_ZEILE"]:
            _line_exists("references.csv", row, lookup, findings)


def _line_exists(file: str, row: Row, lookup: ClosingLookup, findings: Findings) -> None:
    if (row["BON_ID"], row["POS_ZEILE"]) not in lookup.lines:
        findings.error("E_UNKNOWN_LINE", file, row.line,
                       f"line {row['BON_ID']}/{row['POS_ZEILE']} is not in lines.csv")


def _start_end(closing: Closing, findings: Findings) -> None:
    rows = closing[CLOSING_FILE]
    if not rows:
        return
    head = rows[0]
    bons = closing["transactions.csv"]
    first, last = (bons[0]["BON_ID"], bons[-1]["BON_ID"]) if bons else ("", "")
    for column, expected in (("Z_START_ID", first), ("Z_ENDE_ID", last)):
        if head[column] != expected:
            findings.error(f"E_{column}", CLOSING_FILE, head.line,
                           f"{column} is {head[column]!r}, the closing's transactions run {first!r}…{last!r}")


def _declared(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    vat_keys = {integer(row["UST_SCHLUESSEL"]) for row in closing["vat.csv"]}
    for file, column in _VAT_COLUMNS:
        for row in closing[file]:
            if row[column] and integer(row[column]) not in vat_keys:
                findings.error("E_UNKNOWN_VAT_KEY", file, row.line, f"{column} {row[column]} is not in vat.csv")
    for row in closing["transactions_tse.csv"]:
        if row["TSE_ID"] not in lookup.tse_rows:
            findings.error("E_UNKNOWN_TSE_ID", "transactions_tse.csv", row.line,
                           f"TSE_ID {row['TSE_ID']} is not in tse.csv")
    agencies = {integer(row["AGENTUR_ID"]) for row in closing["pa.csv"]}
    for file in _AGENCY_FILES:
        for row in closing[file]:
            agency = integer(row["AGENTUR_ID"])
            if agency and agency not in agencies:
                findings.error("E_UNKNOWN_AGENCY", file, row.line, f"AGENTUR_ID {agency} is not in pa.csv")


def check_references(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    _one_row_each(closing, findings)
    _transactions(closing, lookup, findings)
    _start_end(closing, findings)
    _declared(closing, lookup, findings)
