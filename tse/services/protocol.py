"""Operator pages of the TSE: signing-unit overview, POS clients, the fiscal protocol, receipts, downloads.

- ``signing_units_overview`` lists an operator's units with their number of registered clients.
- ``register_client`` registers a POS (its serial number is the TSE client id) through the backend
  of the unit and writes an audit entry (``tse.client.registered``).
- ``protocol_transactions`` is the query of the fiscal protocol: every TSE transaction of the
  operator, annotated with its FinishTransaction log message (signature counter, log time, DER).
  A transaction without such a log message is open / unsigned.
- ``protocol_csv_rows`` yields the CSV export, ``;`` separated, times in Europe/Berlin with offset.
- ``receipt_data`` collects every § 6 KassenSichV field of one transaction and its QR code string
  (DSFinV-K Annex I, ``tse.receipts.qr_code``).
- ``export_file_name`` names a downloaded TR-03153 TAR export (the jobs: ``tse.services.tar_jobs``).
"""

import base64
import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tenants.services.configuration.versions import configuration_change
from tse.models import (
    ClientState,
    LogMessage,
    LogMessageKind,
    SigningUnit,
    SigningUnitMode,
    TransactionState,
    TseClient,
    TseTransaction,
)
from tse.receipts.qr_code import QrCodeData, QrCodeError, build_qr_code, format_qr_time
from tse.services.signing_units import get_backend

__all__ = [
    "CSV_HEADER",
    "FINISH_OPERATION",
    "ReceiptData",
    "export_file_name",
    "log_time_format",
    "process_types",
    "protocol_csv_rows",
    "protocol_system_logs",
    "protocol_transactions",
    "public_key_point",
    "receipt_data",
    "register_client",
    "signature_from_der",
    "signing_units_overview",
]

register_action_labels({
    "tse.client.registered": _("POS registered at a signing unit (TSE)"),
})

BERLIN = ZoneInfo("Europe/Berlin")
FINISH_OPERATION = "FinishTransaction"
CSV_HEADER = ["tss_serial_number", "client_id", "transaction_number", "process_type", "time_start", "time_end",
              "signature_counter", "signature", "state"]
CSV_CHUNK_SIZE = 500


# --- signing units and clients ----------------------------------------------------------------


def signing_units_overview(organization):
    """The operator's signing units, oldest first, with ``registered_clients`` counted."""
    return (SigningUnit.objects.filter(organization=organization).select_related("outlet")
            .annotate(registered_clients=Count("clients", filter=Q(clients__state=ClientState.REGISTERED)))
            .order_by("created_at", "pk"))


def register_client(*, actor, signing_unit: SigningUnit, client_id: str) -> TseClient:
    """Register the POS with serial number ``client_id`` at ``signing_unit`` (raises ``TseError``)."""
    backend = get_backend(signing_unit)
    with configuration_change(actor, signing_unit.organization):
        result = backend.register_client(client_id)
        client = TseClient.unscoped.get(signing_unit=signing_unit, client_id=client_id)
        log_action("tse.client.registered", actor, signing_unit.organization, client,
                   data={"signing_unit": str(signing_unit.public_id), "client_id": client_id,
                         "signature_counter": result.signature.counter if result else None})
    return client


# --- DER helpers ------------------------------------------------------------------------------


def _read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, next offset) of the DER element at ``offset`` (single-byte tags, definite lengths)."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[offset:offset + size], "big")
        offset += size
    return tag, data[offset:offset + length], offset + length


def _elements(der: bytes) -> list[tuple[int, bytes]]:
    tag, content, _end = _read_tlv(der, 0)
    if tag != 0x30:
        raise ValueError("a log message is a DER SEQUENCE")
    elements, offset = [], 0
    while offset < len(content):
        tag, value, offset = _read_tlv(content, offset)
        elements.append((tag, value))
    return elements


def signature_from_der(der: bytes) -> bytes:
    """The signature value of a TR-03151 log message: its last element (an OCTET STRING)."""
    tag, value = _elements(bytes(der))[-1]
    if tag != 0x04:
        raise ValueError("the last element of a log message is the signature OCTET STRING")
    return value


