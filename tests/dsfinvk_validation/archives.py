"""Export archives for the validator tests: written by the real writer, then edited precisely.

- ``export(closings)`` writes ``ClosingRecord``s with ``exports.dsfinvk.writer.write_export``;
  ``closing(...)`` builds one from receipt specs (``tests.dsfinvk_documents``).
- ``members(data)`` / ``make_zip(members)`` take an archive apart and put one together from
  member bytes (e.g. CSV text), so broken archives can be crafted byte by byte.
- ``replace_member``, ``edit_csv`` (rows as dicts by column name), ``edit_cell`` and ``bump`` change
  one CSV member and re-zip.
"""

import csv
import io
import zipfile
from collections.abc import Callable
from decimal import Decimal

from exports.dsfinvk.writer import ClosingRecord, write_export
from tests.dsfinvk_documents import make_document, make_master, simple_receipts

__all__ = ["bump", "closing", "codes", "edit_cell", "edit_csv", "error_codes", "export", "make_zip", "members",
           "replace_member", "rules_export", "rows_of"]

CENT = Decimal("0.01")


def closing(z_nr: int, receipts: list[dict], *, kasse: str = "KASSE-01", first_bon: int = 1, first_tanr: int = 1,
            master: dict | None = None) -> ClosingRecord:
    document = make_document(receipts, first_bon=first_bon, first_tanr=first_tanr)
    return ClosingRecord(kasse, f"2026-11-{z_nr:02d}T22:00:00+01:00", z_nr, master or make_master(kasse), document)


def export(closings) -> bytes:
    out = io.BytesIO()
    write_export(closings, out)
    return out.getvalue()


def rules_export_records() -> list[ClosingRecord]:
    """Two registers: KASSE-01 with closings 1 (BON 1–6) and 2 (BON 7–9), KASSE-02 with closing 1.

    Closing 1 of KASSE-01: BON 1–4 = ``simple_receipts(4)``, BON 5 = a sale paid partly in CHF cash,
    BON 6 = a training receipt (AVTraining, not in the closing sums, no payment).
    """
    chf = {"lines": [{"text": "Torte", "vat_key": 2, "gross": Decimal("12.80")}],
           "payments": [{"typ": "Bar", "amount": Decimal("10.00"), "currency": "CHF", "base": Decimal("10.30")},
                        {"typ": "Bar", "amount": Decimal("2.50")}]}
    training = {"bon_typ": "AVTraining", "lines": [{"text": "Probe", "vat_key": 1, "gross": Decimal("2.00")}]}
    return [
        closing(1, simple_receipts(4) + [chf, training]),
        closing(2, simple_receipts(3), first_bon=7, first_tanr=7),
        closing(1, simple_receipts(2), kasse="KASSE-02"),
    ]


def rules_export() -> bytes:
    return export(rules_export_records())


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def make_zip(content: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in content.items():
            archive.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return out.getvalue()


def replace_member(data: bytes, name: str, change: Callable[[bytes], bytes | None]) -> bytes:
    """The archive with member ``name`` replaced by ``change(old bytes)`` (dropped when it returns None)."""
    content = members(data)
    new = change(content[name])
    if new is None:
        del content[name]
    else:
        content[name] = new
    return make_zip(content)


def _cell(value: str) -> str:
    if any(mark in value for mark in (";", '"', "\r", "\n")) or value != value.strip(" \t"):
        return '"' + value.replace('"', '""') + '"'
    return value


def rows_of(data: bytes, name: str) -> list[dict]:
    text = members(data)[name].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def edit_csv(data: bytes, name: str, change: Callable[[list[dict]], list[dict] | None]) -> bytes:
    """Re-zip with ``name``'s rows (dicts by column) as ``change(rows)`` leaves or returns them."""

    def rewrite(raw: bytes) -> bytes:
        reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=";")
        header = next(reader)
        rows = [dict(zip(header, values, strict=True)) for values in reader]
        result = change(rows)
        rows = rows if result is None else result
        lines = [";".join(header)] + [";".join(_cell(row[column]) for column in header) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    return replace_member(data, name, rewrite)


def _matches(row: dict, where: dict) -> bool:
    return all(row[column] == value for column, value in where.items())


def edit_cell(data: bytes, name: str, column: str, value: str | Callable[[str], str], **where: str) -> bytes:
    """Set ``column`` of the first row of ``name`` matching ``where`` (column=value) to ``value``."""

    def change(rows):
        for row in rows:
            if _matches(row, where):
                row[column] = value(row[column]) if callable(value) else value
                return
        raise AssertionError(f"no row of {name} matches {where}")

    return edit_csv(data, name, change)


def bump(value: str, by: Decimal = CENT) -> str:
    """A CSV number plus ``by``, with the same number of decimals (``"3,20000"`` → ``"3,21000"``)."""
    decimals = len(value.split(",")[1]) if "," in value else 0
    number = Decimal(value.replace(",", ".")) + by
    return f"{number:.{max(decimals, 2)}f}".replace(".", ",")


def codes(report, severity: str | None = None) -> set[str]:
    return {f.code for f in report.findings if severity is None or f.severity == severity}


def error_codes(report) -> set[str]:
    return codes(report, "error")
