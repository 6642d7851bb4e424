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
with the number of rows. :func:`column_formatter` is the same format as one precomputed function
per column (for the exporter's hot path); it also takes the closing document's decimal strings
(``"12.5"``, dot decimal, exactly what ``format_value(column, Decimal("12.5"))`` gives).
"""

import re
from decimal import Decimal, InvalidOperation

from exports.dsfinvk.schema import Column, Table

__all__ = ["DsfinvkValueError", "TableWriter", "column_formatter", "format_value"]

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
    try:
        rounded = number.quantize(quantum)
    except InvalidOperation as exc:  # more digits than the decimal context holds
        raise DsfinvkValueError(column, value, "E_NOT_A_NUMBER", "the number has too many digits") from exc
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


_DECIMAL_STRING = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _decimal_from_string(column: Column, value: str) -> Decimal:
    if not _DECIMAL_STRING.fullmatch(value):
        raise DsfinvkValueError(column, value, "E_NOT_A_NUMBER", "a decimal string with a dot is required")
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise DsfinvkValueError(column, value, "E_NOT_A_NUMBER", "not a decimal") from exc


_DIGITS = 28  # the default decimal context's precision: format_value refuses longer numbers


def _decimal_string(column: Column, value: str) -> str:
    """``format_value(column, Decimal(value))`` for a dot-decimal string, by string operations where that is exact."""
    accuracy = column.accuracy
    whole, dot, fraction = value.partition(".")
    digits = whole[1:] if whole[:1] == "-" else whole
    if not (digits.isascii() and digits.isdigit() and (digits[0] != "0" or len(digits) == 1)
            and (not dot or (fraction.isascii() and fraction.isdigit())) and len(digits) + accuracy <= _DIGITS):
        return _numeric(column, _decimal_from_string(column, value))  # leading zeros, huge, or refused
    if len(fraction) > accuracy:
        if fraction[accuracy:].strip("0"):
            return _numeric(column, _decimal_from_string(column, value))  # refuses: too many decimals
        fraction = fraction[:accuracy]
    else:
        fraction += "0" * (accuracy - len(fraction))
    if digits == "0" and whole != digits and not fraction.strip("0"):
        whole = "0"  # no "-0,00"
    return whole + "," + fraction if accuracy else whole


_CACHE_SIZE = 4096


def _numeric_formatter(column: Column):
    int_suffix = "," + "0" * column.accuracy if column.accuracy else ""
    int_limit = 10 ** (_DIGITS - column.accuracy)
    cache: dict[str, str] = {}  # amounts and prices repeat a lot

    def numeric(value) -> str:
        kind = type(value)
        if kind is str:
            text = cache.get(value)
            if text is None:
                if not value:
                    return ""
                text = _decimal_string(column, value)
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[value] = text
            return text
        if kind is int and -int_limit < value < int_limit:
            return str(value) + int_suffix
        if value is None:
            return ""
        return _numeric(column, value)

    return numeric


def _alphanumeric_formatter(column: Column):
    max_length = column.max_length if column.max_length is not None else float("inf")

    def alphanumeric(value) -> str:
        if type(value) is str:
            if not value:
                return ""
            if len(value) > max_length:
                return _alphanumeric(column, value)  # refuses
            if (";" in value or '"' in value or "\r" in value or "\n" in value
                    or value[0] in " \t" or value[-1] in " \t"):
                return '"' + value.replace('"', '""') + '"'
            return value
        if value is None:
            return ""
        if value is True:
            return "1"
        if value is False:
            return "0"
        return _alphanumeric(column, value)

    return alphanumeric


def column_formatter(column: Column):
    """A function ``value -> CSV text`` for ``column``: :func:`format_value`, precomputed, plus decimal strings."""
    return _numeric_formatter(column) if column.is_numeric else _alphanumeric_formatter(column)


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
