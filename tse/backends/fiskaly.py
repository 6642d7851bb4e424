"""fiskaly SIGN DE v2 (cloud TSE) behind the ``TseBackend`` interface.

One signing unit is one fiskaly TSS with the same UUID (``SigningUnit.public_id``); transactions
use ``TseTransaction.public_id`` as fiskaly tx id. The HTTP work is done by the process-wide
:class:`~tse.backends.fiskaly_client.FiskalyClient` built from the ``FISKALY_*`` settings
(rebuilt when they change); without ``FISKALY_API_KEY`` every operation fails with
``E_BACKEND_NOT_CONFIGURED`` (503).

- **Personalisation** (``initialize``) follows the documented sequence: create the TSS (idempotent
  ``PUT``) → store the admin PUK encrypted (``FiskalyTss``, purpose ``fiskaly-admin``) → UNINITIALIZED
  → set a random admin PIN (stored encrypted *before* it is sent) → admin login → INITIALIZED →
  logout. Each step that learns a secret saves it at once (``_SecretStore``; the service runs
  ``initialize`` outside a database transaction, so it commits); a new call continues from the
  state the TSS has at fiskaly.
- **System logs** stay in the cloud TSE: fiskaly returns no signature for lifecycle calls, so
  ``initialize``, ``update_time``, ``register_client``, ``deregister_client`` and ``disable`` return
  ``None``. Transactions return fiskaly's signature with an empty ``der``/``file_name`` (no
  ``LogMessage`` rows: the TAR export comes from fiskaly).
- **Client ids at fiskaly** are derived from the TSS id and the POS serial number (a UUID in v4
  format). ``TseClient.public_id`` cannot be used: the signing API replaces it after the backend
  registered the client (``tse.services.signing.register_client``).
- **Errors**: timeouts, network errors, 5xx and 429 (after the client's retries) and unreadable
  answers are ``E_TSE_UNAVAILABLE`` (503); fiskaly's 4xx keep fiskaly's code (state conflicts 409).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import logging
import re
import secrets
import tarfile
import tempfile
import threading
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from portal.crypto import decrypt, encrypt
from tse.backends.base import (
    ExportResult,
    LogMessageResult,
    SignatureResult,
    TransactionResult,
    TseBackend,
    TseError,
    TseInfo,
)
from tse.backends.fiskaly_client import (
    ClientState as RemoteClientState,
)
from tse.backends.fiskaly_client import (
    ExportState,
    FiskalyClient,
    FiskalyConfig,
    FiskalyError,
    Transaction,
    Tss,
    TssState,
    utc_from_unix,
)
from tse.backends.fiskaly_client import (
    TransactionState as RemoteTransactionState,
)
from tse.backends.software import _validate_client_id, _validate_process, locked_active_transaction
from tse.models import (
    BackendType,
    ClientState,
    FiskalyTss,
    LogMessageKind,
    SigningUnit,
    SigningUnitState,
    TransactionState,
    TseClient,
    TseTransaction,
)
from tse.services.signing_units import register_backend

__all__ = ["ADMIN_PURPOSE", "FiskalyTse", "fiskaly_client", "remote_client_id"]

logger = logging.getLogger(__name__)

ADMIN_PURPOSE = "fiskaly-admin"
PIN_LENGTH = 12
# fiskaly's own codes that mean "not in the right state" rather than "bad request".
CONFLICT_CODES = frozenset({
    "E_TSS_NOT_INITIALIZED", "E_TSS_DISABLED", "E_CLIENT_DEREGISTERED", "E_TX_ALREADY_FINISHED",
    "E_ILLEGAL_TSS_STATE_CHANGE", "E_PENDING_TX_CONFLICT", "E_TX_ILLEGAL_TYPE_CHANGE", "E_TSS_CONFLICT",
    "E_CLIENT_CONFLICT", "E_TSS_ILLEGAL_STATE_TO_PERFORM_EXPORT", "E_TOO_MANY_EXPORTS", "E_EXPORT_IN_PROGRESS",
    "E_CLIENT_LIMIT_REACHED", "E_TX_LIMIT_REACHED",
})
DESCRIPTION_RE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]{1,100}$")
OPERATIONS = {"Start": "StartTransaction", "Update": "UpdateTransaction", "Finish": "FinishTransaction"}
LOG_NAME_COUNTER_RE = re.compile(r"_Sig-(\d+)_")
# point length -> curves to try (fiskaly uses NIST P-256; the certificate, when parseable, decides)
POINT_CURVES = {65: (("P-256", ec.SECP256R1), ("brainpoolP256r1", ec.BrainpoolP256R1)),
                97: (("P-384", ec.SECP384R1), ("brainpoolP384r1", ec.BrainpoolP384R1))}
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "brainpoolP256r1": "brainpoolP256r1",
               "brainpoolP384r1": "brainpoolP384r1"}
TEST_LABEL = gettext_lazy("fiskaly SIGN DE cloud TSE (test environment, not for receipts)")
CERTIFIED_LABEL = gettext_lazy("fiskaly SIGN DE cloud TSE, BSI certified (%(id)s)")


# --- the process-wide client ----------------------------------------------------------------------

_client_lock = threading.Lock()
_client: FiskalyClient | None = None
_client_key: tuple | None = None


def _settings_key() -> tuple:
    return (
        settings.FISKALY_BASE_URL,
        settings.FISKALY_API_KEY,
        settings.FISKALY_API_SECRET,
        int(getattr(settings, "FISKALY_MAX_ATTEMPTS", 3)),
        float(getattr(settings, "FISKALY_BACKOFF_BASE", 0.5)),
        float(getattr(settings, "FISKALY_BACKOFF_MAX", 8.0)),
    )


def fiskaly_client() -> FiskalyClient:
    """The shared client for the current settings; a settings change (tests) builds a new one."""
    global _client, _client_key
    key = _settings_key()
    base_url, api_key, api_secret, max_attempts, backoff_base, backoff_max = key
    if not api_key or not api_secret:
        raise TseError("E_BACKEND_NOT_CONFIGURED",
                       gettext("The connection to fiskaly is not configured (API key and secret)."), status=503)
    with _client_lock:
        if _client is None or _client_key != key:
            if _client is not None:
                _client.close()
            _client = FiskalyClient(FiskalyConfig(api_key, api_secret, base_url=base_url, max_attempts=max_attempts,
                                                  backoff_base=backoff_base, backoff_max=backoff_max))
            _client_key = key
        return _client


def _tse_error(exc: FiskalyError) -> TseError:
    if exc.status_code is None or exc.retryable or exc.status_code >= 500:
        return TseError("E_TSE_UNAVAILABLE", gettext("The fiskaly TSE is not available (%(code)s).")
                        % {"code": exc.code}, status=503)
    if exc.status_code in (401, 403) and exc.code in ("E_UNAUTHORIZED", "E_HTTP_401", "E_HTTP_403"):
        # our API key was refused: a configuration problem, not the caller's
        return TseError("E_BACKEND_NOT_CONFIGURED", gettext("fiskaly refused the configured API key."), status=503)
    if exc.code in CONFLICT_CODES:
        status = 409
    elif exc.status_code in (401, 403):  # e.g. the stored admin PIN refused: the portal's problem, not the caller's
        status = 502
    else:
        status = exc.status_code
    return TseError(exc.code, gettext("fiskaly refused the request: %(message)s") % {"message": exc.message},
                    status=status)


@contextlib.contextmanager
def _mapped_errors():
    try:
        yield
    except FiskalyError as exc:
        raise _tse_error(exc) from exc


def remote_client_id(signing_unit: SigningUnit, serial_number: str) -> str:
    """The fiskaly client id of the POS ``serial_number`` at this TSS (stable, UUID in v4 format)."""
    digest = hashlib.sha256(f"kassenportal-client:{signing_unit.public_id}:{serial_number}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _point_and_curve(tss: Tss, certificate: x509.Certificate | None) -> tuple[bytes, str, ec.EllipticCurvePublicKey]:
    point = base64.b64decode(tss.public_key or "")
    if certificate is not None:
        cert_key = certificate.public_key()
        if isinstance(cert_key, ec.EllipticCurvePublicKey) and cert_key.curve.name in CURVE_NAMES:
            with contextlib.suppress(ValueError):
                key = ec.EllipticCurvePublicKey.from_encoded_point(cert_key.curve, point)
                return point, CURVE_NAMES[cert_key.curve.name], key
    for name, curve_class in POINT_CURVES.get(len(point), ()):
        with contextlib.suppress(ValueError):
            return point, name, ec.EllipticCurvePublicKey.from_encoded_point(curve_class(), point)
    raise TseError("E_TSE_UNAVAILABLE", gettext("fiskaly returned an unusable public key."), status=503)


def _certificate(value: str | None) -> tuple[str, x509.Certificate | None]:
    """fiskaly's ``certificate`` (base64 of PEM or DER, or PEM) as PEM text and parsed, where possible."""
    if not value:
        return "", None
    data = value.encode("ascii", "ignore")
    if not data.lstrip().startswith(b"-----BEGIN"):
        try:
            data = base64.b64decode(value, validate=False)
        except ValueError:
            return "", None
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(data.strip())
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError:
        return "", None
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"), certificate


