"""The built-in software TSE: ECDSA keys encrypted at rest, TR-03151 version 2 log messages.

NOT CERTIFIED — for the sandbox only; refused when ``PORTAL_ENVIRONMENT`` is ``live``
(``E_SOFTWARE_TSE_NOT_ALLOWED``). Log messages follow tse.md §2.1/§2.4/§2.5.1: the signed message
M is the concatenation of the DER TLVs from ``version`` to ``logTime`` and the signature is plain
``r‖s`` (§2.8, §3.5). The signature counter (and, for a start, the transaction number) is
allocated under ``select_for_update()`` on the signing unit inside the database transaction that
stores the log message, so counters have neither gaps nor duplicates.
"""

import datetime as dt
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from portal.crypto import decrypt, encrypt
from tse.backends import der
from tse.backends.base import (
    ExportResult,
    LogMessageResult,
    SignatureResult,
    SystemLogResult,
    TransactionResult,
    TseBackend,
    TseError,
    TseInfo,
)
from tse.models import (
    ClientState,
    LogMessage,
    LogMessageKind,
    SigningUnit,
    SigningUnitState,
    TransactionState,
    TseClient,
    TseTransaction,
)

__all__ = [
    "CERTIFICATE_SUBJECT",
    "CURVES",
    "OID_SYSTEM_LOG",
    "OID_TRANSACTION_LOG",
    "PRIVATE_KEY_PURPOSE",
    "SoftwareTse",
    "ensure_software_tse_allowed",
    "generate_key_material",
    "locked_active_transaction",
]

OID_TRANSACTION_LOG = "0.4.0.127.0.7.3.7.1.1"
OID_SYSTEM_LOG = "0.4.0.127.0.7.3.7.1.2"
PRIVATE_KEY_PURPOSE = "tse-private-key"
CERTIFICATE_SUBJECT = "Kassenportal Software-TSE – NOT CERTIFIED"
CERTIFICATE_VALIDITY = dt.timedelta(days=5 * 365)
# curve -> (curve class, hash class, algorithm name, algorithm OID)
CURVES = {
    "P-256": (ec.SECP256R1, hashes.SHA256, "ecdsa-plain-SHA256", "0.4.0.127.0.7.1.1.4.1.3"),
    "P-384": (ec.SECP384R1, hashes.SHA384, "ecdsa-plain-SHA384", "0.4.0.127.0.7.1.1.4.1.4"),
    "brainpoolP256r1": (ec.BrainpoolP256R1, hashes.SHA256, "ecdsa-plain-SHA256", "0.4.0.127.0.7.1.1.4.1.3"),
    "brainpoolP384r1": (ec.BrainpoolP384R1, hashes.SHA384, "ecdsa-plain-SHA384", "0.4.0.127.0.7.1.1.4.1.4"),
}
# PrintableString characters without "/" and "_" (DSFinV-K), at most 30 (ustar name length, tse.md §10.1).
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9 '()+,\-.:=?]{1,30}$")
PROCESS_TYPE_RE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]{0,100}$")
NOT_CERTIFIED_LABEL = gettext_lazy("not certified (software TSE for testing only)")
FILE_OPERATION = {"StartTransaction": "Start", "UpdateTransaction": "Update", "FinishTransaction": "Finish"}


def ensure_software_tse_allowed() -> None:
    if settings.PORTAL_ENVIRONMENT == "live":
        raise TseError("E_SOFTWARE_TSE_NOT_ALLOWED",
                       gettext("The software TSE is not certified and cannot be used in the live environment."),
                       status=403)


def _public_point(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def generate_key_material(curve: str) -> dict:
    """A new key pair and self-signed certificate: the ``SigningUnit`` fields of a software TSE."""
    ensure_software_tse_allowed()
    if curve not in CURVES:
        raise TseError("E_UNSUPPORTED_CURVE", gettext("Unsupported curve: %(curve)s") % {"curve": curve})
    curve_class, hash_class, algorithm, _oid = CURVES[curve]
    private_key = ec.generate_private_key(curve_class())
    public_key = private_key.public_key()
    serial = hashlib.sha256(_public_point(public_key)).hexdigest()
    now = timezone.now().replace(microsecond=0)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, CERTIFICATE_SUBJECT),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kassenportal"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
    ])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hash_class())
    )
    private_der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    return {
        "curve": curve,
        "signature_algorithm": algorithm,
        "serial_number": serial,
        "public_key": public_key.public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo),
        "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "certificate_expires_at": certificate.not_valid_after_utc,
        "encrypted_private_key": encrypt(private_der, PRIVATE_KEY_PURPOSE),
        "bsi_certification_id": "",
    }


