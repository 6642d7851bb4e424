"""The POS signing API (fiskaly SIGN DE v2 style): TSS set-up, admin PIN/PUK, clients, transactions.

TSS and clients use client-generated UUIDs: the ``SigningUnit`` / ``TseClient`` ``public_id`` *is*
the ``tss_id`` / ``client_id`` of the API. The PUK is returned once at creation; only password
hashes of PUK and PIN are stored (``TssAdmin``). Five wrong PINs block the PIN; setting a new PIN
with the PUK unblocks it. The admin login belongs to the API key that made it.

Transactions (``PUT …/tx/{tx_id}?tx_revision=n``): :func:`submit_revision` validates the request
and stores it (``ApiTransactionRevision``, one row per revision with the hash of its body);
:func:`dispatch_revision` sends the Celery task ``tse.sign_revision`` (queue ``signing``) and waits
for it up to ``TSE_SIGNING_TIMEOUT_SECONDS``; :func:`sign_revision` (the task body) signs every
not yet signed revision of the transaction up to the requested one, in order, under a row lock on
the transaction. A revision's answer is stored in the database transaction that stores its log
message, so a redelivered or repeated task never signs twice. When the TSE fails or the wait times
out, the answer is *unsigned* (``signature: null`` with ``error``), never a server error; the
request stays stored and a late result is kept.
"""

import base64
import hashlib
import json
import logging
import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tenants.services.configuration.versions import configuration_change
from tse.backends.base import TseError
from tse.backends.software import ensure_software_tse_allowed, generate_key_material
from tse.models import (
    ApiTransaction,
    ApiTransactionRevision,
    BackendType,
    ClientState,
    Curve,
    Health,
    OutageReason,
    RevisionStatus,
    SigningUnit,
    SigningUnitMode,
    SigningUnitState,
    TransactionState,
    TseClient,
    TseTransaction,
    TssAdmin,
)
from tse.receipts.process_data import ReceiptDataError, build_process_data
from tse.receipts.qr_code import QrCodeData, QrCodeError, build_qr_code
from tse.services.outages import record_failure, record_success
from tse.services.routing import signing_queue
from tse.services.signing_units import (
    disable_signing_unit,
    get_backend,
    initialize_signing_unit,
    update_signing_unit_time,
)

__all__ = [
    "MAX_PIN_FAILURES",
    "SigningApiError",
    "admin_login",
    "admin_logout",
    "body_hash",
    "change_admin_pin",
    "change_tss_state",
    "create_tss",
    "dispatch_revision",
    "open_transaction_limit",
    "register_client",
    "revision_response",
    "sign_revision",
    "signing_timeout",
    "submit_revision",
    "tss_state",
]

logger = logging.getLogger("tse.signing")

register_action_labels({
    "tse.tss.created": _("TSS created through the signing API"),
    "tse.tss.state_changed": _("TSS state changed through the signing API"),
    "tse.tss.admin_pin_changed": _("TSS admin PIN changed"),
    "tse.tss.client_registered": _("POS client registered at a TSS"),
})

MAX_PIN_FAILURES = 5
PUK_LENGTH = 10
TIME_FORMAT = "unixTime"
LOG_OPERATIONS = {"start": "Start", "update": "Update", "finish": "Finish"}
# Backend errors that mean the TSE cannot be put into service (status red, not yellow).
INITIALIZATION_FAILURES = frozenset({"E_BACKEND_UNAVAILABLE", "E_BACKEND_NOT_CONFIGURED",
                                     "E_TSE_INITIALIZATION_FAILED", "E_TIME_NOT_SET"})


class SigningApiError(Exception):
    """A refused API call: HTTP status, stable ``E_…`` code, message and optional details."""

    def __init__(self, status: int, code: str, message, details=None):
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = str(message)
        self.details = details


def _from_tse_error(exc: TseError, codes: dict | None = None) -> SigningApiError:
    code = (codes or {}).get(exc.code, exc.code)
    return SigningApiError(exc.status, code, exc.message)


