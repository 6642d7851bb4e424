"""The DSFinV-K table catalogue, read from the official ``index.xml`` shipped in ``data/``.

``index.xml`` is the one source of truth for file names, table names, column order and column
formats: the exporter writes headers and values from it and ships the same file in the archive.
``data/`` holds the published files byte for byte (UTF-8 BOM, CRLF):

- ``index.xml.dsfinvk-2.4-derived`` — DSFinV-K 2.4 (the 2.2 package with ``TERMINAL_SERIENNR``
  AN 70), the one we export with;
- ``index.xml.dsfinvk-2.2-official`` — the published 2.2 file, for comparison;
- ``gdpdu-01-09-2004.dtd`` — the GDPdU DTD under the name ``index.xml`` references.

The official file declares no keys; every column is AlphaNumeric (with ``MaxLength``) or Numeric
(``Accuracy`` decimals, 0 when absent).
"""

import functools
import xml.etree.ElementTree as ET  # noqa: S405  (parses only the files shipped in data/)
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ALPHANUMERIC",
    "DATA_DIR",
    "DTD_FILE",
    "INDEX_FILE",
    "NUMERIC",
    "Column",
    "Table",
    "load_tables",
    "parse_tables",
    "table",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
INDEX_FILE = DATA_DIR / "index.xml.dsfinvk-2.4-derived"
DTD_FILE = DATA_DIR / "gdpdu-01-09-2004.dtd"

ALPHANUMERIC = "alphanumeric"
NUMERIC = "numeric"


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    kind: str  # ALPHANUMERIC or NUMERIC
    max_length: int | None = None  # characters, AlphaNumeric only
    accuracy: int = 0  # decimals, Numeric only

    @property
    def is_numeric(self) -> bool:
        return self.kind == NUMERIC


@dataclass(frozen=True)
class Table:
    url: str  # the CSV file name, e.g. "cashpointclosing.csv"
    name: str  # the module name, e.g. "Stamm_Abschluss"
    columns: tuple[Column, ...]

    @functools.cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @functools.cached_property
    def by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}


def _text(element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _column(element) -> Column:
    name, description = _text(element, "Name"), _text(element, "Description")
    if element.find("AlphaNumeric") is not None:
        max_length = _text(element, "MaxLength")
        return Column(name, description, ALPHANUMERIC, max_length=int(max_length) if max_length else None)
    numeric = element.find("Numeric")
    if numeric is None:
        raise ValueError(f"column {name}: neither AlphaNumeric nor Numeric")
    accuracy = _text(numeric, "Accuracy")
    return Column(name, description, NUMERIC, accuracy=int(accuracy) if accuracy else 0)


@functools.cache
def load_tables(path: Path = INDEX_FILE) -> tuple[Table, ...]:
    """The tables of ``index.xml`` in their published order."""
    return parse_tables(path.read_bytes())


def parse_tables(data: bytes) -> tuple[Table, ...]:
    """The tables of an ``index.xml`` document (the shipped one, or one an export wrote)."""
    root = ET.fromstring(data)  # noqa: S314  (our own files only)
    tables = []
    for element in root.iter("Table"):
        columns = tuple(_column(column) for column in element.iter("VariableColumn"))
        tables.append(Table(url=_text(element, "URL"), name=_text(element, "Name"), columns=columns))
    return tuple(tables)


def table(url: str) -> Table:
    """The table of the file ``url`` (e.g. ``"lines.csv"``); ``KeyError`` for an unknown file."""
    for candidate in load_tables():
        if candidate.url == url:
            return candidate
    raise KeyError(url)
