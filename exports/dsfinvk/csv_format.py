"""The CSV format of a DSFinV-K table (reference/dsfinvk.md §4, §7), written row by row.

- UTF-8 without BOM, ``;`` between columns, CRLF after every record (the last one included), the
  header = the column names in ``index.xml`` order.
- AlphaNumeric: quoted with ``"`` only when the value holds ``;``, ``"``, CR, LF or leading/trailing
  blanks (inner ``"`` doubled); a value longer than ``MaxLength`` characters is refused, never
  truncated. Booleans are written ``1``/``0``.
- Numeric: ``Decimal`` or ``int`` only (never ``float``: money is exact), decimal comma, ``-``
  prefix, no digit grouping, exactly the declared number of decimals; a value with more
  significant decimals than declared is refused.
- Empty value (``None`` or ``""``) = nothing between the separators.

:class:`TableWriter` writes to a binary file object one row at a time, so memory does not grow
with the number of rows.
"""

from decimal import Decimal

from exports.dsfinvk.schema import Column, Table

__all__ = ["DsfinvkValueError", "TableWriter", "format_value"]

_NEEDS_QUOTES = (";", '"', "\r", "\n")


class DsfinvkValueError(ValueError):
    """A value that the column cannot hold; ``code`` is stable (``E_…``)."""

    def __init__(self, column: Column, value, code: str, message: str):
        super().__init__(f"{column.name}: {message} ({value!r})")
        self.column = column.name
        self.value = value
        self.code = code


def _numeric(column: Column, value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise DsfinvkValueError(column, value, "E_NOT_A_NUMBER", "a Decimal or an int is required")
    number = Decimal(value)
    if not number.is_finite():
        raise DsfinvkValueError(column, value, "E_NOT_A_NUMBER", "the number is not finite")
    quantum = Decimal(1).scaleb(-column.accuracy)
    rounded = number.quantize(quantum)
    if rounded != number:
        raise DsfinvkValueError(column, value, "E_TOO_MANY_DECIMALS",
                                f"at most {column.accuracy} decimals are allowed")
    text = f"{rounded:f}"
    if text.startswith("-") and rounded == 0:
        text = text[1:]  # no "-0,00"
    return text.replace(".", ",")


def _alphanumeric(column: Column, value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if not isinstance(value, str):
        raise DsfinvkValueError(column, value, "E_NOT_TEXT", "a string is required")
    if column.max_length is not None and len(value) > column.max_length:
        raise DsfinvkValueError(column, value, "E_TOO_LONG", f"at most {column.max_length} characters are allowed")
    if any(mark in value for mark in _NEEDS_QUOTES) or value != value.strip(" \t"):
        return '"' + value.replace('"', '""') + '"'
    return value


def format_value(column: Column, value) -> str:
    """The CSV text of ``value`` in ``column`` (without the separators)."""
    if value is None or value == "":
        return ""
    return _numeric(column, value) if column.is_numeric else _alphanumeric(column, value)


class TableWriter:
    """Writes one table (header first) to a binary file object; rows are mappings by column name."""

    def __init__(self, table: Table, fileobj):
        self.table = table
        self.fileobj = fileobj
        self.rows = 0
        self._names = set(table.column_names)
        self.fileobj.write(self._record(table.column_names))

    @staticmethod
    def _record(cells) -> bytes:
        return (";".join(cells) + "\r\n").encode("utf-8")

    def write(self, row: dict) -> None:
        unknown = set(row) - self._names
        if unknown:
            raise KeyError(f"{self.table.url}: unknown columns {sorted(unknown)}")
        self.fileobj.write(self._record(format_value(column, row.get(column.name)) for column in self.table.columns))
        self.rows += 1
