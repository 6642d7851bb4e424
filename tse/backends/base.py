"""The interface every TSE backend implements, its typed results and its errors.

A backend wraps one ``SigningUnit``. Signing operations return the signature with its counter
and time and the stored log message; the service layer turns them into API answers, receipts and
QR codes. Errors carry a stable ``E_…`` code (the API error envelope's ``code``).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "ExportResult",
    "LogMessageResult",
    "SignatureResult",
    "SystemLogResult",
    "TransactionResult",
    "TseBackend",
    "TseError",
    "TseInfo",
]


class TseError(Exception):
    """A refused or failed TSE operation, with a stable code and the HTTP status the API answers with."""

    def __init__(self, code: str, message, *, status: int = 400):
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.status = status


@dataclass(frozen=True)
class LogMessageResult:
    """The stored log message: its kind, operation type, counters, TAR member name and exact bytes."""

    kind: str
    operation_type: str
    signature_counter: int
    transaction_number: int | None
    log_time: datetime
    file_name: str
    der: bytes


@dataclass(frozen=True)
class SignatureResult:
    """A plain ``r‖s`` signature with everything a receipt needs to show and verify it."""

    value: bytes
    algorithm: str
    counter: int
    time: datetime
    serial_number: str
    public_key: bytes  # uncompressed point 04‖X‖Y


@dataclass(frozen=True)
class SystemLogResult:
    signature: SignatureResult
    log_message: LogMessageResult


@dataclass(frozen=True)
class TransactionResult:
    number: int
    state: str
    client_id: str
    revision: int
    time_start: datetime
    time_end: datetime | None
    signature: SignatureResult
    log_message: LogMessageResult
    transaction_id: int | None = None  # pk of the TseTransaction row (saves the caller a lookup)


@dataclass(frozen=True)
class TseInfo:
    backend: str
    certified: bool
    certification_label: str
    serial_number: str
    public_key: bytes
    certificate: str
    signature_algorithm: str
    curve: str
    state: str
    mode: str
    time_format: str
    signature_counter: int
    transaction_counter: int
    max_clients: int
    registered_clients: list[str] = field(default_factory=list)
    open_transactions: list[int] = field(default_factory=list)
    last_time_sync_at: datetime | None = None
    certificate_expires_at: datetime | None = None
    bsi_certification_id: str = ""
    remaining_signatures: int | None = None  # where the device reports its capacity


@dataclass(frozen=True)
class ExportResult:
    sha256: str
    size: int
    log_count: int
    first_signature_counter: int | None
    last_signature_counter: int | None
    mtime: int


class TseBackend(ABC):
    """One TSE behind the SE API functional model (tse.md §5).

    Lifecycle and client calls return the signed system log, or ``None`` when the TSE keeps its
    system logs to itself: a cloud TSE (fiskaly) signs them internally and hands them out only in
    the TAR export, so there is nothing to return per call.
    """

    def __init__(self, signing_unit):
        self.signing_unit = signing_unit

    @abstractmethod
    def initialize(self, description: str = "") -> SystemLogResult | None:
        """uninitialized → initialized; writes the ``initialize`` system log."""

    @abstractmethod
    def update_time(self) -> SystemLogResult | None:
        """Set the TSE time; writes the ``updateTime`` system log."""

    @abstractmethod
    def register_client(self, client_id: str) -> SystemLogResult | None:
        """Register a POS; writes the ``registerClient`` system log."""

    @abstractmethod
    def deregister_client(self, client_id: str) -> SystemLogResult | None:
        """Deregister a POS; writes the ``deregisterClient`` system log."""

    @abstractmethod
    def start_transaction(self, client_id: str, process_type: str = "", process_data: bytes = b"") -> TransactionResult:
        """Assign the next transaction number and sign the StartTransaction log."""

    @abstractmethod
    def update_transaction(self, client_id: str, number: int, process_type: str,
                           process_data: bytes) -> TransactionResult:
        """Sign an UpdateTransaction log (signed update variant)."""

    @abstractmethod
    def finish_transaction(self, client_id: str, number: int, process_type: str, process_data: bytes,
                           *, cancelled: bool = False) -> TransactionResult:
        """Sign the FinishTransaction log; the transaction becomes FINISHED (or CANCELLED)."""

    @abstractmethod
    def disable(self) -> SystemLogResult | None:
        """initialized → disabled (irreversible); writes the ``disableSecureElement`` system log."""

    @abstractmethod
    def info(self) -> TseInfo:
        """Device information (tse.md §5.8)."""

    @abstractmethod
    def export(self, fileobj, **filters) -> ExportResult:
        """Write the TR-03153 TAR export to ``fileobj``; see ``tse.services.tar_export``."""
