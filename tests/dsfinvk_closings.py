"""Cash registers with a software TSE and signed, valid closing requests (fiskaly DSFinV-K model) for tests.

``make_cash_register(organization, …)`` creates a POS system and version, an outlet, an initialized
software TSE with the register's client and the ``CashRegister``. ``signed_closing_payload(register,
receipts, z_nr=…)`` signs every receipt through the TSE backend (start/finish with the receipt's
``Kassenbeleg-V1`` processData), links it to a signing-API transaction (``ApiTransaction``) and
returns a request whose sums are all consistent. Amounts are ``Decimal``; ``closing_json(payload)``
renders them as JSON *numbers* (as a POS sends them) and ``put_closing`` sends a request.

A receipt spec::

    {"bon_typ": "Beleg",                                   # default
     "lines": [{"text": "Kaffee", "vat_key": 1, "gross": Decimal("3.20"), "qty": Decimal("1"),
                "gv_typ": "Umsatz"}],
     "payments": [{"typ": "Bar", "amount": Decimal("3.20")},
                  {"typ": "Bar", "amount": Decimal("5.00"), "currency": "CHF", "base": Decimal("5.20")}],
     "tse_failure": "TSE nicht erreichbar"}                 # optional: not signed, security.error_message
"""

import datetime as dt
import json
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from exports.dsfinvk.process_data import kassenbeleg_v1
from exports.dsfinvk.vat_keys import BY_KEY
from exports.models import CashRegister
from tenants.models import Organization, Outlet, PosSystem, PosSystemVersion
from tse.models import ApiTransaction, TransactionState, TseClient, TseTransaction
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

__all__ = ["closing_json", "closing_url", "make_cash_register", "put_closing", "receipt", "signed_closing_payload"]

BERLIN = ZoneInfo("Europe/Berlin")
FIVE = Decimal("0.00001")
CENT = Decimal("0.01")
ZERO = Decimal("0")
_DECIMAL_MARK = "\u0000dec:"


def make_cash_register(organization: Organization, *, serial: str = "KASSE-01", outlet_name: str = "Filiale Mitte",
                       signing_unit=None, outlet=None) -> CashRegister:
    """A cash register of ``organization`` whose client ``serial`` is registered at a ready software TSE."""
    if not organization.tax_number and not organization.vat_id:
        Organization.unscoped.filter(pk=organization.pk).update(tax_number="1234567890123")
    organization.refresh_from_db()
    pos_system = PosSystem.unscoped.create(organization=organization, name="Kassensoft", brand="Kassenbau",
                                           model="K1", system_type="pc_pos")
    version = PosSystemVersion.unscoped.create(pos_system=pos_system, organization=organization,
                                               software_name="KassenSoft", software_version="4.2")
    if outlet is None:
        number = Outlet.unscoped.filter(organization=organization).count() + 1
        outlet = Outlet.unscoped.create(organization=organization, number=number, name=outlet_name,
                                        street="Torstraße", house_number="5", postal_code="10119", city="Berlin")
    if signing_unit is None:
        signing_unit = create_signing_unit(actor=None, organization=organization, description=f"TSE {serial}")
        signing_unit = initialize_signing_unit(actor=None, signing_unit=signing_unit)
    get_backend(signing_unit).register_client(serial)
    client = TseClient.unscoped.get(signing_unit=signing_unit, client_id=serial)
    return CashRegister.unscoped.create(organization=organization, client=client, outlet=outlet,
                                        pos_system_version=version)


def receipt(gross: str = "3.20", *, vat_key: int = 1, typ: str = "Bar", text: str = "Kaffee", **extra) -> dict:
    """A one-line receipt paid in full with one payment."""
    amount = Decimal(gross)
    spec = {"lines": [{"text": text, "vat_key": vat_key, "gross": amount}],
            "payments": [{"typ": typ, "amount": amount}]}
    spec.update(extra)
    return spec


def _split(gross: Decimal, vat_key: int, day: dt.date) -> tuple[Decimal, Decimal]:
    rate = BY_KEY[vat_key].rate_on(day)
    net = (gross * 100 / (100 + rate)).quantize(FIVE, rounding=ROUND_HALF_UP)
    return net, gross - net


def _sign(cash_register: CashRegister, process_data: str) -> tuple[ApiTransaction, TseTransaction]:
    client = cash_register.client
    backend = get_backend(client.signing_unit)
    started = backend.start_transaction(client.client_id)
    backend.finish_transaction(client.client_id, started.number, "Kassenbeleg-V1", process_data.encode("utf-8"))
    tse_tx = TseTransaction.unscoped.get(pk=started.transaction_id)
    api_tx = ApiTransaction.unscoped.create(organization_id=client.organization_id, signing_unit=client.signing_unit,
                                            tx_id=uuid.uuid4(), client=client, state=TransactionState.FINISHED,
                                            latest_revision=2, transaction=tse_tx)
    return api_tx, tse_tx