def body_hash(data) -> str:
    """SHA-256 of the canonical JSON of a request body (key order and spacing do not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def signing_timeout() -> float:
    return float(settings.TSE_SIGNING_TIMEOUT_SECONDS)


def open_transaction_limit() -> int:
    return int(settings.TSE_MAX_OPEN_TRANSACTIONS)


# --- TSS ------------------------------------------------------------------------------------------


def tss_state(unit: SigningUnit) -> str:
    """The fiskaly-style state: CREATED until the first change to UNINITIALIZED, then the unit's state."""
    admin = getattr(unit, "api_admin", None)
    if unit.state == SigningUnitState.UNINITIALIZED and admin is not None and admin.time_uninit is None:
        return "CREATED"
    return unit.state.upper()


def create_tss(*, actor, organization, tss_id, data: dict) -> tuple[SigningUnit, str | None]:
    """Create the software TSE ``tss_id`` for ``organization``; returns (unit, PUK or None on replay).

    A replay with the same body returns the unit again (without the PUK, which is not stored);
    the same id with another body, or an id taken elsewhere, is refused.
    """
    digest = body_hash(data)
    existing = SigningUnit.unscoped.filter(public_id=tss_id).select_related("api_admin").first()
    if existing is not None:
        return _tss_replay(existing, organization, digest), None
    if not organization.has_role("operator", active_only=True):
        raise SigningApiError(403, "E_ROLE_INACTIVE", _("Only operators with an active contract can create a TSS."))
    curve = data.get("curve") or Curve.P256
    try:
        ensure_software_tse_allowed()
        material = generate_key_material(curve)
    except TseError as exc:
        raise _from_tse_error(exc) from exc
    puk = "".join(secrets.choice("0123456789") for _ in range(PUK_LENGTH))
    unit = SigningUnit(public_id=tss_id, organization=organization, backend=BackendType.SOFTWARE,
                       mode=SigningUnitMode.TEST, description=data.get("description", ""), **material)
    try:
        with configuration_change(actor, organization):
            unit.save()
            TssAdmin.unscoped.create(signing_unit=unit, organization=organization, request_hash=digest,
                                     puk_hash=make_password(puk), metadata=data.get("metadata") or {})
            log_action("tse.signing_unit.created", actor, organization, unit,
                       data={"backend": unit.backend, "curve": unit.curve, "serial_number": unit.serial_number,
                             "mode": unit.mode, "outlet": None})
            log_action("tse.tss.created", actor, organization, unit,
                       data={"tss_id": str(tss_id), "description": unit.description})
    except IntegrityError:  # created concurrently by an identical (or conflicting) request
        existing = SigningUnit.unscoped.filter(public_id=tss_id).select_related("api_admin").first()
        if existing is None:
            raise
        return _tss_replay(existing, organization, digest), None
    return SigningUnit.unscoped.select_related("api_admin").get(pk=unit.pk), puk


def _tss_replay(unit: SigningUnit, organization, digest: str) -> SigningUnit:
    if unit.organization_id != organization.pk:
        raise SigningApiError(404, "E_NOT_FOUND", _("Not found."))
    admin = getattr(unit, "api_admin", None)
    if admin is None or admin.request_hash != digest:
        raise SigningApiError(409, "E_TSS_CONFLICT", _("A TSS with this id exists with different data."))
    return unit


def _admin(unit: SigningUnit, *, lock: bool = False) -> TssAdmin:
    queryset = TssAdmin.unscoped.select_for_update() if lock else TssAdmin.unscoped
    admin = queryset.filter(signing_unit=unit).first()
    if admin is None:
        raise SigningApiError(409, "E_TSS_NOT_ADMINISTRABLE",
                              _("This TSS was not created through the signing API and has no admin PIN."))
    return admin


