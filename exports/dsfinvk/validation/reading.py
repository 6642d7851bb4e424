"""CSV rows of an export, read closing by closing (memory flat in the number of closings).

The writer groups the rows of every file by closing, in the order of ``cashpointclosing.csv``.
:class:`ClosingReader` opens all member files at once and, for each closing key of
``cashpointclosing.csv`` in turn, takes the consecutive rows with that key from every file; only
the current closing's rows are held. Rows of a closing that was already passed (the file is not
grouped in cashpointclosing order) are reported as ``E_NOT_GROUPED``, rows whose key is not in
``cashpointclosing.csv`` as ``E_UNKNOWN_CLOSING``; neither is checked further.

Rows that the format check (``csv_check``) already rejected for their field count are skipped; a
file that stops parsing (syntax, encoding) simply ends here — the format check reported it.
"""

import csv
import io
from dataclasses import dataclass, field

from exports.dsfinvk.schema import Table
from exports.dsfinvk.validation.report import Findings

__all__ = ["CLOSING_FILE", "Closing", "ClosingReader", "Row", "TableReader"]

CLOSING_FILE = "cashpointclosing.csv"


class Row:
    """One CSV record: values by column name (``row["BON_ID"]``) and its first physical line."""

    __slots__ = ("index", "line", "values")

    def __init__(self, values: list[str], line: int, index: dict[str, int]):
        self.values, self.line, self.index = values, line, index

    def __getitem__(self, name: str) -> str:
        return self.values[self.index[name]]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.values[0], self.values[1], self.values[2])


class TableReader:
    """The data rows of one member file, one at a time."""

    def __init__(self, zf, table: Table):
        self.table = table
        self.index = {column.name: number for number, column in enumerate(table.columns)}
        self._width = len(table.columns)
        self._handle = zf.open(table.url)
        self._text = io.TextIOWrapper(self._handle, encoding="utf-8", newline="")
        self._reader = csv.reader(self._text, delimiter=";", quotechar='"', doublequote=True, strict=True)
        self._last_line = 0
        self._done = False
        self.rows = 0
        self._read()  # the header

    def _read(self) -> list[str] | None:
        if self._done:
            return None
        try:
            return next(self._reader)
        except (StopIteration, csv.Error, UnicodeDecodeError):
            self._done = True
            return None

    def next(self) -> Row | None:
        while True:
            self._last_line = self._reader.line_num
            values = self._read()
            if values is None:
                return None
            if len(values) == self._width:
                self.rows += 1
                return Row(values, self._last_line + 1, self.index)

    def close(self) -> None:
        self._text.close()


class _Grouped:
    def __init__(self, reader: TableReader, findings: Findings, *, report_order: bool = True):
        self.reader, self.findings, self.report_order = reader, findings, report_order
        self.current = reader.next()

    def take(self, position: dict, number: int) -> list[Row]:
        """The consecutive rows of closing ``number`` (0-based position in cashpointclosing.csv)."""
        rows: list[Row] = []
        while self.current is not None:
            key = self.current.key
            where = position.get(key)
            if where is None:
                self._skip(key, "E_UNKNOWN_CLOSING", "rows of a closing that is not in cashpointclosing.csv")
            elif where < number:
                self._skip(key, "E_NOT_GROUPED", "rows of a closing that came earlier: the file is not grouped "
                           "in cashpointclosing.csv order")
            elif where == number:
                rows.extend(self._group(key))  # continues across rows of unknown closings
            else:
                break
        return rows

    def _group(self, key) -> list[Row]:
        rows = []
        while self.current is not None and self.current.key == key:
            rows.append(self.current)
            self.current = self.reader.next()
        return rows

    def _skip(self, key, code: str, message: str) -> None:
        line = self.current.line
        count = len(self._group(key))
        if self.report_order or code != "E_NOT_GROUPED":
            self.findings.error(code, self.reader.table.url, line, f"{count} {message} ({'/'.join(key)})")


@dataclass
class Closing:
    """The rows of one closing in every file (``rows[file]``) and its position in cashpointclosing.csv."""

    number: int
    key: tuple[str, str, str]
    rows: dict[str, list[Row]] = field(default_factory=dict)

    def __getitem__(self, file: str) -> list[Row]:
        return self.rows.get(file, [])


class ClosingReader:
    """Iterates the closings of an export; ``keys`` = the distinct closing keys in file order."""

    def __init__(self, zf, tables: dict[str, Table], keys: list[tuple[str, str, str]], findings: Findings):
        self.keys = keys
        self.position = {key: number for number, key in enumerate(keys)}
        self.readers = {url: TableReader(zf, table) for url, table in tables.items()}
        self._grouped = {url: _Grouped(reader, findings, report_order=url != CLOSING_FILE)
                         for url, reader in self.readers.items()}

    def __iter__(self):
        for number, key in enumerate(self.keys):
            yield Closing(number, key, {url: grouped.take(self.position, number)
                                        for url, grouped in self._grouped.items()})
        for grouped in self._grouped.values():
            grouped.take(self.position, len(self.keys))

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
