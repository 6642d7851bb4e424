"""TSE data (reference/dsfinvk.md §8 rules 12–14, §9.2, §9.6).

Per closing:

- tse.csv: ``E_TSE_SERIAL`` (TSE_SERIAL ≠ hex SHA-256 of the base64-decoded TSE_PUBLIC_KEY),
  ``E_TSE_PUBLIC_KEY`` (no base64), ``E_CERTIFICATE_CHUNKS`` (a certificate chunk other than the
  last non-empty one is not exactly 1000 characters, or a chunk follows an empty one).
- transactions_tse.csv: a signed row needs TSE_TANR, TSE_TA_SIGZ, TSE_TA_START, TSE_TA_ENDE and
  TSE_TA_VORGANGSART (``E_MISSING_VALUE``); an unsigned row with TSE_TA_FEHLER is a documented
  outage (``W_TSE_FAILURE``), one without is ``E_TSE_NOT_SIGNED``; ``E_TSE_TIME_ORDER`` (start
  after end), ``E_TIMESTAMP``.
- ``E_PROCESS_DATA``: for Kassenbeleg-V1 rows, TSE_VORGANGSDATEN ≠ the processData rebuilt with
  ``process_data.kassenbeleg_v1`` from BON_TYP, transactions_vat (BON_BRUTTO per key) and
  datapayment; a transaction with an individual VAT key (≥ 1000, whose slot is not in the CSV
  files) cannot be rebuilt: ``W_PROCESS_DATA_NOT_REBUILT``.

Across the export, per TSE (by TSE_SERIAL): ``E_TSE_SIGZ_ORDER`` (TSE_TA_SIGZ not strictly
increasing in file order) and ``E_TSE_TANR_DUPLICATE`` (a TSE_TANR used twice).
"""

import base64
import binascii
import hashlib
import re
from decimal import Decimal

from exports.dsfinvk.index_xml import CERTIFICATE_CHUNK
from exports.dsfinvk.process_data import kassenbeleg_v1
from exports.dsfinvk.validation.lookup import ClosingLookup
from exports.dsfinvk.validation.reading import Closing
from exports.dsfinvk.validation.report import Findings
from exports.dsfinvk.validation.values import decimal, integer, timestamp

__all__ = ["TseState"]

_CERTIFICATE_COLUMN = re.compile(r"TSE_ZERTIFIKAT_[IVXLCDM]+")
_SIGNED_COLUMNS = ("TSE_TANR", "TSE_TA_SIGZ", "TSE_TA_START", "TSE_TA_ENDE", "TSE_TA_VORGANGSART")
_TSE_FILE = "transactions_tse.csv"