def change_admin_pin(*, actor, unit: SigningUnit, admin_puk: str, new_admin_pin: str) -> None:
    """Set a new admin PIN with the PUK; this also unblocks a blocked PIN."""
    if unit.state == SigningUnitState.DISABLED:
        raise SigningApiError(409, "E_TSE_DISABLED", _("The TSE is disabled."))
    with transaction.atomic():
        admin = _admin(unit, lock=True)
        if not check_password(admin_puk, admin.puk_hash):
            raise SigningApiError(400, "E_CHANGE_ADMIN_PIN_FAILED", _("The admin PUK is wrong."))
        admin.pin_hash = make_password(new_admin_pin)
        admin.pin_failures = 0
        admin.pin_blocked = False
        admin.admin_api_key = None
        admin.save(update_fields=["pin_hash", "pin_failures", "pin_blocked", "admin_api_key"])
        log_action("tse.tss.admin_pin_changed", actor, unit.organization, unit)


def admin_login(*, actor, unit: SigningUnit, admin_pin: str) -> None:
    """Log the calling API key in as admin; the fifth wrong PIN in a row blocks the PIN (423)."""
    blocked = SigningApiError(423, "E_ADMIN_PIN_BLOCKED",
                              _("The admin PIN is blocked; set a new PIN with the admin PUK."))
    with transaction.atomic():
        admin = _admin(unit, lock=True)
        if admin.pin_blocked or not admin.pin_hash:
            raise blocked
        if check_password(admin_pin, admin.pin_hash):
            admin.pin_failures = 0
            admin.admin_api_key = actor.api_key
            admin.save(update_fields=["pin_failures", "admin_api_key"])
            return
        admin.pin_failures += 1
        admin.pin_blocked = admin.pin_failures >= MAX_PIN_FAILURES
        admin.admin_api_key = None
        admin.save(update_fields=["pin_failures", "pin_blocked", "admin_api_key"])
    if admin.pin_blocked:
        raise blocked
    raise SigningApiError(401, "E_ADMIN_LOGIN_FAILED", _("The admin PIN is wrong (%(left)d attempts left).")
                          % {"left": MAX_PIN_FAILURES - admin.pin_failures})


def admin_logout(*, actor, unit: SigningUnit) -> None:
    """End the admin login of the calling API key (a no-op when it is not logged in)."""
    admin = TssAdmin.unscoped.filter(signing_unit=unit).first()
    if admin is not None and actor.api_key is not None and admin.admin_api_key_id == actor.api_key.pk:
        TssAdmin.unscoped.filter(pk=admin.pk).update(admin_api_key=None)


def _require_admin(actor, unit: SigningUnit) -> None:
    admin = _admin(unit)
    if admin.pin_blocked:
        raise SigningApiError(423, "E_ADMIN_PIN_BLOCKED",
                              _("The admin PIN is blocked; set a new PIN with the admin PUK."))
    if actor.api_key is None or admin.admin_api_key_id != actor.api_key.pk:
        raise SigningApiError(401, "E_ADMIN_NOT_AUTHENTICATED", _("Log in as admin of this TSS first."))


def change_tss_state(*, actor, unit: SigningUnit, state: str) -> SigningUnit:
    """CREATED → UNINITIALIZED → INITIALIZED → DISABLED; INITIALIZED and DISABLED need the admin login."""
    current = tss_state(unit)
    if state == current:
        return unit
    illegal = SigningApiError(400, "E_ILLEGAL_TSS_STATE_CHANGE",
                              _("The TSS cannot change from %(from)s to %(to)s.") % {"from": current, "to": state})
    try:
        if state == "UNINITIALIZED":
            if current != "CREATED":
                raise illegal
            with transaction.atomic():
                TssAdmin.unscoped.filter(signing_unit=unit).update(time_uninit=timezone.now())
                log_action("tse.tss.state_changed", actor, unit.organization, unit,
                           data={"from": current, "to": state})
        elif state == "INITIALIZED":
            if current != "UNINITIALIZED":
                raise illegal
            _require_admin(actor, unit)
            # not inside an atomic block: a failed initialization is recorded as an outage (red)
            initialize_signing_unit(actor=actor, signing_unit=unit)
            log_action("tse.tss.state_changed", actor, unit.organization, unit, data={"from": current, "to": state})
        elif state == "DISABLED":
            if current not in ("UNINITIALIZED", "INITIALIZED"):
                raise illegal
            _require_admin(actor, unit)
            with transaction.atomic():
                disable_signing_unit(actor=actor, signing_unit=unit)
                log_action("tse.tss.state_changed", actor, unit.organization, unit,
                           data={"from": current, "to": state})
        else:
            raise illegal
    except TseError as exc:
        raise _from_tse_error(exc, {"E_TSE_NOT_INITIALIZED": "E_ILLEGAL_TSS_STATE_CHANGE"}) from exc
    return SigningUnit.unscoped.select_related("api_admin").get(pk=unit.pk)


