"""The rows of the 20 DSFinV-K tables for one cash point closing (reference/dsfinvk.md §2, §3).

A closing is exported from its key (``Z_KASSE_ID``, ``Z_ERSTELLUNG``, ``Z_NR``), its master-data
snapshot (``exports.services.master_data``) and its document (``exports.dsfinvk.document``). Every
row starts with the closing key (the same values in every file); transaction rows add ``BON_ID``,
line rows ``BON_ID`` + ``POS_ZEILE``. The master-data files are repeated per closing: one
``cashpointclosing``/``location``/``cashregister`` row, one ``tse`` row per TSE, one ``vat`` row per
VAT key, one ``slaves``/``pa`` row per entry. ``cashpointclosing.csv`` joins the company part of
the snapshot with the document's closing sums. The certificate of a TSE is split into
``TSE_ZERTIFIKAT_I``, ``_II``, ``_III`` … (``index_xml.certificate_chunks``); the snapshot's helper
keys (``slot``, ``certificate``) are not columns and are not written.

Rows are plain mappings by column name with the document's values (decimal strings, ints,
booleans, ``None``); :mod:`exports.dsfinvk.writer` formats them.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from exports.dsfinvk.index_xml import certificate_chunks, certificate_column_names

__all__ = ["HELPER_KEYS", "MASTER_FILES", "ClosingRecord", "closing_key", "closing_rows", "tse_row"]

HELPER_KEYS = frozenset({"slot", "certificate"})
MASTER_FILES = ("cashpointclosing.csv", "location.csv", "cashregister.csv", "slaves.csv", "pa.csv", "tse.csv",
                "vat.csv")


@dataclass(frozen=True)
class ClosingRecord:
    """One closing as the exporter reads it (``exports.services.export_jobs.closing_records``)."""

    z_kasse_id: str
    z_erstellung: str
    z_nr: int
    master: dict
    document: dict


def closing_key(record: ClosingRecord) -> dict:
    return {"Z_KASSE_ID": record.z_kasse_id, "Z_ERSTELLUNG": record.z_erstellung, "Z_NR": record.z_nr}


def _columns_only(row: dict) -> dict:
    return {name: value for name, value in row.items() if name not in HELPER_KEYS}


def tse_row(key: dict, tse: dict) -> dict:
    """The ``tse.csv`` row of one TSE: its columns plus the certificate in 1000-character chunks."""
    chunks = certificate_chunks(tse.get("certificate") or "")
    return {**key, **_columns_only(tse), **dict(zip(certificate_column_names(len(chunks)), chunks, strict=True))}


def master_rows(key: dict, master: dict, document: dict) -> Iterator[tuple[str, dict]]:
    yield "cashpointclosing.csv", {**key, **document["cashpointclosing"], **master["cashpointclosing"]}
    yield "location.csv", {**key, **master["location"]}
    yield "cashregister.csv", {**key, **master["cashregister"]}
    for slave in master.get("slaves") or ():
        yield "slaves.csv", {**key, **slave}
    for agency in master.get("pa") or ():
        yield "pa.csv", {**key, **agency}
    for tse in master.get("tse") or ():
        yield "tse.csv", tse_row(key, tse)
    for vat in master.get("vat") or ():
        yield "vat.csv", {**key, **_columns_only(vat)}


def closing_module_rows(key: dict, document: dict) -> Iterator[tuple[str, dict]]:
    for case in document.get("businesscases") or ():
        yield "businesscases.csv", {**key, **case}
    for payment in document.get("payment") or ():
        yield "payment.csv", {**key, **payment}
    for cash in document.get("cash_per_currency") or ():
        yield "cash_per_currency.csv", {**key, **cash}


def transaction_rows(key: dict, transaction: dict) -> Iterator[tuple[str, dict]]:
    """The rows of one transaction, in the table order of ``index.xml`` (transactions.csv first)."""
    head = transaction["head"]
    bon = {**key, "BON_ID": head["BON_ID"]}
    yield "transactions.csv", {**key, **head}
    for payment in transaction.get("payments") or ():
        yield "datapayment.csv", {**bon, **payment}
    lines = transaction.get("lines") or ()
    for entry in lines:
        yield "lines.csv", {**bon, **entry["line"]}
    for entry in lines:
        position = {**bon, "POS_ZEILE": entry["line"]["POS_ZEILE"]}
        for amount in entry.get("amounts") or ():
            yield "itemamounts.csv", {**position, **amount}
        for subitem in entry.get("subitems") or ():
            yield "subitems.csv", {**position, **subitem}
    for tse in transaction.get("tse") or ():
        yield "transactions_tse.csv", {**bon, **tse}
    for vat in transaction.get("vat") or ():
        yield "transactions_vat.csv", {**bon, **vat}
    for entry in lines:
        position = {**bon, "POS_ZEILE": entry["line"]["POS_ZEILE"]}
        for vat in entry.get("vat") or ():
            yield "lines_vat.csv", {**position, **vat}
    for group in transaction.get("allocation_groups") or ():
        yield "allocation_groups.csv", {**bon, "ABRECHNUNGSKREIS": group}
    for reference in transaction.get("references") or ():
        yield "references.csv", {**bon, **reference}


def closing_rows(record: ClosingRecord) -> Iterator[tuple[str, dict]]:
    """``(file, row)`` for every row of the closing: master data, closing module, then transaction by transaction."""
    key = closing_key(record)
    document = record.document
    yield from master_rows(key, record.master, document)
    yield from closing_module_rows(key, document)
    for transaction in document.get("transactions") or ():
        yield from transaction_rows(key, transaction)
