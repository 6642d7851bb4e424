"""The archive's index.xml: the shipped bytes, or extended by certificate columns III, IV, …"""

import base64
import os

import pytest

from exports.dsfinvk.index_xml import (
    certificate_chunks,
    certificate_column_names,
    export_index_xml,
    export_tables,
)
from exports.dsfinvk.schema import INDEX_FILE, load_tables, parse_tables


def test_without_extra_columns_the_shipped_file_is_used_byte_for_byte():
    assert export_index_xml() == INDEX_FILE.read_bytes()
    assert export_index_xml(1) == INDEX_FILE.read_bytes()
    assert export_tables() == load_tables()


def test_roman_column_names():
    assert certificate_column_names(2) == ["TSE_ZERTIFIKAT_I", "TSE_ZERTIFIKAT_II"]
    assert certificate_column_names(9)[2:] == ["TSE_ZERTIFIKAT_III", "TSE_ZERTIFIKAT_IV", "TSE_ZERTIFIKAT_V",
                                               "TSE_ZERTIFIKAT_VI", "TSE_ZERTIFIKAT_VII", "TSE_ZERTIFIKAT_VIII",
                                               "TSE_ZERTIFIKAT_IX"]


@pytest.mark.parametrize("length", [0, 1, 999, 1000, 1001, 2000, 2001, 4711])
def test_chunks_reassemble_to_the_certificate(length):
    certificate = base64.b64encode(os.urandom(length))[:length].decode("ascii")
    chunks = certificate_chunks(certificate)
    assert "".join(chunks) == certificate
    assert len(chunks) >= 2 and all(len(chunk) <= 1000 for chunk in chunks)
    assert len(chunks) == max(2, -(-length // 1000))


def test_extra_columns_are_declared_in_tse_csv_in_the_published_style():
    data = export_index_xml(4)
    assert data.startswith(b"\xef\xbb\xbf") and not data.endswith(b"\n")
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    tables = {t.url: t for t in parse_tables(data)}
    tse = tables["tse.csv"]
    assert tse.column_names[-4:] == ("TSE_ZERTIFIKAT_I", "TSE_ZERTIFIKAT_II", "TSE_ZERTIFIKAT_III",
                                     "TSE_ZERTIFIKAT_IV")
    assert tse.by_name["TSE_ZERTIFIKAT_IV"].max_length == 1000
    # nothing else changed, and the parsed document equals the tables the writer uses
    published = {t.url: t for t in load_tables()}
    assert all(tables[url] == published[url] for url in tables if url != "tse.csv")
    assert tuple(tables.values()) == export_tables(4)
    # taking the two inserted column blocks out gives the shipped bytes back
    start = data.rindex(b"        <VariableColumn>\r\n", 0, data.index(b"<Name>TSE_ZERTIFIKAT_III</Name>"))
    end = data.index(b"      </VariableLength>", start)
    assert data[:start] + data[end:] == INDEX_FILE.read_bytes()
    assert data[start:end].count(b"<VariableColumn>") == 2
