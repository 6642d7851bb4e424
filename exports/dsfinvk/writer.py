"""The DSFinV-K export archive: 20 CSV files + ``index.xml`` + the GDPdU DTD in one flat ZIP.

:func:`write_export` reads the closings once, in the order given, and keeps only one closing in
memory: each table's records go to a temporary file on disk as they are formatted, and the ZIP is
assembled from those files at the end (members in ``index.xml`` order, then ``index.xml`` and
``gdpdu-01-09-2004.dtd``). Every table is in the archive, header-only when it has no rows.

Values are formatted with :func:`exports.dsfinvk.csv_format.column_formatter` (the ``format_value``
rules: decimal comma, exact declared decimals, no grouping, ``"`` only where needed, CRLF, UTF-8
without BOM). A value a column cannot hold raises :class:`~exports.dsfinvk.csv_format.DsfinvkValueError`
before anything is written to ``fileobj``.

The header of ``tse.csv`` (and the ``index.xml``) depends on the longest certificate of the whole
export (``TSE_ZERTIFIKAT_III`` …, dsfinvk.md §3.21), so its records wait in a temporary file as JSON
lines (the formatted record without the certificate columns, and the formatted chunks) and are
padded to the final column count when the archive is assembled.

Identical input gives identical bytes: fixed member timestamps and permissions, fixed compression.
"""

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from exports.dsfinvk.csv_format import column_formatter
from exports.dsfinvk.index_xml import (
    PUBLISHED_CERTIFICATE_COLUMNS,
    certificate_column_names,
    export_index_xml,
    export_tables,
)
from exports.dsfinvk.rows import ClosingRecord, closing_rows
from exports.dsfinvk.schema import DTD_FILE, load_tables

__all__ = ["DTD_NAME", "INDEX_NAME", "ClosingRecord", "ExportSummary", "write_export"]

INDEX_NAME = "index.xml"
DTD_NAME = "gdpdu-01-09-2004.dtd"
MEMBER_TIME = (2000, 1, 1, 0, 0, 0)  # fixed, so identical input gives identical bytes
COMPRESS_LEVEL = 1  # CSV compresses well even at the fastest level; higher levels cost most of the time
KEY_COLUMNS = 3  # Z_KASSE_ID, Z_ERSTELLUNG, Z_NR
_BUFFER = 1 << 20
_TSE_FILE = "tse.csv"


@dataclass(frozen=True)
class ExportSummary:
    closings: int
    transactions: int
    lines: int
    rows: dict[str, int] = field(default_factory=dict)


def _unknown(table_url: str, names: frozenset, row: dict) -> KeyError:
    return KeyError(f"{table_url}: unknown columns {sorted(set(row) - names)}")


class _TableFile:
    """One table's records in a temporary file; the closing key is formatted once per closing by the caller."""

    def __init__(self, table, path: str):
        self.url = table.url
        self.path = path
        self.names = frozenset(table.column_names)
        tail = table.columns[KEY_COLUMNS:]
        self.index = {column.name: position for position, column in enumerate(tail)}
        self.formats = tuple(column_formatter(column) for column in tail)
        self.empty = [""] * len(tail)
        self.rows = 0
        self.pending: list[str] = []
        self.file = open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)  # noqa: SIM115
        self.file.write(";".join(table.column_names) + "\r\n")

    def add(self, prefix: str, row: dict) -> None:
        if not self.names.issuperset(row):
            raise _unknown(self.url, self.names, row)
        cells = self.empty.copy()
        index, formats = self.index, self.formats
        for name, value in row.items():
            position = index.get(name)  # None for the closing key, formatted once in ``prefix``
            if position is not None and value is not None:
                cells[position] = formats[position](value)
        self.pending.append(prefix + ";".join(cells) + "\r\n")

    def flush(self) -> None:
        if self.pending:
            self.rows += len(self.pending)
            self.file.write("".join(self.pending))
            self.pending.clear()

    def close(self) -> None:
        self.file.close()