def _transaction(cash_register, spec: dict, bon: int, day: dt.date) -> dict:
    bon_typ = spec.get("bon_typ", "Beleg")
    lines, tx_vat = [], {}
    for number, line in enumerate(spec.get("lines", []), start=1):
        gross, key = line["gross"], line["vat_key"]
        net, vat = _split(gross, key, day)
        qty = line.get("qty", Decimal("1"))
        lines.append({
            "business_case": {"type": line.get("gv_typ", "Umsatz"),
                              "amounts_per_vat_id": [{"vat_definition_export_id": key, "incl_vat": gross,
                                                      "excl_vat": net, "vat": vat}]},
            "lineitem_export_id": str(number), "storno": False, "text": line["text"],
            "item": {"number": line.get("art_nr", f"A{number}"), "quantity": qty,
                     "price_per_unit": (gross / qty).quantize(FIVE) if qty else ZERO},
        })
        total = tx_vat.setdefault(key, [ZERO, ZERO, ZERO])
        total[0], total[1], total[2] = total[0] + gross, total[1] + net, total[2] + vat
    payments = []
    for payment in spec.get("payments", []):
        entry = {"type": payment["typ"], "amount": payment.get("base", payment["amount"])}
        if payment.get("name"):
            entry["name"] = payment["name"]
        if payment.get("currency", "EUR") != "EUR":
            entry.update(currency_code=payment["currency"], foreign_amount=payment["amount"])
        payments.append(entry)
    gross_total = sum((v[0] for v in tx_vat.values()), ZERO)
    process_data = kassenbeleg_v1(
        bon_typ, {key: v[0] for key, v in tx_vat.items()},
        [(p["typ"], p.get("currency", "EUR"), p["amount"]) for p in spec.get("payments", [])], base_currency="EUR")
    if spec.get("tse_failure"):
        now = int(dt.datetime.now(dt.UTC).timestamp())
        security, start, end = {"error_message": spec["tse_failure"]}, now, now
    else:
        api_tx, tse_tx = _sign(cash_register, process_data)
        security = {"tss_tx_id": str(api_tx.tx_id)}
        start, end = int(tse_tx.time_start.timestamp()), int(tse_tx.time_end.timestamp())
    return {
        "head": {"type": bon_typ, "storno": False, "number": bon, "timestamp_start": start, "timestamp_end": end,
                 "user": {"user_export_id": "1", "name": "Anna"}, "transaction_export_id": str(bon)},
        "data": {"full_amount_incl_vat": gross_total.quantize(CENT), "payment_types": payments,
                 "amounts_per_vat_id": [{"vat_definition_export_id": key, "incl_vat": v[0], "excl_vat": v[1],
                                         "vat": v[2]} for key, v in sorted(tx_vat.items())],
                 "lines": lines},
        "security": security,
    }


def signed_closing_payload(cash_register: CashRegister, receipts: list[dict], *, z_nr: int = 1, first_bon: int = 1,
                           creation: dt.datetime | None = None) -> dict:
    """A valid closing request of ``cash_register`` holding ``receipts`` (BON_IDs ``first_bon``…)."""
    creation = creation or dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    day = creation.astimezone(BERLIN).date()
    transactions = [_transaction(cash_register, spec, first_bon + index, day) for index, spec in enumerate(receipts)]
    cases, types, cash = {}, {}, {}
    total, total_cash = ZERO, ZERO
    for tx in transactions:
        if tx["head"]["type"] != "Beleg":
            continue
        for line in tx["data"]["lines"]:
            for vat in line["business_case"]["amounts_per_vat_id"]:
                key = (line["business_case"]["type"], vat["vat_definition_export_id"])
                sums = cases.setdefault(key, [ZERO, ZERO, ZERO])
                sums[0], sums[1], sums[2] = sums[0] + vat["incl_vat"], sums[1] + vat["excl_vat"], sums[2] + vat["vat"]
        for payment in tx["data"]["payment_types"]:
            key = (payment["type"], payment.get("name"))
            types[key] = types.get(key, ZERO) + payment["amount"]
            total += payment["amount"]
            if payment["type"] == "Bar":
                total_cash += payment["amount"]
                currency = payment.get("currency_code", "EUR")
                cash[currency] = cash.get(currency, ZERO) + payment.get("foreign_amount", payment["amount"])
    bon_ids = [tx["head"]["transaction_export_id"] for tx in transactions]
    return {
        "client_id": str(cash_register.client.public_id),
        "cash_point_closing_export_id": z_nr,
        "head": {"export_creation_date": int(creation.timestamp()),
                 "first_transaction_export_id": bon_ids[0] if bon_ids else None,
                 "last_transaction_export_id": bon_ids[-1] if bon_ids else None},
        "cash_statement": {
            "business_cases": [{"type": typ, "amounts_per_vat_id": [{"vat_definition_export_id": key,
                                                                     "incl_vat": v[0], "excl_vat": v[1], "vat": v[2]}]}
                               for (typ, key), v in cases.items()],
            "payment": {
                "full_amount": total, "cash_amount": total_cash,
                "cash_amounts_by_currency": [{"currency_code": code, "amount": amount}
                                             for code, amount in cash.items()],
                "payment_types": [{"type": typ, **({"name": name} if name else {}), "amount": amount}
                                  for (typ, name), amount in types.items()],
            },
        },
        "transactions": transactions,
    }


def _mark(value):
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value:f}"
    if isinstance(value, dict):
        return {key: _mark(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark(item) for item in value]
    return value


def closing_json(payload: dict) -> str:
    """``payload`` as JSON text with every ``Decimal`` as a JSON number (no float on the way)."""
    text = json.dumps(_mark(payload))
    return re.sub(r'"\\u0000dec:(-?[0-9.]+)"', r"\1", text)


def closing_url(closing_id) -> str:
    return f"/api/v1/cash_point_closings/{closing_id}"


def put_closing(client, closing_id, payload):
    """``PUT`` the closing (amounts as JSON numbers); a ``str`` payload is sent as it is."""
    body = payload if isinstance(payload, str) else closing_json(payload)
    return client.put(closing_url(closing_id), body, content_type="application/json")