def log_time_format(der: bytes) -> str:
    """The DSFinV-K ``TSE_ZEITFORMAT`` of a log message, from the encoding of its ``logTime``."""
    tag, value = _elements(bytes(der))[-2]
    if tag == 0x02:
        return "unixTime"
    if tag == 0x17:
        return "utcTimeWithSeconds" if len(value) == 13 else "utcTime"
    if tag == 0x18:
        return "generalizedTimeWithMilliseconds" if b"." in value else "generalizedTime"
    raise ValueError("unknown log time encoding")


def public_key_point(signing_unit: SigningUnit) -> bytes:
    """The unit's public key as uncompressed point ``04‖X‖Y`` (its SHA-256 is the TSE serial number)."""
    if not signing_unit.public_key:
        return b""
    key = serialization.load_der_public_key(bytes(signing_unit.public_key))
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


# --- the fiscal protocol ----------------------------------------------------------------------


def protocol_transactions(organization, *, date_from=None, date_to=None, signing_unit=None, client=None,
                          number=None, process_type="", unsigned_only=False):
    """The operator's TSE transactions, newest first, annotated with their FinishTransaction log.

    ``finish_counter``, ``finish_time`` and ``finish_der`` are ``None`` for open (unsigned)
    transactions. Dates are calendar days in Europe/Berlin and filter the start time.
    """
    finish = LogMessage.objects.filter(signing_unit=OuterRef("signing_unit"), kind=LogMessageKind.TRANSACTION,
                                       transaction_number=OuterRef("number"), operation_type=FINISH_OPERATION)
    queryset = (TseTransaction.objects.filter(organization=organization)
                .select_related("signing_unit", "client")
                .annotate(finish_counter=Subquery(finish.values("signature_counter")[:1]),
                          finish_time=Subquery(finish.values("log_time")[:1])))
    if date_from is not None:
        start = datetime.combine(date_from, datetime.min.time(), tzinfo=BERLIN)
        queryset = queryset.filter(time_start__gte=start)
    if date_to is not None:
        end = datetime.combine(date_to, datetime.max.time(), tzinfo=BERLIN)
        queryset = queryset.filter(time_start__lte=end)
    if signing_unit is not None:
        queryset = queryset.filter(signing_unit=signing_unit)
    if client:
        queryset = queryset.filter(client__client_id=client)
    if number is not None:
        queryset = queryset.filter(number=number)
    if process_type:
        queryset = queryset.filter(process_type=process_type)
    if unsigned_only:
        queryset = queryset.filter(finish_counter__isnull=True)
    return queryset.order_by("-time_start", "-signing_unit_id", "-number")


def protocol_system_logs(organization, *, date_from=None, date_to=None, signing_unit=None, **_ignored):
    """The operator's system (and audit) log messages, newest first; transaction filters do not apply."""
    queryset = (LogMessage.objects.filter(organization=organization).exclude(kind=LogMessageKind.TRANSACTION)
                .select_related("signing_unit"))
    if date_from is not None:
        queryset = queryset.filter(log_time__gte=datetime.combine(date_from, datetime.min.time(), tzinfo=BERLIN))
    if date_to is not None:
        queryset = queryset.filter(log_time__lte=datetime.combine(date_to, datetime.max.time(), tzinfo=BERLIN))
    if signing_unit is not None:
        queryset = queryset.filter(signing_unit=signing_unit)
    return queryset.order_by("-log_time", "-signing_unit_id", "-signature_counter")


def process_types(organization) -> list[str]:
    """The process types that occur in the operator's transactions (for the filter choices)."""
    return list(TseTransaction.objects.filter(organization=organization).exclude(process_type="")
                .order_by("process_type").values_list("process_type", flat=True).distinct())


def berlin_time(value: datetime | None) -> str:
    """ISO 8601 in Europe/Berlin with offset, e.g. ``2026-11-02T11:00:00+01:00``; empty for None."""
    return value.astimezone(BERLIN).isoformat() if value is not None else ""


class _Echo:
    def write(self, value):
        return value