class FiskalyTse(TseBackend):
    """A fiskaly TSS: state, clients and transactions at fiskaly, mirrored in the local rows."""

    @property
    def tss_id(self) -> str:
        return str(self.signing_unit.public_id)

    def _client(self) -> FiskalyClient:
        return fiskaly_client()

    def _reload(self) -> SigningUnit:
        self.signing_unit = SigningUnit.unscoped.get(pk=self.signing_unit.pk)
        return self.signing_unit

    def _lock(self) -> SigningUnit:
        self.signing_unit = SigningUnit.unscoped.select_for_update(no_key=True).get(pk=self.signing_unit.pk)
        return self.signing_unit

    @staticmethod
    def _require_initialized(unit: SigningUnit) -> None:
        if unit.state == SigningUnitState.DISABLED:
            raise TseError("E_TSE_DISABLED", gettext("The TSE is disabled."), status=409)
        if unit.state != SigningUnitState.INITIALIZED:
            raise TseError("E_TSE_NOT_INITIALIZED", gettext("The TSE is not initialized."), status=409)

    # --- secrets ----------------------------------------------------------------------------------

    @staticmethod
    def _secret(value) -> str | None:
        return decrypt(bytes(value), ADMIN_PURPOSE).decode("utf-8") if value else None

    @contextlib.contextmanager
    def _admin(self, client: FiskalyClient):
        """Logged in as admin of the TSS for the block; a blocked PIN is reset with the PUK once."""
        row = FiskalyTss.unscoped.filter(signing_unit_id=self.signing_unit.pk).first()
        pin = self._secret(row.encrypted_admin_pin) if row else None
        if pin is None:
            raise TseError("E_ADMIN_PIN_MISSING", gettext("The admin PIN of this fiskaly TSS is not stored."),
                           status=409)
        try:
            client.authenticate_admin(self.tss_id, pin)
        except FiskalyError as exc:
            puk = self._secret(row.encrypted_admin_puk)
            if exc.code != "E_ADMIN_PIN_BLOCKED" or puk is None:
                raise
            client.change_admin_pin(self.tss_id, puk, pin)
            client.authenticate_admin(self.tss_id, pin)
        try:
            yield
        finally:
            with contextlib.suppress(FiskalyError):
                client.logout_admin(self.tss_id)

    # --- lifecycle --------------------------------------------------------------------------------

    def initialize(self, description: str = "") -> None:
        client = self._client()
        unit = self._reload()
        if unit.state != SigningUnitState.UNINITIALIZED:
            raise TseError("E_TSE_ALREADY_INITIALIZED",
                           gettext("The TSE was initialized before and cannot be initialized again."), status=409)
        row = _SecretStore(unit)
        with _mapped_errors():
            tss = self._personalise(client, row, description or unit.description)
        self._fill_unit(tss)

    def _personalise(self, client: FiskalyClient, row: _SecretStore, description: str) -> Tss:
        try:
            tss = client.retrieve_tss(self.tss_id)
        except FiskalyError as exc:
            if exc.status_code != 404:
                raise
            tss = None
        if tss is None or tss.state == TssState.CREATED:
            tss = client.create_tss(self.tss_id, metadata={"signing_unit": self.tss_id})
            if tss.admin_puk:
                row.save(encrypted_admin_puk=encrypt(tss.admin_puk.encode(), ADMIN_PURPOSE), remote_state=tss.state)
        if tss.state == TssState.CREATED:
            tss = client.update_tss(self.tss_id, TssState.UNINITIALIZED)
            row.save(remote_state=tss.state)
        if tss.state == TssState.UNINITIALIZED:
            puk = self._secret(row.values["encrypted_admin_puk"])
            if puk is None:
                raise TseError("E_ADMIN_PUK_MISSING",
                               gettext("The admin PUK of this fiskaly TSS was not stored; it cannot be initialized."),
                               status=409)
            pin = self._secret(row.values["encrypted_admin_pin"])
            if pin is None:
                pin = "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))
                row.save(encrypted_admin_pin=encrypt(pin.encode(), ADMIN_PURPOSE))
            client.change_admin_pin(self.tss_id, puk, pin)  # idempotent with the same PIN
            client.authenticate_admin(self.tss_id, pin)
            try:
                text = description if DESCRIPTION_RE.match(description or "") else None
                tss = client.update_tss(self.tss_id, TssState.INITIALIZED, description=text)
            finally:
                with contextlib.suppress(FiskalyError):
                    client.logout_admin(self.tss_id)
            row.save(remote_state=tss.state)
        if tss.state != TssState.INITIALIZED:
            raise TseError("E_ILLEGAL_TSS_STATE",
                           gettext("The fiskaly TSS is in state %(state)s and cannot be initialized.")
                           % {"state": tss.state}, status=409)
        return tss

    def _fill_unit(self, tss: Tss) -> None:
        pem, certificate = _certificate(tss.certificate)
        point, curve, public_key = _point_and_curve(tss, certificate)
        with transaction.atomic():
            unit = self._lock()
            unit.serial_number = tss.serial_number or hashlib.sha256(point).hexdigest()
            unit.public_key = public_key.public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
            unit.certificate = pem
            unit.curve = curve
            unit.signature_algorithm = tss.signature_algorithm or ""
            unit.bsi_certification_id = str(tss.raw.get("bsi_certification_id") or "")[:40]
            unit.certificate_expires_at = certificate.not_valid_after_utc if certificate is not None else None
            unit.state = SigningUnitState.INITIALIZED
            unit.last_time_sync_at = timezone.now()
            unit.signature_counter = max(unit.signature_counter, tss.signature_counter or 0)
            unit.transaction_counter = max(unit.transaction_counter, tss.transaction_counter or 0)
            unit.save()

    def update_time(self) -> None:
        """fiskaly keeps the TSE time itself: record when fiskaly last confirmed the TSS."""
        client = self._client()
        unit = self._reload()
        self._require_initialized(unit)
        with _mapped_errors():
            tss = client.retrieve_tss(self.tss_id)
        if tss.state != TssState.INITIALIZED:
            raise TseError("E_TSS_NOT_INITIALIZED", gettext("The fiskaly TSS is in state %(state)s.")
                           % {"state": tss.state}, status=409)
        now = timezone.now()
        SigningUnit.unscoped.filter(pk=unit.pk).update(last_time_sync_at=now)
        unit.last_time_sync_at = now

    def disable(self) -> None:
        client = self._client()
        unit = self._reload()
        self._require_initialized(unit)
        with _mapped_errors():
            tss = client.retrieve_tss(self.tss_id)
            if tss.state != TssState.DISABLED:
                with self._admin(client):
                    tss = client.update_tss(self.tss_id, TssState.DISABLED)
        with transaction.atomic():
            unit = self._lock()
            unit.state = SigningUnitState.DISABLED
            unit.save(update_fields=["state"])
            FiskalyTss.unscoped.filter(signing_unit=unit).update(remote_state=tss.state, updated_at=timezone.now())

    # --- clients ----------------------------------------------------------------------------------

    def register_client(self, client_id: str) -> None:
        remote = self._client()
        _validate_client_id(client_id)
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit)
            client = TseClient.unscoped.filter(signing_unit=unit, client_id=client_id).first()
            if client is not None and client.state == ClientState.REGISTERED:
                raise TseError("E_CLIENT_ALREADY_REGISTERED", gettext("The client is already registered."),
                               status=409)
            registered = TseClient.unscoped.filter(signing_unit=unit, state=ClientState.REGISTERED).count()
            if registered >= unit.max_clients:
                raise TseError("E_CLIENT_LIMIT_REACHED",
                               gettext("The TSE has reached its maximum number of clients."), status=409)
            remote_id = remote_client_id(unit, client_id)
            with _mapped_errors(), self._admin(remote):
                if client is None:
                    remote.create_client(self.tss_id, remote_id, client_id)
                else:
                    remote.update_client(self.tss_id, remote_id, RemoteClientState.REGISTERED)
            if client is None:
                TseClient.unscoped.create(organization_id=unit.organization_id, signing_unit=unit, client_id=client_id)
            else:
                client.state = ClientState.REGISTERED
                client.save(update_fields=["state"])

    def deregister_client(self, client_id: str) -> None:
        remote = self._client()
        _validate_client_id(client_id)
        with transaction.atomic():
            unit = self._lock()
            self._require_initialized(unit)
            client = self._registered_client(unit, client_id)
            if TseTransaction.unscoped.filter(client=client, state=TransactionState.ACTIVE).exists():
                raise TseError("E_OPEN_TRANSACTION_FOUND",
                               gettext("The client still has open transactions."), status=409)
            with _mapped_errors(), self._admin(remote):
                remote.update_client(self.tss_id, remote_client_id(unit, client_id), RemoteClientState.DEREGISTERED)
            client.state = ClientState.DEREGISTERED
            client.save(update_fields=["state"])

    @staticmethod
    def _registered_client(unit, client_id: str) -> TseClient:
        client = TseClient.unscoped.filter(signing_unit=unit, client_id=client_id,
                                           state=ClientState.REGISTERED).first()
        if client is None:
            raise TseError("E_CLIENT_NOT_REGISTERED", gettext("The client is not registered at this TSE."),
                           status=409)
        return client

    # --- transactions -----------------------------------------------------------------------------

    def _upsert(self, tx_id: str, revision: int, state: str, client_id: str, process_type: str,
                process_data: bytes) -> Transaction:
        raw = (process_type, bytes(process_data)) if process_type or process_data else None
        with _mapped_errors():
            result = self._client().upsert_transaction(
                self.tss_id, tx_id, tx_revision=revision, state=state,
                client_id=remote_client_id(self.signing_unit, client_id), raw=raw)
        if result.signature is None or result.log is None:
            raise TseError("E_TSE_UNAVAILABLE", gettext("fiskaly returned a transaction without signature."),
                           status=503)
        # counters for display and monitoring; fiskaly allocates them
        SigningUnit.unscoped.filter(pk=self.signing_unit.pk, signature_counter__lt=result.signature.counter).update(
            signature_counter=result.signature.counter)
        SigningUnit.unscoped.filter(pk=self.signing_unit.pk, transaction_counter__lt=result.number).update(
            transaction_counter=result.number)
        return result

    def _result(self, remote: Transaction, client_id: str, tx: TseTransaction) -> TransactionResult:
        unit = self.signing_unit
        signature = remote.signature
        log_time = utc_from_unix(remote.log.timestamp)
        point = serialization.load_der_public_key(bytes(unit.public_key)).public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        sig = SignatureResult(value=base64.b64decode(signature.value), algorithm=signature.algorithm,
                              counter=signature.counter, time=log_time, serial_number=unit.serial_number,
                              public_key=point)
        log = LogMessageResult(kind=str(LogMessageKind.TRANSACTION),
                               operation_type=OPERATIONS.get(remote.log.operation, remote.log.operation),
                               signature_counter=signature.counter, transaction_number=remote.number,
                               log_time=log_time, file_name="", der=b"")
        return TransactionResult(number=remote.number, state=str(tx.state), client_id=client_id,
                                 revision=tx.last_revision, time_start=tx.time_start, time_end=tx.time_end,
                                 signature=sig, log_message=log, transaction_id=tx.pk)

    def start_transaction(self, client_id: str, process_type: str = "", process_data: bytes = b"") -> TransactionResult:
        self._client()
        _validate_client_id(client_id)
        _validate_process(process_type, process_data)
        unit = self._reload()
        self._require_initialized(unit)
        client = self._registered_client(unit, client_id)
        tx_id = uuid.uuid4()
        remote = self._upsert(str(tx_id), 1, RemoteTransactionState.ACTIVE, client_id, process_type, process_data)
        tx = TseTransaction.unscoped.create(
            public_id=tx_id, organization_id=unit.organization_id, signing_unit=unit, client=client,
            number=remote.number, process_type=process_type, process_data=bytes(process_data),
            time_start=utc_from_unix(remote.time_start), last_revision=remote.revision,
        )
        return self._result(remote, client_id, tx)

    def update_transaction(self, client_id: str, number: int, process_type: str,
                           process_data: bytes) -> TransactionResult:
        return self._continue(client_id, number, process_type, process_data, finish=False, cancelled=False)

    def finish_transaction(self, client_id: str, number: int, process_type: str, process_data: bytes,
                           *, cancelled: bool = False) -> TransactionResult:
        return self._continue(client_id, number, process_type, process_data, finish=True, cancelled=cancelled)

    def _continue(self, client_id, number, process_type, process_data, *, finish: bool, cancelled: bool):
        self._client()
        _validate_client_id(client_id)
        _validate_process(process_type, process_data)
        unit = self._reload()
        self._require_initialized(unit)
        with transaction.atomic():
            tx = locked_active_transaction(unit, number, client_id)
            if not finish:
                state = RemoteTransactionState.ACTIVE
            else:
                state = RemoteTransactionState.CANCELLED if cancelled else RemoteTransactionState.FINISHED
            remote = self._upsert(str(tx.public_id), tx.last_revision + 1, state, client_id, process_type,
                                  process_data)
            tx.process_type, tx.process_data = process_type, bytes(process_data)
            tx.last_revision = remote.revision
            tx.state = str(remote.state)
            if finish:
                tx.time_end = utc_from_unix(remote.time_end) or utc_from_unix(remote.log.timestamp)
            tx.save(update_fields=["process_type", "process_data", "last_revision", "state", "time_end"])
        return self._result(remote, client_id, tx)

    # --- information and export -------------------------------------------------------------------

    def info(self) -> TseInfo:
        client = self._client()
        unit = self._reload()
        try:
            tss = client.retrieve_tss(self.tss_id)
        except FiskalyError as exc:
            if not (exc.status_code == 404 and unit.state == SigningUnitState.UNINITIALIZED):
                raise _tse_error(exc) from exc
            tss = Tss(id=self.tss_id, state=TssState.CREATED)  # not created at fiskaly yet
        point = (serialization.load_der_public_key(bytes(unit.public_key)).public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint) if unit.public_key else b"")
        clients = list(TseClient.unscoped.filter(signing_unit=unit, state=ClientState.REGISTERED)
                       .order_by("client_id").values_list("client_id", flat=True))
        open_numbers = list(TseTransaction.unscoped.filter(signing_unit=unit, state=TransactionState.ACTIVE)
                            .order_by("number").values_list("number", flat=True))
        certification_id = str(tss.raw.get("bsi_certification_id") or unit.bsi_certification_id or "")
        live = unit.mode == "live" and bool(certification_id)
        label = CERTIFIED_LABEL % {"id": certification_id} if live else TEST_LABEL
        # fiskaly reports no signature capacity today; take one if the API starts to
        remaining = tss.raw.get("remaining_signatures")
        remaining = int(remaining) if str(remaining).isdigit() else None
        return TseInfo(
            backend=BackendType.FISKALY, certified=live, certification_label=str(label),
            serial_number=unit.serial_number, public_key=point, certificate=unit.certificate,
            signature_algorithm=tss.signature_algorithm or unit.signature_algorithm, curve=unit.curve,
            state=unit.state, mode=unit.mode, time_format=tss.signature_timestamp_format or "unixTime",
            signature_counter=tss.signature_counter or 0, transaction_counter=tss.transaction_counter or 0,
            max_clients=min(unit.max_clients, tss.max_number_registered_clients or unit.max_clients),
            registered_clients=clients, open_transactions=open_numbers, last_time_sync_at=unit.last_time_sync_at,
            certificate_expires_at=unit.certificate_expires_at, bsi_certification_id=certification_id,
            remaining_signatures=remaining,
        )

    def export(self, fileobj, *, time_from: dt.datetime | None = None, time_to: dt.datetime | None = None,
               transaction_from: int | None = None, transaction_to: int | None = None,
               client_id: str | None = None, **_ignored) -> ExportResult:
        """Trigger an export at fiskaly, wait until it is COMPLETED and copy its TAR into ``fileobj``."""
        client = self._client()
        unit = self._reload()
        if unit.state == SigningUnitState.UNINITIALIZED:
            raise TseError("E_TSE_NOT_INITIALIZED", gettext("The TSE is not initialized."), status=409)
        if client_id and any(value is not None for value in (time_from, time_to, transaction_from, transaction_to)):
            raise TseError("E_VALIDATION", gettext(
                "fiskaly exports the logs of one POS only as a whole: leave out the time and number ranges."))
        export_id = str(uuid.uuid4())
        filters = {"client_id": remote_client_id(unit, client_id)} if client_id else {
            "start_date": int(time_from.timestamp()) if time_from else None,
            "end_date": int(time_to.timestamp()) if time_to else None,
            "start_transaction_number": transaction_from,
            "end_transaction_number": transaction_to,
        }
        timeout = float(getattr(settings, "FISKALY_EXPORT_TIMEOUT_SECONDS", 600))
        interval = float(getattr(settings, "FISKALY_EXPORT_POLL_SECONDS", 6))  # fiskaly: ≤ 12 polls a minute
        with _mapped_errors():
            export = client.trigger_export(self.tss_id, export_id, **filters)
            deadline = time.monotonic() + timeout
            while export.state != ExportState.COMPLETED:
                if export.state in (ExportState.ERROR, ExportState.CANCELLED, ExportState.EXPIRED):
                    raise TseError("E_EXPORT_FAILED", gettext("The export at fiskaly failed (%(state)s %(error)s).")
                                   % {"state": export.state, "error": export.exception or ""}, status=502)
                if time.monotonic() >= deadline:
                    raise TseError("E_EXPORT_TIMEOUT", gettext("The export at fiskaly did not finish in time."),
                                   status=504)
                time.sleep(interval)
                export = client.retrieve_export(self.tss_id, export_id)
            with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
                out = _Tee(fileobj, spool)
                client.download_export_file(self.tss_id, export_id, out)
                spool.seek(0)
                count, first, last = _log_counters(spool)
        mtime = export.time_end or int(time.time())
        return ExportResult(sha256=out.sha256.hexdigest(), size=out.size, log_count=count,
                            first_signature_counter=first, last_signature_counter=last, mtime=mtime)


