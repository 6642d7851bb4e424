"""Intake of cash point closings (fiskaly DSFinV-K model): submit (API) and process (worker).

``submit_closing`` checks the structure of the request synchronously (``closing_request``), finds
the cash register by the TSE client's public id and stores the closing as ``PENDING``; the task
``exports.process_closing`` is sent once the transaction commits. Idempotent per ``closing_id``:
the same body (SHA-256 of its canonical JSON) answers the stored closing, another body is
``E_CASH_POINT_CLOSING_CONFLICT`` — unless the stored one was rejected (``ERROR``): then the new
request replaces it and is processed again.

``process_closing`` (the task body) runs in one database transaction with the cash register row
locked (``FOR NO KEY UPDATE``), so closings of one register are processed one at a time and two
of them can never get the same ``Z_NR`` (the partial unique constraint is the backstop). It
collects every problem — sequence (``E_Z_NR_SEQUENCE``, ``E_CLOSING_DATE``,
``E_DUPLICATE_TRANSACTION``, ``E_TRANSACTION_RANGE``), master data (``E_MASTER_DATA_INVALID``)
and the document checks of ``closing_document`` — and then either rejects the closing (``ERROR``:
only the errors are kept, the request is dropped; no revision, no transactions, no document) or
accepts it (``COMPLETED``: master-data revision, document, ``Z_ERSTELLUNG``, totals and the
``ClosingTransaction`` index). A closing that is not ``PENDING`` any more is left alone, so the
task is safe to run twice.
"""

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.models import CashPointClosing, CashRegister, ClosingState, ClosingTransaction
from exports.services.closing_document import BERLIN, ClosingContext, berlin_time, build_document
from exports.services.closing_request import clean_closing_request, join_path
from exports.services.master_data import current_master_data, master_data_problems, revision_for_closing
from portal.celery import enqueue
from portal.services.audit import log_action, register_action_labels

__all__ = ["ClosingRequestError", "process_closing", "request_hash", "submit_closing"]

register_action_labels({
    "exports.closing.accepted": _("Cash point closing (DSFinV-K) accepted"),
    "exports.closing.rejected": _("Cash point closing (DSFinV-K) rejected"),
})

_CONSTRAINT_CODES = {
    "exports_closing_unique_z_nr": ("cash_point_closing_export_id", "E_Z_NR_SEQUENCE"),
    "exports_closingtx_unique_bon_id": ("transactions", "E_DUPLICATE_TRANSACTION"),
    "tse_transaction_id": ("transactions", "E_TSE_TRANSACTION_USED"),
}


class ClosingRequestError(Exception):
    """A request the API answers with ``status`` and ``code`` (``details``: ``{"errors": [...]}``)."""

    def __init__(self, status: int, code: str, message, details=None):
        super().__init__(str(message))
        self.status, self.code, self.message, self.details = status, code, str(message), details