# --- clients ------------------------------------------------------------------------------------


def register_client(*, actor, unit: SigningUnit, client_id, serial_number: str) -> tuple[TseClient, bool]:
    """Register the POS ``client_id`` (UUID) with its ``serial_number``; (client, created)."""
    existing = TseClient.unscoped.filter(public_id=client_id).first()
    if existing is not None:
        if existing.signing_unit_id != unit.pk or existing.client_id != serial_number:
            raise SigningApiError(409, "E_CLIENT_CONFLICT", _("A client with this id exists with different data."))
        return existing, False
    codes = {"E_CLIENT_LIMIT_REACHED": "E_CLIENT_LIMIT", "E_INVALID_CLIENT_ID": "E_ILLEGAL_CLIENT_SERIAL",
             "E_CLIENT_ALREADY_REGISTERED": "E_CLIENT_CONFLICT", "E_TSE_NOT_INITIALIZED": "E_TSS_NOT_INITIALIZED",
             "E_TSE_DISABLED": "E_TSS_DISABLED"}
    try:
        with configuration_change(actor, unit.organization):
            get_backend(unit).register_client(serial_number)
            client = TseClient.unscoped.get(signing_unit=unit, client_id=serial_number)
            TseClient.unscoped.filter(pk=client.pk).update(public_id=client_id)
            log_action("tse.tss.client_registered", actor, unit.organization, unit,
                       data={"client_id": str(client_id), "serial_number": serial_number})
    except TseError as exc:
        raise _from_tse_error(exc, codes) from exc
    except IntegrityError:
        raise SigningApiError(409, "E_CLIENT_CONFLICT",
                              _("A client with this id exists with different data.")) from None
    return TseClient.unscoped.get(pk=client.pk), True


# --- transactions ---------------------------------------------------------------------------------


def _revision_conflict(message=None) -> SigningApiError:
    return SigningApiError(409, "E_TX_REVISION_CONFLICT",
                           message or _("This revision conflicts with the stored revisions of the transaction."))


def submit_revision(*, unit: SigningUnit, tx_id, revision: int, data: dict) -> tuple[ApiTransactionRevision, bool]:
    """Validate and store revision ``revision`` of ``tx_id``; (row, created). A replay returns the stored row."""
    digest = body_hash(data)
    state = data["state"]
    schema = data.get("schema")
    process_type = process_data = ""
    if schema is not None:
        try:
            process = build_process_data(schema)
        except ReceiptDataError as exc:
            raise SigningApiError(400, "E_FAILED_SCHEMA_VALIDATION", _("The schema is invalid."),
                                  details=[error.as_dict() for error in exc.errors]) from exc
        process_type, process_data = process.process_type, process.process_data
    if unit.state != SigningUnitState.INITIALIZED:
        raise SigningApiError(409, "E_TSS_NOT_INITIALIZED", _("The TSS is not initialized."))
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _store_revision(unit, tx_id, revision, data, digest, state, process_type, process_data)
        except IntegrityError:  # the first revision was stored concurrently; look again
            continue
    raise _revision_conflict()