class _SecretStore:
    """The ``FiskalyTss`` row of a unit during personalisation; each change is saved at once.

    fiskaly shows the admin PUK only while the TSS is CREATED, so it must survive whatever fails
    later: ``initialize_signing_unit`` runs ``initialize`` outside a database transaction, so each
    save commits on its own.
    """

    FIELDS = ("encrypted_admin_puk", "encrypted_admin_pin", "remote_state")

    def __init__(self, unit: SigningUnit):
        self.unit = unit
        row = FiskalyTss.unscoped.filter(signing_unit_id=unit.pk).first()
        self.values = {name: getattr(row, name) if row else None for name in self.FIELDS}
        self.values["remote_state"] = self.values["remote_state"] or ""

    def save(self, **fields) -> None:
        self.values.update(fields)
        FiskalyTss.unscoped.update_or_create(
            signing_unit_id=self.unit.pk, defaults={"organization_id": self.unit.organization_id, **self.values})


class _Tee:
    """Writes to the target and a spool while counting bytes and hashing them."""

    def __init__(self, target, spool):
        self.target, self.spool = target, spool
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.target.write(data)
        self.spool.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def _log_counters(spool) -> tuple[int, int | None, int | None]:
    """Number of ``.log`` members and the smallest and largest signature counter in their names."""
    counters = []
    try:
        with tarfile.open(fileobj=spool, mode="r:") as archive:
            for member in archive:
                if member.isfile() and member.name.endswith(".log"):
                    match = LOG_NAME_COUNTER_RE.search(member.name)
                    counters.append(int(match.group(1)) if match else None)
    except tarfile.TarError as exc:
        raise TseError("E_EXPORT_FAILED", gettext("fiskaly returned an unreadable TAR file."), status=502) from exc
    numbers = [c for c in counters if c is not None]
    return len(counters), (min(numbers) if numbers else None), (max(numbers) if numbers else None)


# Registered at import; ``tse.apps.TseConfig.ready`` imports this module.
register_backend(BackendType.FISKALY, FiskalyTse)
