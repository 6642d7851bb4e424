"""Demo data of the DSFinV-K app for ``manage.py seed_demo`` (sandbox only).

For each POS of the café's demo TSE: a cash register (DemoKasse 4.2.0 at the café's outlet), a day of
receipts signed through the signing API (the path a POS takes), and the day's cash point closing
handed in through the intake; then one DSFinV-K export of everything. Later runs leave existing
data alone.
"""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from exports.dsfinvk.vat_keys import BY_KEY
from exports.models import CashPointClosing, CashRegister, ClosingState, DsfinvkExport
from exports.services.cash_registers import create_cash_register
from exports.services.closings import process_closing, submit_closing
from exports.services.export_jobs import request_export
from tenants.models import Outlet, PosSystemVersion
from tse.models import RevisionStatus, SigningUnit, TseClient
from tse.services.signing import dispatch_revision, submit_revision

__all__ = ["ensure_demo_dsfinvk"]

NAMESPACE = uuid.UUID("5b0f3c1e-55d4-4c55-9b7e-0e1d2f5f6a10")
COFFEE, CAKE = Decimal("3.40"), Decimal("4.20")
RECEIPTS_PER_REGISTER = 5
FIVE, CENT = Decimal("0.00001"), Decimal("0.01")


def _split(gross: Decimal, key: int, day) -> dict:
    rate = BY_KEY[key].rate_on(day)
    net = (gross * 100 / (100 + rate)).quantize(FIVE, rounding=ROUND_HALF_UP)
    return {"vat_definition_export_id": key, "incl_vat": str(gross), "excl_vat": str(net), "vat": str(gross - net)}


def _sign(unit: SigningUnit, client: TseClient, tx_id: uuid.UUID, cash: bool, total: Decimal):
    """Start and finish one receipt through the signing API service; the finished revision row."""
    schema = {"standard_v1": {"receipt": {
        "receipt_type": "RECEIPT",
        "amounts_per_vat_rate": [{"vat_rate": "NORMAL", "amount": str(COFFEE)},
                                 {"vat_rate": "REDUCED_1", "amount": str(CAKE)}],
        "amounts_per_payment_type": [{"payment_type": "CASH" if cash else "NON_CASH", "amount": str(total),
                                      "currency_code": "EUR"}],
    }}}
    for revision, data in ((1, {"state": "ACTIVE", "client_id": str(client.public_id)}),
                           (2, {"state": "FINISHED", "client_id": str(client.public_id), "schema": schema})):
        row, _created = submit_revision(unit=unit, tx_id=tx_id, revision=revision, data=data)
        row = dispatch_revision(row, unit)
    return row


def _closing_request(register: CashRegister, unit: SigningUnit, day) -> dict:
    total = COFFEE + CAKE
    transactions, cash_total, card_total = [], Decimal("0.00"), Decimal("0.00")
    for number in range(1, RECEIPTS_PER_REGISTER + 1):
        cash = number % 2 == 1
        tx_id = uuid.uuid5(NAMESPACE, f"{register.client.public_id}/{number}")
        row = _sign(unit, register.client, tx_id, cash, total)
        if row.status != RevisionStatus.SIGNED:
            security = {"error_message": "TSE nicht erreichbar (Demo)"}
        else:
            security = {"tss_tx_id": str(tx_id)}
        tse_tx = row.api_transaction.transaction
        start = int(tse_tx.time_start.timestamp()) if tse_tx is not None else int(timezone.now().timestamp())
        end = int(tse_tx.time_end.timestamp()) if tse_tx is not None and tse_tx.time_end else start
        if cash:
            cash_total += total
        else:
            card_total += total
        transactions.append({
            "head": {"type": "Beleg", "storno": False, "number": number, "timestamp_start": start,
                     "timestamp_end": end, "user": {"user_export_id": "1", "name": "Mia Schulz"},
                     "transaction_export_id": str(number)},
            "data": {"full_amount_incl_vat": str(total),
                     "payment_types": [{"type": "Bar" if cash else "ECKarte", "amount": str(total)}],
                     "amounts_per_vat_id": [_split(COFFEE, 1, day), _split(CAKE, 2, day)],
                     "lines": [
                         {"business_case": {"type": "Umsatz", "amounts_per_vat_id": [_split(COFFEE, 1, day)]},
                          "lineitem_export_id": "1", "storno": False, "text": "Cappuccino",
                          "item": {"number": "101", "quantity": "1", "price_per_unit": str(COFFEE)}},
                         {"business_case": {"type": "Umsatz", "amounts_per_vat_id": [_split(CAKE, 2, day)]},
                          "lineitem_export_id": "2", "storno": False, "text": "Käsekuchen (außer Haus)",
                          "in_house": False,
                          "item": {"number": "205", "quantity": "1", "price_per_unit": str(CAKE)}},
                     ]},
            "security": security,
        })
    count = Decimal(RECEIPTS_PER_REGISTER)
    payment_types = [{"type": "Bar", "amount": str(cash_total)}]
    if card_total:
        payment_types.append({"type": "ECKarte", "amount": str(card_total)})
    return {
        "client_id": str(register.client.public_id),
        "cash_point_closing_export_id": 1,
        "head": {"export_creation_date": int(timezone.now().timestamp()) + 1,
                 "first_transaction_export_id": "1", "last_transaction_export_id": str(RECEIPTS_PER_REGISTER)},
        "cash_statement": {
            "business_cases": [
                {"type": "Umsatz", "amounts_per_vat_id": [_split(COFFEE * count, 1, day)]},
                {"type": "Umsatz", "amounts_per_vat_id": [_split(CAKE * count, 2, day)]},
            ],
            "payment": {"full_amount": str(total * count), "cash_amount": str(cash_total),
                        "cash_amounts_by_currency": [{"currency_code": "EUR", "amount": str(cash_total)}],
                        "payment_types": payment_types},
        },
        "transactions": transactions,
    }


def ensure_demo_dsfinvk(*, actor, organization) -> DsfinvkExport | None:
    """Cash registers, one accepted closing per register and one export for ``organization`` (once)."""
    unit = SigningUnit.unscoped.filter(organization=organization).first()
    version = PosSystemVersion.unscoped.filter(pos_system__name="DemoKasse").order_by("pk").first()
    outlet = unit.outlet if unit is not None and unit.outlet else Outlet.unscoped.filter(
        organization=organization).first()
    if unit is None or version is None or outlet is None:
        return None
    if DsfinvkExport.unscoped.filter(organization=organization).exists():
        return DsfinvkExport.unscoped.filter(organization=organization).first()
    day = timezone.localdate()
    for client in TseClient.unscoped.filter(signing_unit=unit).order_by("client_id"):
        register = CashRegister.unscoped.filter(client=client).first() or create_cash_register(
            actor=actor, organization=organization, client=client, outlet=outlet, pos_system_version=version)
        if CashPointClosing.unscoped.filter(cash_register=register).exists():
            continue
        closing, _created = submit_closing(
            actor=actor, organization=organization, closing_id=uuid.uuid5(NAMESPACE, f"closing/{client.public_id}"),
            payload=_closing_request(register, unit, day))
        if CashPointClosing.unscoped.get(pk=closing.pk).state == ClosingState.PENDING:
            process_closing(closing.pk)
    if not CashPointClosing.unscoped.filter(organization=organization, state=ClosingState.COMPLETED).exists():
        return None
    return request_export(actor=actor, organization=organization)