def locked_active_transaction(unit: SigningUnit, number: int, client_id: str) -> TseTransaction:
    """The ACTIVE transaction ``number`` of ``client_id`` at ``unit``, locked; ``TseError`` otherwise.

    Shared by every backend that keeps ``TseTransaction`` rows (software, fiskaly).
    """
    tx = (TseTransaction.unscoped.select_for_update(of=("self",)).select_related("client")
          .filter(signing_unit=unit, number=number).first())
    if tx is None:
        raise TseError("E_TRANSACTION_NOT_FOUND", gettext("No transaction with this number."), status=404)
    if tx.client.client_id != client_id:
        raise TseError("E_CLIENT_MISMATCH", gettext("The transaction belongs to another client."), status=409)
    if tx.state != TransactionState.ACTIVE:
        raise TseError("E_TRANSACTION_NOT_ACTIVE", gettext("The transaction is already finished."), status=409)
    return tx


def _validate_client_id(client_id: str) -> None:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise TseError("E_INVALID_CLIENT_ID", gettext(
            "The client id must be 1 to 30 characters: letters, digits, space and ' ( ) + , - . : = ?"))


def _validate_process(process_type: str, process_data: bytes) -> None:
    if not isinstance(process_type, str) or not PROCESS_TYPE_RE.match(process_type):
        raise TseError("E_INVALID_PROCESS_TYPE", gettext("The process type must be at most 100 printable characters."))
    if not isinstance(process_data, bytes | bytearray):
        raise TseError("E_INVALID_PROCESS_DATA", gettext("The process data must be bytes."))