def protocol_csv_rows(queryset):
    """The CSV export line by line (strings): UTF-8 BOM + header first, one row per transaction.

    The query is built here, while the request's tenant scope is active; the returned generator
    only iterates it (a streaming response is consumed after the view has returned).
    """
    finish = LogMessage.objects.filter(signing_unit=OuterRef("signing_unit"), kind=LogMessageKind.TRANSACTION,
                                       transaction_number=OuterRef("number"), operation_type=FINISH_OPERATION)
    rows = queryset.annotate(finish_der=Subquery(finish.values("der")[:1]))
    return _csv_lines(rows)


def _csv_lines(rows):
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for tx in rows.iterator(chunk_size=CSV_CHUNK_SIZE):
        signature = base64.b64encode(signature_from_der(tx.finish_der)).decode("ascii") if tx.finish_der else ""
        yield writer.writerow([
            tx.signing_unit.serial_number, tx.client.client_id, tx.number, tx.process_type,
            berlin_time(tx.time_start), berlin_time(tx.time_end),
            tx.finish_counter if tx.finish_counter is not None else "", signature, tx.state,
        ])


# --- receipts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptData:
    """Everything a receipt shows (§ 6 KassenSichV) for one transaction."""

    transaction: TseTransaction
    signed: bool
    test_mode: bool
    transaction_number: int
    signature_counter: int | None
    time_start: datetime
    time_end: datetime | None
    log_time: datetime | None
    client_id: str
    tse_serial_number: str
    signature: str  # base64
    time_format: str
    signature_algorithm: str
    public_key: str  # base64 of the uncompressed point
    process_type: str
    process_data: str
    qr_code: str  # the DSFinV-K V0 string, empty when unsigned

    @property
    def time_start_utc(self) -> str:
        return format_qr_time(self.time_start)

    @property
    def time_end_utc(self) -> str:
        return format_qr_time(self.time_end) if self.time_end is not None else ""

    @property
    def log_time_utc(self) -> str:
        return format_qr_time(self.log_time) if self.log_time is not None else ""


def receipt_data(tx: TseTransaction, *, sandbox: bool) -> ReceiptData:
    """The receipt fields of ``tx``; ``signed`` is False (TSE outage marker) without a finish log."""
    unit = tx.signing_unit
    finish = (LogMessage.objects.filter(signing_unit=unit, kind=LogMessageKind.TRANSACTION,
                                        transaction_number=tx.number, operation_type=FINISH_OPERATION)
              .order_by("signature_counter").first())
    point = public_key_point(unit)
    process_data = bytes(tx.process_data).decode("utf-8", errors="replace")
    signature = b""
    time_format = ""
    qr = ""
    if finish is not None:
        signature = signature_from_der(bytes(finish.der))
        time_format = log_time_format(bytes(finish.der))
        try:
            qr = build_qr_code(QrCodeData(
                client_id=tx.client.client_id, process_type=tx.process_type, process_data=process_data,
                transaction_number=tx.number, signature_counter=finish.signature_counter,
                start_time=tx.time_start, log_time=finish.log_time, sig_alg=unit.signature_algorithm,
                log_time_format=time_format, signature=signature, public_key=point,
            ))
        except QrCodeError:
            qr = ""  # e.g. a cancelled transaction without process type: no QR code, the fields are printed
    return ReceiptData(
        transaction=tx,
        signed=finish is not None and tx.state != TransactionState.ACTIVE,
        test_mode=sandbox or unit.mode == SigningUnitMode.TEST,
        transaction_number=tx.number,
        signature_counter=finish.signature_counter if finish is not None else None,
        time_start=tx.time_start,
        time_end=tx.time_end,
        log_time=finish.log_time if finish is not None else None,
        client_id=tx.client.client_id,
        tse_serial_number=unit.serial_number,
        signature=base64.b64encode(signature).decode("ascii"),
        time_format=time_format,
        signature_algorithm=unit.signature_algorithm,
        public_key=base64.b64encode(point).decode("ascii"),
        process_type=tx.process_type,
        process_data=process_data,
        qr_code=qr,
    )


# --- TAR export file name ----------------------------------------------------------------------


def export_file_name(signing_unit: SigningUnit, when: datetime) -> str:
    return f"{signing_unit.serial_number or signing_unit.public_id}_{when.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar"