def _store_revision(unit, tx_id, revision, data, digest, state, process_type, process_data):
    tx = (ApiTransaction.unscoped.select_for_update(of=("self",), no_key=True).select_related("client")
          .filter(signing_unit=unit, tx_id=tx_id).order_by("pk").first())
    if tx is not None:
        existing = ApiTransactionRevision.unscoped.filter(api_transaction=tx, revision=revision).first()
        if existing is not None:
            if existing.body_hash != digest:
                raise _revision_conflict(_("This revision was stored with a different body."))
            return existing, False
        if revision != tx.latest_revision + 1:
            raise _revision_conflict(_("The next revision of this transaction is %(next)d.")
                                     % {"next": tx.latest_revision + 1})
        if tx.state != TransactionState.ACTIVE:
            raise SigningApiError(409, "E_TX_ALREADY_FINISHED", _("The transaction is finished and cannot change."))
        if str(tx.client.public_id) != str(data["client_id"]):
            raise SigningApiError(409, "E_CLIENT_MISMATCH", _("The transaction belongs to another client."))
    else:
        if revision != 1:
            raise _revision_conflict(_("A new transaction starts with revision 1."))
        if state != TransactionState.ACTIVE:
            raise SigningApiError(400, "E_TX_ILLEGAL_STATE", _("A transaction starts in state ACTIVE."))
        client = TseClient.unscoped.filter(signing_unit=unit, public_id=data["client_id"],
                                           state=ClientState.REGISTERED).first()
        if client is None:
            raise SigningApiError(400, "E_CLIENT_NOT_FOUND", _("The client is not registered at this TSS."))
        open_count = ApiTransaction.unscoped.filter(signing_unit=unit, state=TransactionState.ACTIVE).count()
        if open_count >= open_transaction_limit():
            raise SigningApiError(409, "E_TOO_MANY_OPEN_TRANSACTIONS",
                                  _("The TSS has too many open transactions; finish or cancel some first."))
        tx = ApiTransaction.unscoped.create(organization_id=unit.organization_id, signing_unit=unit, tx_id=tx_id,
                                            client=client, state=state, latest_revision=0)
    row = ApiTransactionRevision.unscoped.create(
        organization_id=unit.organization_id, api_transaction=tx, revision=revision, state=state, body_hash=digest,
        schema=data.get("schema"), metadata=data.get("metadata") or {}, process_type=process_type,
        process_data=process_data,
    )
    tx.latest_revision = revision
    tx.state = state
    tx.save(update_fields=["latest_revision", "state"])
    return row, True


def dispatch_revision(row: ApiTransactionRevision, unit: SigningUnit | None = None) -> ApiTransactionRevision:
    """Send the signing task and wait for it up to the timeout; the row as stored afterwards.

    When the worker does not answer in time (or the broker is unreachable) the POS gets the
    unsigned answer and the failure counts for the unit's outage; a late signature is kept.
    """
    from celery.exceptions import TimeoutError as CeleryTimeout

    from tse.tasks import sign_revision_task

    if row.status != RevisionStatus.SIGNED:
        if unit is None:
            unit = SigningUnit.unscoped.only("backend", "public_id").get(api_transactions__pk=row.api_transaction_id)
        failure = None
        try:
            result = sign_revision_task.apply_async(
                kwargs={"organization_id": row.organization_id, "revision_id": row.pk}, queue=signing_queue(unit))
            result.get(timeout=signing_timeout(), propagate=False, disable_sync_subtasks=False)
        except CeleryTimeout:
            logger.warning("signing of revision %s timed out", row.pk)
            failure = ("E_TSE_TIMEOUT", _("The TSE did not answer in time; the transaction is unsigned."))
        except Exception as exc:  # broker or backend unreachable: the till gets an unsigned answer, never a 5xx
            logger.exception("signing of revision %s failed", row.pk)
            failure = ("E_TSE_UNAVAILABLE", _("The TSE is not available: %(error)s")
                       % {"error": exc.__class__.__name__})
        if failure is not None and ApiTransactionRevision.unscoped.filter(
                pk=row.pk, status=RevisionStatus.PENDING).exists():
            record_failure(unit.pk, code=failure[0], message=failure[1], reason=OutageReason.TIMEOUT,
                           revision_ids=[row.pk])
    return ApiTransactionRevision.unscoped.select_related("api_transaction__client").get(pk=row.pk)