class TseState:
    """The per-TSE counters seen so far in the export (small: one entry per TSE, plus its TANRs)."""

    def __init__(self):
        self.last_counter: dict[str, int] = {}
        self.numbers: dict[str, set[int]] = {}

    def check_closing(self, closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
        for row in closing["tse.csv"]:
            _check_master(row, findings)
        for row in closing[_TSE_FILE]:
            self._check_transaction(row, lookup, findings)

    def _check_transaction(self, row, lookup: ClosingLookup, findings: Findings) -> None:
        if not row["TSE_TA_SIG"]:
            if row["TSE_TA_FEHLER"]:
                findings.warning("W_TSE_FAILURE", _TSE_FILE, row.line,
                                 f"BON_ID {row['BON_ID']} was not signed: {row['TSE_TA_FEHLER']}")
            else:
                findings.error("E_TSE_NOT_SIGNED", _TSE_FILE, row.line,
                               f"BON_ID {row['BON_ID']} has neither a signature nor TSE_TA_FEHLER")
        else:
            for column in _SIGNED_COLUMNS:
                if not row[column]:
                    findings.error("E_MISSING_VALUE", _TSE_FILE, row.line, f"{column} is empty in a signed row")
        self._counters(row, lookup, findings)
        _times(row, findings)
        if row["TSE_TA_VORGANGSART"] == "Kassenbeleg-V1" and row["TSE_VORGANGSDATEN"]:
            _process_data(row, lookup, findings)

    def _counters(self, row, lookup: ClosingLookup, findings: Findings) -> None:
        tse = lookup.tse_rows.get(row["TSE_ID"])
        if tse is None:
            return
        serial = tse["TSE_SERIAL"].lower()
        counter, number = integer(row["TSE_TA_SIGZ"]), integer(row["TSE_TANR"])
        if counter is not None:
            last = self.last_counter.get(serial)
            if last is not None and counter <= last:
                findings.error("E_TSE_SIGZ_ORDER", _TSE_FILE, row.line,
                               f"TSE_TA_SIGZ {counter} does not follow {last} (TSE {serial[:16]}…)")
            self.last_counter[serial] = counter if last is None else max(counter, last)
        if number is not None:
            seen = self.numbers.setdefault(serial, set())
            if number in seen:
                findings.error("E_TSE_TANR_DUPLICATE", _TSE_FILE, row.line,
                               f"TSE_TANR {number} used twice (TSE {serial[:16]}…)")
            seen.add(number)


def _check_master(row, findings: Findings) -> None:
    try:
        public_key = base64.b64decode(row["TSE_PUBLIC_KEY"], validate=True)
    except (binascii.Error, ValueError):
        findings.error("E_TSE_PUBLIC_KEY", "tse.csv", row.line, "TSE_PUBLIC_KEY is not base64")
    else:
        expected = hashlib.sha256(public_key).hexdigest()
        if row["TSE_SERIAL"].lower() != expected:
            findings.error("E_TSE_SERIAL", "tse.csv", row.line,
                           f"TSE_SERIAL {row['TSE_SERIAL']!r} is not the SHA-256 of the public key ({expected})")
    chunks = [row.values[i] for name, i in row.index.items() if _CERTIFICATE_COLUMN.fullmatch(name)]
    filled = [number for number, chunk in enumerate(chunks) if chunk]
    if filled and filled != list(range(len(filled))):
        findings.error("E_CERTIFICATE_CHUNKS", "tse.csv", row.line, "a certificate chunk follows an empty one")
    elif any(len(chunks[number]) != CERTIFICATE_CHUNK for number in filled[:-1]):
        findings.error("E_CERTIFICATE_CHUNKS", "tse.csv", row.line,
                       f"certificate chunks before the last must hold exactly {CERTIFICATE_CHUNK} characters "
                       f"({', '.join(str(len(chunks[n])) for n in filled)})")


def _times(row, findings: Findings) -> None:
    values = {}
    for column in ("TSE_TA_START", "TSE_TA_ENDE"):
        if row[column]:
            values[column] = timestamp(row[column])
            if values[column] is None:
                findings.error("E_TIMESTAMP", _TSE_FILE, row.line, f"{column} {row[column]!r} is unreadable")
    start, end = values.get("TSE_TA_START"), values.get("TSE_TA_ENDE")
    if start is not None and end is not None and start > end:
        findings.error("E_TSE_TIME_ORDER", _TSE_FILE, row.line, "TSE_TA_START is after TSE_TA_ENDE")


def _process_data(row, lookup: ClosingLookup, findings: Findings) -> None:
    bon_id = row["BON_ID"]
    head = lookup.heads.get(bon_id)
    if head is None:
        return  # reported as E_UNKNOWN_BON_ID
    base = lookup.base_currency
    gross: dict[int, Decimal] = {}
    for vat in lookup.transaction_vat.get(bon_id, []):
        key = integer(vat["UST_SCHLUESSEL"])
        gross[key] = gross.get(key, Decimal(0)) + decimal(vat["BON_BRUTTO"])
    payments = []
    for payment in lookup.payments.get(bon_id, []):
        currency = payment["ZAHLWAEH_CODE"] or base
        column = "BASISWAEH_BETRAG" if currency == base else "ZAHLWAEH_BETRAG"
        payments.append((payment["ZAHLART_TYP"], currency, decimal(payment[column])))
    try:
        expected = kassenbeleg_v1(head["BON_TYP"], gross, payments, base_currency=base)
    except KeyError as exc:
        findings.warning("W_PROCESS_DATA_NOT_REBUILT", _TSE_FILE, row.line,
                         f"BON_ID {bon_id}: VAT key {exc.args[0]} has no fixed processData slot")
        return
    if expected != row["TSE_VORGANGSDATEN"]:
        findings.error("E_PROCESS_DATA", _TSE_FILE, row.line,
                       f"BON_ID {bon_id}: TSE_VORGANGSDATEN {row['TSE_VORGANGSDATEN']!r}, rebuilt {expected!r}")