class SoftwareTse(TseBackend):
    """The software TSE behind the ``TseBackend`` interface."""

    # --- helpers ------------------------------------------------------------------------------

    def _lock(self) -> SigningUnit:
        """The signing unit row, locked until the surrounding transaction ends."""
        unit = SigningUnit.unscoped.select_for_update(no_key=True).get(pk=self.signing_unit.pk)
        self.signing_unit = unit
        return unit

    @staticmethod
    def _require_initialized(unit: SigningUnit, *, time_needed: bool) -> None:
        ensure_software_tse_allowed()
        if unit.state == SigningUnitState.DISABLED:
            raise TseError("E_TSE_DISABLED", gettext("The TSE is disabled."), status=409)
        if unit.state != SigningUnitState.INITIALIZED:
            raise TseError("E_TSE_NOT_INITIALIZED", gettext("The TSE is not initialized."), status=409)
        if time_needed and unit.last_time_sync_at is None:
            raise TseError("E_TIME_NOT_SET", gettext("The time of the TSE is not set."), status=409)

    @staticmethod
    def _now() -> int:
        return int(timezone.now().timestamp())

    def _sign(self, unit: SigningUnit, message: bytes) -> bytes:
        _curve_class, hash_class, _name, _oid = CURVES[unit.curve]
        key = serialization.load_der_private_key(decrypt(bytes(unit.encrypted_private_key), PRIVATE_KEY_PURPOSE),
                                                 password=None)
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hash_class())))
        width = (key.curve.key_size + 7) // 8
        return r.to_bytes(width, "big") + s.to_bytes(width, "big")

    def _store(self, unit: SigningUnit, *, kind: str, operation_type: str, certified_data: bytes, unix: int,
               transaction_number: int | None = None, client_id: str = ""):
        """Allocate the next signature counter, sign, store the log message; the caller holds the lock."""
        unit.signature_counter += 1
        counter = unit.signature_counter
        _curve_class, _hash_class, algorithm, algorithm_oid = CURVES[unit.curve]
        message = b"".join([
            der.integer(2),
            der.oid(OID_TRANSACTION_LOG if kind == LogMessageKind.TRANSACTION else OID_SYSTEM_LOG),
            certified_data,
            der.octet_string(bytes.fromhex(unit.serial_number)),
            der.sequence(der.oid(algorithm_oid)),
            der.integer(counter),
            der.integer(unix),
        ])
        signature = self._sign(unit, message)
        encoded = der.tlv(0x30, message + der.octet_string(signature))
        if kind == LogMessageKind.TRANSACTION:
            file_name = (f"Unixt_{unix}_Sig-{counter}_Log-Tra_No-{transaction_number}_"
                         f"{FILE_OPERATION[operation_type]}_Client-{client_id}.log")
        else:
            file_name = f"Unixt_{unix}_Sig-{counter}_Log-Sys_{operation_type}.log"
        log_time = dt.datetime.fromtimestamp(unix, tz=dt.UTC)
        LogMessage.unscoped.create(
            signing_unit=unit, organization_id=unit.organization_id, kind=kind, signature_counter=counter,
            transaction_number=transaction_number, client_id=client_id, operation_type=operation_type,
            log_time=log_time, file_name=file_name, der=encoded,
        )
        unit.save(update_fields=["signature_counter", "transaction_counter", "state", "last_time_sync_at"])
        public_point = _public_point(serialization.load_der_public_key(bytes(unit.public_key)))
        log = LogMessageResult(kind=str(kind), operation_type=operation_type, signature_counter=counter,
                               transaction_number=transaction_number, log_time=log_time, file_name=file_name,
                               der=encoded)
        sig = SignatureResult(value=signature, algorithm=algorithm, counter=counter, time=log_time,
                              serial_number=unit.serial_number, public_key=public_point)
        return log, sig

    def _system_log(self, unit, operation_type: str, operation_data: bytes, unix: int) -> SystemLogResult:
        certified = der.printable(operation_type, 0x80) + der.octet_string(operation_data, 0x81)
        log, sig = self._store(unit, kind=LogMessageKind.SYSTEM, operation_type=operation_type,
                               certified_data=certified, unix=unix)
        return SystemLogResult(signature=sig, log_message=log)

    # --- lifecycle and time ---------------------------------------------------------------------

    def initialize(self, description: str = "") -> SystemLogResult:
        with transaction.atomic():
            unit = self._lock()
            ensure_software_tse_allowed()
            if unit.state != SigningUnitState.UNINITIALIZED:
                raise TseError("E_TSE_ALREADY_INITIALIZED",
                               gettext("The TSE was initialized before and cannot be initialized again."), status=409)
            unit.state = SigningUnitState.INITIALIZED
            text = description or unit.description or "Kassenportal Software-TSE (not certified)"
            return self._system_log(unit, "initialize", der.tlv(0x81, text.encode("utf-8")), self._now())

    def update_time(self) -> SystemLogResult:
        """Take the host clock (NTP-synced) as TSE time; the log records the previous sync time (0: never)."""
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit, time_needed=False)
            unix = self._now()
            old = int(unit.last_time_sync_at.timestamp()) if unit.last_time_sync_at else 0
            data = der.tlv(0x81, der.integer_content(old)) + der.tlv(0x82, der.integer_content(unix))
            unit.last_time_sync_at = dt.datetime.fromtimestamp(unix, tz=dt.UTC)
            return self._system_log(unit, "updateTime", data, unix)

    def disable(self) -> SystemLogResult:
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit, time_needed=True)
            unix = self._now()
            unit.state = SigningUnitState.DISABLED
            return self._system_log(unit, "disableSecureElement", der.tlv(0x81, der.integer_content(unix)), unix)

    # --- clients ---------------------------------------------------------------------------------

    def register_client(self, client_id: str) -> SystemLogResult:
        _validate_client_id(client_id)
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit, time_needed=False)
            client = TseClient.unscoped.filter(signing_unit=unit, client_id=client_id).first()
            if client is not None and client.state == ClientState.REGISTERED:
                raise TseError("E_CLIENT_ALREADY_REGISTERED", gettext("The client is already registered."),
                               status=409)
            registered = TseClient.unscoped.filter(signing_unit=unit, state=ClientState.REGISTERED).count()
            if registered >= unit.max_clients:
                raise TseError("E_CLIENT_LIMIT_REACHED",
                               gettext("The TSE has reached its maximum number of clients."), status=409)
            if client is None:
                TseClient.unscoped.create(organization_id=unit.organization_id, signing_unit=unit, client_id=client_id)
            else:
                client.state = ClientState.REGISTERED
                client.save(update_fields=["state"])
            return self._system_log(unit, "registerClient", der.tlv(0x81, client_id.encode("ascii")), self._now())

    def deregister_client(self, client_id: str) -> SystemLogResult:
        _validate_client_id(client_id)
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit, time_needed=False)
            client = self._registered_client(unit, client_id)
            if TseTransaction.unscoped.filter(client=client, state=TransactionState.ACTIVE).exists():
                raise TseError("E_OPEN_TRANSACTION_FOUND",
                               gettext("The client still has open transactions."), status=409)
            client.state = ClientState.DEREGISTERED
            client.save(update_fields=["state"])
            return self._system_log(unit, "deregisterClient", der.tlv(0x81, client_id.encode("ascii")), self._now())

    @staticmethod
    def _registered_client(unit, client_id: str) -> TseClient:
        client = TseClient.unscoped.filter(signing_unit=unit, client_id=client_id,
                                           state=ClientState.REGISTERED).first()
        if client is None:
            raise TseError("E_CLIENT_NOT_REGISTERED", gettext("The client is not registered at this TSE."),
                           status=409)
        return client

    # --- transactions ----------------------------------------------------------------------------

    @staticmethod
    def _transaction_data(operation_type: str, client_id: str, process_type: str, process_data: bytes,
                          number: int) -> bytes:
        return b"".join([
            der.printable(operation_type, 0x80),
            der.printable(client_id, 0x81),
            der.octet_string(bytes(process_data), 0x82),
            der.printable(process_type, 0x83),
            der.integer(number, 0x85),
        ])

    def start_transaction(self, client_id: str, process_type: str = "", process_data: bytes = b"") -> TransactionResult:
        _validate_client_id(client_id)
        _validate_process(process_type, process_data)
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit, time_needed=True)
            client = self._registered_client(unit, client_id)
            unit.transaction_counter += 1
            number = unit.transaction_counter
            data = self._transaction_data("StartTransaction", client_id, process_type, process_data, number)
            log, sig = self._store(unit, kind=LogMessageKind.TRANSACTION, operation_type="StartTransaction",
                                   certified_data=data, unix=self._now(), transaction_number=number,
                                   client_id=client_id)
            created = TseTransaction.unscoped.create(
                organization_id=unit.organization_id, signing_unit=unit, client=client, number=number,
                process_type=process_type, process_data=bytes(process_data), time_start=log.log_time,
            )
            return TransactionResult(number=number, state=TransactionState.ACTIVE, client_id=client_id, revision=1,
                                     time_start=log.log_time, time_end=None, signature=sig, log_message=log,
                                     transaction_id=created.pk)

    def update_transaction(self, client_id: str, number: int, process_type: str,
                           process_data: bytes) -> TransactionResult:
        return self._continue(client_id, number, process_type, process_data, finish=False, cancelled=False)

    def finish_transaction(self, client_id: str, number: int, process_type: str, process_data: bytes,
                           *, cancelled: bool = False) -> TransactionResult:
        return self._continue(client_id, number, process_type, process_data, finish=True, cancelled=cancelled)

    def _continue(self, client_id, number, process_type, process_data, *, finish: bool, cancelled: bool):
        _validate_client_id(client_id)
        _validate_process(process_type, process_data)
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit, time_needed=True)
            tx = locked_active_transaction(unit, number, client_id)
            operation = "FinishTransaction" if finish else "UpdateTransaction"
            data = self._transaction_data(operation, client_id, process_type, process_data, number)
            log, sig = self._store(unit, kind=LogMessageKind.TRANSACTION, operation_type=operation,
                                   certified_data=data, unix=self._now(), transaction_number=number,
                                   client_id=client_id)
            tx.process_type, tx.process_data = process_type, bytes(process_data)
            tx.last_revision += 1
            if finish:
                tx.state = TransactionState.CANCELLED if cancelled else TransactionState.FINISHED
                tx.time_end = log.log_time
            tx.save(update_fields=["process_type", "process_data", "last_revision", "state", "time_end"])
            return TransactionResult(number=number, state=tx.state, client_id=client_id, revision=tx.last_revision,
                                     time_start=tx.time_start, time_end=tx.time_end, signature=sig, log_message=log,
                                     transaction_id=tx.pk)

    # --- information and export ------------------------------------------------------------------

    def info(self) -> TseInfo:
        unit = SigningUnit.unscoped.get(pk=self.signing_unit.pk)
        self.signing_unit = unit
        point = _public_point(serialization.load_der_public_key(bytes(unit.public_key))) if unit.public_key else b""
        clients = list(TseClient.unscoped.filter(signing_unit=unit, state=ClientState.REGISTERED)
                       .order_by("client_id").values_list("client_id", flat=True))
        open_numbers = list(TseTransaction.unscoped.filter(signing_unit=unit, state=TransactionState.ACTIVE)
                            .order_by("number").values_list("number", flat=True))
        return TseInfo(
            backend=unit.backend, certified=False, certification_label=str(NOT_CERTIFIED_LABEL),
            serial_number=unit.serial_number, public_key=point, certificate=unit.certificate,
            signature_algorithm=unit.signature_algorithm, curve=unit.curve, state=unit.state, mode=unit.mode,
            time_format="unixTime", signature_counter=unit.signature_counter,
            transaction_counter=unit.transaction_counter, max_clients=unit.max_clients,
            registered_clients=clients, open_transactions=open_numbers, last_time_sync_at=unit.last_time_sync_at,
            certificate_expires_at=unit.certificate_expires_at, bsi_certification_id="",
        )

    def export(self, fileobj, **filters) -> ExportResult:
        from tse.services.tar_export import write_tar_export

        return write_tar_export(self.signing_unit, fileobj, **filters)