class _TseFile(_TableFile):
    """``tse.csv`` records as JSON lines ``[record without certificate, [chunks]]`` until the column count is known."""

    def __init__(self, table, path: str):
        self.url = table.url
        self.path = path
        self.base = tuple(c for c in table.columns if not c.name.startswith("TSE_ZERTIFIKAT_"))
        if table.column_names[len(self.base):] != tuple(certificate_column_names(PUBLISHED_CERTIFICATE_COLUMNS)):
            raise RuntimeError("index.xml: tse.csv must end with its certificate columns")
        self.base_names = frozenset(c.name for c in self.base)
        self.tail = tuple((c.name, column_formatter(c)) for c in self.base[KEY_COLUMNS:])
        self.chunk_format = column_formatter(table.by_name["TSE_ZERTIFIKAT_I"])
        self.chunks = PUBLISHED_CERTIFICATE_COLUMNS
        self.rows = 0
        self.pending = []
        self.file = open(path, "w", encoding="utf-8", newline="\n", buffering=_BUFFER)  # noqa: SIM115

    def add(self, prefix: str, row: dict) -> None:
        count = sum(1 for name in row if name.startswith("TSE_ZERTIFIKAT_"))
        chunk_names = certificate_column_names(count)
        names = self.base_names.union(chunk_names)
        if not names.issuperset(row):
            raise _unknown(self.url, names, row)
        get = row.get
        record = prefix + ";".join([format_(get(name)) for name, format_ in self.tail])
        chunks = [self.chunk_format(get(name)) for name in chunk_names]
        self.chunks = max(self.chunks, len(chunks))
        self.pending.append(json.dumps([record, chunks], ensure_ascii=False) + "\n")

    def finish(self, table, path: str) -> None:
        """Write the real ``tse.csv`` (header of ``table``, every record padded to its columns) to ``path``."""
        self.close()
        width = len(table.columns) - len(self.base)
        with open(self.path, encoding="utf-8", newline="\n") as source, \
                open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER) as target:
            target.write(";".join(table.column_names) + "\r\n")
            for line in source:
                record, chunks = json.loads(line)
                target.write(record + ";" + ";".join(chunks + [""] * (width - len(chunks))) + "\r\n")
        self.path = path


def _key_prefix(record: ClosingRecord, formatters) -> str:
    """The closing key cells with the separator after them: the start of every record of the closing."""
    values = (record.z_kasse_id, record.z_erstellung, record.z_nr)
    return "".join(format_(value) + ";" for format_, value in zip(formatters, values, strict=True))


def _key_formatters(tables):
    shapes = {tuple((c.name, c.kind, c.max_length, c.accuracy) for c in t.columns[:KEY_COLUMNS]) for t in tables}
    if len(shapes) != 1:
        raise RuntimeError("index.xml: the closing key columns differ between tables")
    return tuple(column_formatter(column) for column in tables[0].columns[:KEY_COLUMNS])


def _add_member(archive: zipfile.ZipFile, name: str, path: str | None = None, data: bytes | None = None) -> None:
    info = zipfile.ZipInfo(name, date_time=MEMBER_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    if data is not None:
        archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        return
    info.file_size = os.path.getsize(path)
    info._compresslevel = COMPRESS_LEVEL  # Python 3.11: ZipFile.open(ZipInfo, "w") takes the level from here
    with open(path, "rb") as source, archive.open(info, "w") as target:
        shutil.copyfileobj(source, target, _BUFFER)


def write_export(closings: Iterable[ClosingRecord], fileobj, *,
                 progress: Callable[[int], None] | None = None) -> ExportSummary:
    """Write the export of ``closings`` (in the order given) as a ZIP to the binary, seekable ``fileobj``."""
    tables = load_tables()
    key_formatters = _key_formatters(tables)
    with tempfile.TemporaryDirectory(prefix="dsfinvk-") as workdir:
        files = {}
        try:
            for table in tables:
                path = os.path.join(workdir, table.url)
                files[table.url] = (_TseFile(table, path + ".jsonl") if table.url == _TSE_FILE
                                    else _TableFile(table, path))
            add = {url: table_file.add for url, table_file in files.items()}
            values = list(files.values())
            closings_written = transactions = 0
            for record in closings:
                prefix = _key_prefix(record, key_formatters)
                for url, row in closing_rows(record):
                    add[url](prefix, row)
                for table_file in values:
                    table_file.flush()
                closings_written += 1
                transactions += len(record.document.get("transactions") or ())
                if progress is not None:
                    progress(closings_written)
        finally:
            for table_file in files.values():
                table_file.close()
        tse = files[_TSE_FILE]
        final_tables = export_tables(tse.chunks)
        tse.finish(next(t for t in final_tables if t.url == _TSE_FILE), os.path.join(workdir, _TSE_FILE))
        with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
            for table in final_tables:
                _add_member(archive, table.url, path=files[table.url].path)
            _add_member(archive, INDEX_NAME, data=export_index_xml(tse.chunks))
            _add_member(archive, DTD_NAME, data=DTD_FILE.read_bytes())
    rows = {url: table_file.rows for url, table_file in files.items()}
    return ExportSummary(closings=closings_written, transactions=transactions, lines=rows["lines.csv"], rows=rows)