def sign_revision(revision_id: int) -> str:
    """Sign every unsigned revision of the transaction up to ``revision_id``'s; returns its status.

    Holds a row lock on the transaction, so concurrent or redelivered tasks wait and then find the
    revision signed; the stored answer commits together with the log message. A TSE failure
    (status ≥ 500 or an unexpected error) is recorded as an outage (``tse.services.outages``); the
    first success afterwards ends it. A unit whose initialization failed (red) is initialized
    again first.
    """
    with transaction.atomic():
        tx = (ApiTransaction.unscoped.select_for_update(of=("self",), no_key=True)
              .select_related("client", "signing_unit", "transaction").get(revisions__pk=revision_id))
        pending = list(ApiTransactionRevision.unscoped.filter(api_transaction=tx)
                       .exclude(status=RevisionStatus.SIGNED).order_by("revision"))
        target = next((row for row in pending if row.pk == revision_id), None)
        if target is None:  # signed before (a repeated or redelivered task)
            return RevisionStatus.SIGNED
        rows = [row for row in pending if row.revision <= target.revision]
        if tx.signing_unit.health == Health.RED:
            failure = _retry_initialization(tx)
            if failure is not None:
                _fail(rows, rows[0], target, *failure)
                record_failure(tx.signing_unit_id, code=failure[0], message=failure[1],
                               reason=OutageReason.INITIALIZATION_FAILED, revision_ids=[r.pk for r in rows])
                return RevisionStatus.FAILED
        unit, status = None, RevisionStatus.SIGNED
        for row in rows:
            try:
                with transaction.atomic():
                    unit = _sign_one(tx, row)
            except TseError as exc:
                _fail(rows, row, target, exc.code, exc.message)
                if exc.status >= 500:
                    record_failure(tx.signing_unit_id, code=exc.code, message=exc.message,
                                   reason=_outage_reason(exc.code),
                                   revision_ids=[r.pk for r in rows if r.revision >= row.revision])
                status = RevisionStatus.FAILED
                break
            except Exception as exc:  # a broken backend must not lose the request
                logger.exception("TSE backend failed for revision %s", row.pk)
                message = _("The TSE is not available: %(error)s") % {"error": exc.__class__.__name__}
                _fail(rows, row, target, "E_TSE_UNAVAILABLE", message)
                record_failure(tx.signing_unit_id, code="E_TSE_UNAVAILABLE", message=message,
                               revision_ids=[r.pk for r in rows if r.revision >= row.revision])
                status = RevisionStatus.FAILED
                break
        if unit is not None and (unit.health != Health.GREEN or unit.consecutive_failures):
            record_success(unit.pk)
        return status


def _retry_initialization(tx: ApiTransaction):
    """Bring a red unit back to a signing state (connect, self-test and set the time: ``updateTime``).

    ``None`` on success, else (code, message) of the failure.
    """
    try:
        with transaction.atomic():
            tx.signing_unit = update_signing_unit_time(signing_unit=tx.signing_unit)
    except TseError as exc:
        return exc.code, exc.message
    except Exception as exc:
        logger.exception("re-initialization of TSE %s failed", tx.signing_unit_id)
        return "E_TSE_INITIALIZATION_FAILED", _("The TSE could not be initialized: %(error)s") % {
            "error": exc.__class__.__name__}
    return None


def _outage_reason(code: str) -> str:
    """Failures that mean the TSE cannot be brought into service make it red, the others yellow."""
    return OutageReason.INITIALIZATION_FAILED if code in INITIALIZATION_FAILURES else OutageReason.SIGNING_FAILED


def _fail(rows, row, target, code: str, message) -> None:
    ids = [r.pk for r in rows if r.revision >= row.revision]
    ApiTransactionRevision.unscoped.filter(pk__in=ids).exclude(status=RevisionStatus.SIGNED).update(
        status=RevisionStatus.FAILED, error_code=code, error_message=str(message))
    ApiTransactionRevision.unscoped.filter(pk=row.pk).update(attempts=row.attempts + 1)