def request_hash(cleaned: dict) -> str:
    """SHA-256 of the canonical JSON of a cleaned request (amounts as exact decimal strings)."""
    return hashlib.sha256(json.dumps(cleaned, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def _row_fields(cleaned: dict, register: CashRegister) -> dict:
    head, payment = cleaned["head"], cleaned["cash_statement"]["payment"]
    business_date = head.get("business_date")
    return {
        "cash_register": register,
        "z_nr": cleaned["cash_point_closing_export_id"],
        "export_creation_date": datetime.fromtimestamp(head["export_creation_date"], UTC),
        "business_date": date.fromisoformat(business_date) if business_date else None,
        "full_amount": Decimal(payment["full_amount"]),
        "cash_amount": Decimal(payment["cash_amount"]),
        "first_bon_id": head["first_transaction_export_id"] or "",
        "last_bon_id": head["last_transaction_export_id"] or "",
        "transaction_count": len(cleaned["transactions"]),
        "line_count": sum(len(tx["data"]["lines"]) for tx in cleaned["transactions"]),
    }


def _queue(closing: CashPointClosing) -> None:
    from exports.tasks.closings import process_closing_task

    enqueue(process_closing_task, organization_id=closing.organization_id, closing_pk=closing.pk)


def _conflict() -> ClosingRequestError:
    return ClosingRequestError(409, "E_CASH_POINT_CLOSING_CONFLICT",
                               _("A cash point closing with this id exists with another request."))


def submit_closing(*, actor, organization, closing_id: uuid.UUID, payload: dict) -> tuple[CashPointClosing, bool]:
    """Store a closing request (``PENDING``) and queue its processing; ``(closing, created)``.

    ``created`` is False for a replay of the stored request. Raises ``ClosingRequestError``:
    400 ``E_VALIDATION`` (every structural problem in ``details.errors``; nothing stored), 404
    ``E_CASH_REGISTER_NOT_FOUND``, 409 ``E_CASH_POINT_CLOSING_CONFLICT``.
    """
    cleaned, errors = clean_closing_request(payload)
    if errors:
        raise ClosingRequestError(400, "E_VALIDATION", _("The cash point closing is invalid: %(count)d problem(s).")
                                  % {"count": len(errors)}, {"errors": errors})
    register = (CashRegister.unscoped.select_related("client")
                .filter(organization=organization, client__public_id=cleaned["client_id"]).first())
    if register is None:
        raise ClosingRequestError(404, "E_CASH_REGISTER_NOT_FOUND",
                                  _("There is no cash register for this client_id."))
    digest = request_hash(cleaned)
    fields = _row_fields(cleaned, register)
    with transaction.atomic():
        existing = CashPointClosing.unscoped.select_for_update(of=("self",)).filter(closing_id=closing_id).first()
        if existing is None:
            try:
                with transaction.atomic():
                    closing = CashPointClosing.unscoped.create(
                        closing_id=closing_id, organization=organization, request_hash=digest, payload=cleaned,
                        **fields)
            except IntegrityError:  # the same id stored concurrently: treat as a replay
                existing = CashPointClosing.unscoped.select_for_update(of=("self",)).get(closing_id=closing_id)
            else:
                _queue(closing)
                return closing, True
        if existing.organization_id != organization.pk:
            raise _conflict()
        if existing.request_hash == digest:
            if existing.state == ClosingState.PENDING:
                _queue(existing)
            return existing, False
        if existing.state != ClosingState.ERROR:
            raise _conflict()
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.request_hash, existing.payload, existing.state = digest, cleaned, ClosingState.PENDING
        existing.errors, existing.processed_at = [], None
        existing.save()
        _queue(existing)
        return existing, True


# --- processing ----------------------------------------------------------------------------------


def _error(path: str, code: str, message) -> dict:
    return {"path": path, "code": code, "message": str(message)}


def _sequence_errors(closing: CashPointClosing, register: CashRegister, payload: dict) -> list[dict]:
    errors = []
    previous = (CashPointClosing.unscoped.filter(cash_register=register, state=ClosingState.COMPLETED)
                .order_by("-z_nr").only("z_nr", "export_creation_date").first())
    if previous is not None and closing.z_nr != previous.z_nr + 1:
        errors.append(_error("cash_point_closing_export_id", "E_Z_NR_SEQUENCE",
                             gettext("The closing number must be %(next)d (the last accepted closing is %(last)d).")
                             % {"next": previous.z_nr + 1, "last": previous.z_nr}))
    if previous is not None and closing.export_creation_date < previous.export_creation_date:
        errors.append(_error("head.export_creation_date", "E_CLOSING_DATE",
                             gettext("The closing was made before the previous closing (%(previous)s).")
                             % {"previous": previous.export_creation_date.astimezone(BERLIN).isoformat()}))
    transactions = payload["transactions"]
    bon_ids = [tx["head"]["transaction_export_id"] for tx in transactions]
    used = set(ClosingTransaction.unscoped.filter(cash_register=register, bon_id__in=set(bon_ids))
               .values_list("bon_id", flat=True))
    seen = set()
    for index, bon_id in enumerate(bon_ids):
        path = join_path(join_path(join_path("transactions", index), "head"), "transaction_export_id")
        if bon_id in seen:
            errors.append(_error(path, "E_DUPLICATE_TRANSACTION",
                                 gettext("The transaction %(bon_id)s appears twice in this closing.")
                                 % {"bon_id": bon_id}))
        elif bon_id in used:
            errors.append(_error(path, "E_DUPLICATE_TRANSACTION",
                                 gettext("The transaction %(bon_id)s is part of an earlier closing of this cash "
                                         "register.") % {"bon_id": bon_id}))
        seen.add(bon_id)
    head = payload["head"]
    for name, expected in (("first_transaction_export_id", bon_ids[0] if bon_ids else None),
                           ("last_transaction_export_id", bon_ids[-1] if bon_ids else None)):
        if head[name] != expected:
            errors.append(_error(join_path("head", name), "E_TRANSACTION_RANGE",
                                 gettext("%(field)s must be %(expected)s, the id of the %(which)s transaction.")
                                 % {"field": name, "expected": expected if expected is not None else "null",
                                    "which": gettext("first") if name.startswith("first") else gettext("last")}))
    return errors


def _context(register: CashRegister, master: dict) -> ClosingContext:
    return ClosingContext(
        cash_register=register, base_currency=register.base_currency,
        vat_rates={row["UST_SCHLUESSEL"]: Decimal(row["UST_SATZ"]) for row in master["vat"]},
        vat_slots={row["UST_SCHLUESSEL"]: row["slot"] for row in master["vat"]},
    )


def _reject(closing: CashPointClosing, errors: list[dict]) -> CashPointClosing:
    closing.state, closing.errors, closing.payload = ClosingState.ERROR, errors, None
    closing.processed_at = timezone.now()
    closing.save(update_fields=["state", "errors", "payload", "processed_at"])
    log_action("exports.closing.rejected", None, closing.organization, closing,
               data={"z_nr": closing.z_nr, "cash_register": closing.cash_register.kasse_id,
                     "codes": sorted({error["code"] for error in errors})})
    return closing


def _accept(closing: CashPointClosing, register: CashRegister, built, day) -> CashPointClosing:
    payload = closing.payload
    closing.revision = revision_for_closing(register, day)
    closing.document = built.document
    closing.z_erstellung = berlin_time(payload["head"]["export_creation_date"])
    closing.state, closing.errors, closing.processed_at = ClosingState.COMPLETED, [], timezone.now()
    closing.line_count = built.line_count
    closing.save()
    ClosingTransaction.unscoped.bulk_create([
        ClosingTransaction(organization_id=closing.organization_id, closing=closing, cash_register=register,
                           bon_id=bon_id, tse_transaction_id=tse_pk)
        for bon_id, tse_pk in built.transactions
    ])
    log_action("exports.closing.accepted", None, closing.organization, closing,
               data={"z_nr": closing.z_nr, "cash_register": register.kasse_id,
                     "revision": closing.revision.number, "transactions": len(built.transactions)})
    return closing


def _integrity_error(exc: IntegrityError) -> dict:
    text = str(exc)
    for marker, (path, code) in _CONSTRAINT_CODES.items():
        if marker in text:
            return _error(path, code, gettext("Another closing of this cash register was accepted at the same "
                                              "time with the same data; submit the closing again."))
    raise exc


def process_closing(closing_pk: int) -> CashPointClosing:
    """PENDING → COMPLETED or ERROR (the body of the task ``exports.process_closing``)."""
    with transaction.atomic():
        closing = (CashPointClosing.unscoped.select_for_update(of=("self",)).select_related("organization")
                   .get(pk=closing_pk))
        if closing.state != ClosingState.PENDING:
            return closing
        register = (CashRegister.unscoped.select_for_update(of=("self",), no_key=True)
                    .select_related("client__signing_unit", "organization", "outlet",
                                    "pos_system_version__pos_system")
                    .get(pk=closing.cash_register_id))
        closing.cash_register = register
        payload = closing.payload
        day = datetime.fromtimestamp(payload["head"]["export_creation_date"], UTC).astimezone(BERLIN).date()
        master = current_master_data(register, day)
        errors = [_error(problem["path"], "E_MASTER_DATA_INVALID", problem["message"])
                  for problem in master_data_problems(master)]
        errors += _sequence_errors(closing, register, payload)
        built = build_document(payload, _context(register, master))
        errors += built.errors
        if errors:
            return _reject(closing, errors)
        try:
            with transaction.atomic():
                return _accept(closing, register, built, day)
        except IntegrityError as exc:
            closing.payload = payload
            return _reject(closing, [_integrity_error(exc)])
