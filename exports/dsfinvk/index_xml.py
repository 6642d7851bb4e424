"""The ``index.xml`` of an export, and the certificate columns of ``tse.csv``.

The published ``index.xml`` has two certificate columns, ``TSE_ZERTIFIKAT_I`` and ``_II`` (AN 1000
each). A longer base64 certificate continues in ``TSE_ZERTIFIKAT_III``, ``_IV``, … (reference/
dsfinvk.md §3.21, §5.4): those columns are appended to ``tse.csv`` *and* declared in the archive's
``index.xml``, in the published file's style (CRLF, two-space indentation). Without extra columns
the archive carries the shipped file byte for byte. Reassembling the chunks gives the certificate
back exactly.
"""

import dataclasses

from exports.dsfinvk.schema import ALPHANUMERIC, INDEX_FILE, Column, Table, load_tables

__all__ = ["CERTIFICATE_CHUNK", "certificate_chunks", "certificate_column_names", "export_index_xml",
           "export_tables"]

CERTIFICATE_CHUNK = 1000
PUBLISHED_CERTIFICATE_COLUMNS = 2
EXTRA_DESCRIPTION = "Ggf. weiterer Teil des base64-codierten Zertifikats der TSE"
_ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def _roman(number: int) -> str:
    text = ""
    for value, letters in _ROMAN:
        while number >= value:
            text += letters
            number -= value
    return text


def certificate_column_names(count: int) -> list[str]:
    """``TSE_ZERTIFIKAT_I`` … for ``count`` chunks (at least the two published columns)."""
    return [f"TSE_ZERTIFIKAT_{_roman(n)}" for n in range(1, max(count, PUBLISHED_CERTIFICATE_COLUMNS) + 1)]


def certificate_chunks(certificate_base64: str) -> list[str]:
    """The certificate in 1000-character pieces (at least two, the second possibly empty)."""
    chunks = [certificate_base64[i:i + CERTIFICATE_CHUNK] for i in range(0, len(certificate_base64), CERTIFICATE_CHUNK)]
    return chunks + [""] * (PUBLISHED_CERTIFICATE_COLUMNS - len(chunks))


def _extra_names(chunks: int) -> list[str]:
    return certificate_column_names(chunks)[PUBLISHED_CERTIFICATE_COLUMNS:]


def export_tables(certificate_chunk_count: int = PUBLISHED_CERTIFICATE_COLUMNS) -> tuple[Table, ...]:
    """The tables of an export whose longest certificate needs ``certificate_chunk_count`` chunks."""
    extra = _extra_names(certificate_chunk_count)
    if not extra:
        return load_tables()
    columns = tuple(Column(name, EXTRA_DESCRIPTION, ALPHANUMERIC, max_length=CERTIFICATE_CHUNK) for name in extra)
    return tuple(dataclasses.replace(t, columns=t.columns + columns) if t.url == "tse.csv" else t
                 for t in load_tables())


def export_index_xml(certificate_chunk_count: int = PUBLISHED_CERTIFICATE_COLUMNS) -> bytes:
    """The ``index.xml`` bytes for the archive (the shipped file, extended where needed)."""
    data = INDEX_FILE.read_bytes()
    extra = _extra_names(certificate_chunk_count)
    if not extra:
        return data
    anchor = data.index(b"<Name>TSE_ZERTIFIKAT_II</Name>")
    end = data.index(b"</VariableColumn>\r\n", anchor) + len(b"</VariableColumn>\r\n")
    blocks = b"".join(
        b"        <VariableColumn>\r\n"
        b"          <Name>" + name.encode("ascii") + b"</Name>\r\n"
        b"          <Description>" + EXTRA_DESCRIPTION.encode("utf-8") + b"</Description>\r\n"
        b"          <AlphaNumeric />\r\n"
        b"          <MaxLength>" + str(CERTIFICATE_CHUNK).encode("ascii") + b"</MaxLength>\r\n"
        b"        </VariableColumn>\r\n"
        for name in extra)
    return data[:end] + blocks + data[end:]