def _sign_one(tx: ApiTransaction, row: ApiTransactionRevision) -> SigningUnit:
    """Sign one revision and store its answer; returns the unit as the backend left it (locked)."""
    backend = get_backend(tx.signing_unit)
    serial = tx.client.client_id
    process_data = row.process_data.encode("utf-8")
    if row.revision == 1:
        result = backend.start_transaction(serial, row.process_type, process_data)
        operation = "start"
        tx.transaction_id = result.transaction_id or TseTransaction.unscoped.get(
            signing_unit_id=tx.signing_unit_id, number=result.number).pk
        tx.save(update_fields=["transaction"])
    else:
        if tx.transaction_id is None:
            raise TseError("E_TX_NOT_STARTED", _("The start of this transaction was not signed."), status=409)
        number = tx.transaction.number
        if row.state == TransactionState.ACTIVE:
            result = backend.update_transaction(serial, number, row.process_type, process_data)
            operation = "update"
        else:
            result = backend.finish_transaction(serial, number, row.process_type, process_data,
                                                cancelled=row.state == TransactionState.CANCELLED)
            operation = "finish"
    signature = result.signature
    response = _base_response(tx, row, number=result.number)
    response.update({
        "state": row.state,
        "time_start": int(result.time_start.timestamp()),
        "time_end": int(result.time_end.timestamp()) if result.time_end else None,
        "signature": {
            "value": base64.b64encode(signature.value).decode("ascii"),
            "algorithm": signature.algorithm,
            "counter": signature.counter,
            "public_key": base64.b64encode(signature.public_key).decode("ascii"),
        },
        "log": {"operation": LOG_OPERATIONS[operation], "timestamp_format": TIME_FORMAT,
                "timestamp": int(result.log_message.log_time.timestamp())},
        "error": None,
    })
    if row.state == TransactionState.FINISHED:
        try:
            response["qr_code_data"] = build_qr_code(QrCodeData(
                client_id=serial, process_type=row.process_type, process_data=row.process_data,
                transaction_number=result.number, signature_counter=signature.counter,
                start_time=result.time_start, log_time=result.log_message.log_time, sig_alg=signature.algorithm,
                log_time_format=TIME_FORMAT, signature=signature.value, public_key=signature.public_key,
            ))
        except QrCodeError:  # the signature stands; only the QR code cannot be printed
            logger.warning("no QR code for revision %s", row.pk, exc_info=True)
    row.status = RevisionStatus.SIGNED
    row.response = response
    row.error_code = row.error_message = ""
    row.attempts += 1
    row.completed_at = timezone.now()
    row.save(update_fields=["status", "response", "error_code", "error_message", "attempts", "completed_at"])
    return backend.signing_unit


def _base_response(tx: ApiTransaction, row: ApiTransactionRevision, *, number) -> dict:
    unit = tx.signing_unit
    return {
        "_id": str(tx.tx_id),
        "_type": "TRANSACTION",
        "number": number,
        "state": row.state,
        "revision": row.revision,
        "latest_revision": row.revision,
        "tss_id": str(unit.public_id),
        "tss_serial_number": unit.serial_number,
        "client_id": str(tx.client.public_id),
        "client_serial_number": tx.client.client_id,
        "schema": row.schema,
        "metadata": row.metadata,
        "time_start": None,
        "time_end": None,
        "signature": None,
        "log": None,
        "qr_code_data": None,
        "error": None,
    }


def revision_response(row: ApiTransactionRevision) -> dict:
    """The answer for a stored revision: the stored signed answer, or the unsigned one (system time)."""
    if row.status == RevisionStatus.SIGNED:
        return row.response
    tx = ApiTransaction.unscoped.select_related("client", "signing_unit", "transaction").get(
        pk=row.api_transaction_id)
    number = tx.transaction.number if tx.transaction_id else None
    response = _base_response(tx, row, number=number)
    system_time = int(row.created_at.timestamp())
    if tx.transaction_id:
        response["time_start"] = int(tx.transaction.time_start.timestamp())
    else:
        response["time_start"] = system_time
    if row.state != TransactionState.ACTIVE:
        response["time_end"] = system_time
    if row.status == RevisionStatus.FAILED:
        response["error"] = {"code": row.error_code, "message": row.error_message}
    else:
        response["error"] = {"code": "E_TSE_TIMEOUT",
                             "message": str(_("The TSE did not answer in time; the transaction is unsigned."))}
    return response
