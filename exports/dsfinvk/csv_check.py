"""Format check of one DSFinV-K CSV file against its table in ``index.xml`` (reference/dsfinvk.md §4).

The part of the validator that needs no other file: UTF-8 without BOM, the header equal to the
column names in order, every record ending with CRLF (line breaks inside quoted values are
allowed), the right number of fields, Numeric values as ``-?digits[,decimals]`` with at most the
declared decimals and no digit grouping, AlphaNumeric values within ``MaxLength`` characters.

It reads the file as a stream (one physical line at a time through the C ``csv`` parser), so
memory stays flat; it keeps the first ``limit`` problems and counts the rest.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from exports.dsfinvk.schema import Table

__all__ = ["CheckResult", "Problem", "check_table_file"]

_INTEGER = re.compile(r"-?\d+")
_DECIMALS = {}


def _numeric_pattern(accuracy: int) -> re.Pattern:
    if accuracy not in _DECIMALS:
        _DECIMALS[accuracy] = re.compile(rf"-?\d+(,\d{{1,{accuracy}}})?") if accuracy else _INTEGER
    return _DECIMALS[accuracy]


@dataclass(frozen=True)
class Problem:
    file: str
    record: int  # 1 = the header line's record, data from 2 (as index.xml's Range/From)
    column: str
    code: str
    message: str


@dataclass
class CheckResult:
    file: str
    records: int = 0  # data records, without the header
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


class _Collector:
    def __init__(self, result: CheckResult, limit: int):
        self.result, self.limit = result, limit

    def add(self, record: int, column: str, code: str, message: str) -> None:
        self.result.problem_count += 1
        if len(self.result.problems) < self.limit:
            self.result.problems.append(Problem(self.result.file, record, column, code, message))


def _physical_lines(stream, problems: _Collector):
    """Physical lines (with their line break) of the text stream; flags record delimiters that are not CRLF."""
    inside_quotes = False
    record = 1
    last = ""
    for line in stream:
        last = line
        inside_quotes ^= line.count('"') % 2 == 1
        if not inside_quotes:
            if not line.endswith("\r\n"):
                problems.add(record, "", "E_RECORD_DELIMITER", "a record does not end with CR LF")
            record += 1
        yield line
    if last and inside_quotes:
        problems.add(record, "", "E_UNTERMINATED_QUOTE", "the file ends inside a quoted value")


def check_table_file(table: Table, fileobj, *, limit: int = 100) -> CheckResult:
    """Check the CSV bytes in the binary ``fileobj`` against ``table``."""
    result = CheckResult(file=table.url)
    problems = _Collector(result, limit)
    head = fileobj.read(3)
    if head == codecs.BOM_UTF8:
        problems.add(1, "", "E_BOM", "the file starts with a byte order mark")
        head = b""
    raw = io.BufferedReader(_Prefixed(head, fileobj))
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
    reader = csv.reader(_physical_lines(text, problems), delimiter=";", quotechar='"', doublequote=True,
                        strict=True)
    columns = table.columns
    try:
        header = next(reader, None)
        if header is None:
            problems.add(1, "", "E_EMPTY_FILE", "the file has no header")
            return result
        if tuple(header) != table.column_names:
            problems.add(1, "", "E_HEADER", "the header differs from index.xml: " + ";".join(header))
        for number, row in enumerate(reader, start=2):
            result.records += 1
            if len(row) != len(columns):
                problems.add(number, "", "E_FIELD_COUNT",
                             f"{len(row)} fields instead of {len(columns)}")
                continue
            for column, value in zip(columns, row, strict=True):
                if not value:
                    continue
                if column.is_numeric:
                    if not _numeric_pattern(column.accuracy).fullmatch(value):
                        problems.add(number, column.name, "E_NUMBER_FORMAT",
                                     f"{value!r} is no number with at most {column.accuracy} decimals")
                elif column.max_length is not None and len(value) > column.max_length:
                    problems.add(number, column.name, "E_TOO_LONG",
                                 f"{len(value)} characters, at most {column.max_length}")
    except UnicodeDecodeError:
        problems.add(result.records + 2, "", "E_ENCODING", "the file is not valid UTF-8")
    except csv.Error as exc:
        problems.add(result.records + 2, "", "E_CSV_SYNTAX", str(exc))
    return result


class _Prefixed(io.RawIOBase):
    """A raw stream of ``prefix`` followed by the rest of ``fileobj`` (after sniffing the BOM)."""

    def __init__(self, prefix: bytes, fileobj):
        self.prefix, self.fileobj = prefix, fileobj

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.prefix:
            size = min(len(buffer), len(self.prefix))
            buffer[:size], self.prefix = self.prefix[:size], self.prefix[size:]
            return size
        data = self.fileobj.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
