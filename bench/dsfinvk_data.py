"""Bench data for ``bench/dsfinvk.py``: one operator, N cash registers, COMPLETED closings, fast.

Everything small goes through the ORM and the real services (organization, outlet, POS system,
software TSEs initialized by their backend — real key, serial and certificate —, cash registers,
the master-data revision from ``revision_for_closing``). The closings themselves are written
with PostgreSQL ``COPY``: their documents (format: ``exports/dsfinvk/document.py``, the same
shape as ``tests/dsfinvk_documents.py`` builds) are assembled from precomputed JSON fragments.
A receipt is one of a few dozen *templates* (its lines, VAT splits, payment and processData are
fixed and computed once with ``Decimal``); per receipt only BON_ID/BON_NR, the times, the TSE
transaction number, signature counter and signature are filled in. The closing sums
(businesscases, payment, cash_per_currency, Z_SE_*) are the template sums times their counts.

Each receipt has ``lines_per_receipt`` lines, alternating 19 % (key 1) and 7 % (key 2), is paid
in cash or by card (``Bar`` / ``ECKarte``) and has one Kassenbeleg-V1 TSE row.
"""

import base64
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_DAY = dt.date(2026, 10, 1)
FIVE = Decimal("0.00001")
CENT = Decimal("0.01")
ZERO = Decimal("0")
RATES = {1: Decimal("19"), 2: Decimal("7")}
TEMPLATES = 48
OPEN_SECONDS = 8 * 3600  # first receipt 08:00 Berlin
BUSINESS_SECONDS = 12 * 3600  # receipts spread over 08:00–20:00
CLOSE_SECONDS = 22 * 3600  # Z closing at 22:00 Berlin
# (text, VAT key, unit price, article number, product group)
CATALOGUE = {
    1: [("Kaffee", "3.20", "A100", "Heißgetränke"), ("Cappuccino", "3.90", "A101", "Heißgetränke"),
        ("Mineralwasser 0,5 l", "2.50", "A200", "Kaltgetränke"), ("Apfelsaftschorle", "3.10", "A201", "Kaltgetränke"),
        ("Weißwein 0,2 l", "5.80", "A300", "Wein")],
    2: [("Croissant", "2.40", "B100", "Backwaren"), ("Käsekuchen", "4.50", "B101", "Kuchen"),
        ("Brötchen", "0.60", "B102", "Backwaren"), ("Sandwich \"Caprese\"", "5.90", "B200", "Snacks"),
        ("Müsli", "4.20", "B201", "Frühstück")],
}


def label(receipts: int, lines: int, registers: int, days: int) -> str:
    """The organization name that records the parameters, so a re-run can reuse the data."""
    return f"Bench DSFinV-K r{receipts} l{lines} k{registers} d{days}"


def _d(value: Decimal) -> str:
    return f"{value:f}"


def _split(gross: Decimal, vat_key: int) -> tuple[Decimal, Decimal]:
    net = (gross * 100 / (100 + RATES[vat_key])).quantize(FIVE)
    return net, gross - net


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Template:
    """One receipt shape: everything that does not depend on the receipt's number or time."""

    gross: Decimal
    cash: bool
    payment_typ: str
    vat: dict  # key -> [gross, net, vat]
    lines_json: str  # '"lines":[…]'
    fixed_json: str  # '"vat":[…],"payments":[…],"allocation_groups":[],"references":[]'
    process_data: str  # a JSON string literal (quoted)


def _template(number: int, lines_per_receipt: int) -> Template:
    from exports.dsfinvk.process_data import kassenbeleg_v1

    lines, tx_vat = [], {}
    for position in range(1, lines_per_receipt + 1):
        vat_key = 1 if position % 2 else 2
        items = CATALOGUE[vat_key]
        text, price, art_nr, group = items[(number * 3 + position * 7) % len(items)]
        qty = Decimal(1 + (number + position) % 3)
        gross = Decimal(price) * qty
        net, vat = _split(gross, vat_key)
        lines.append({
            "line": {"POS_ZEILE": str(position), "ARTIKELTEXT": text, "GV_TYP": "Umsatz", "INHAUS": number % 4 != 0,
                     "P_STORNO": False, "AGENTUR_ID": 0, "ART_NR": art_nr, "WARENGR_ID": art_nr[0],
                     "WARENGR": group, "MENGE": _d(qty), "EINHEIT": "Stück", "STK_BR": price},
            "vat": [{"UST_SCHLUESSEL": vat_key, "POS_BRUTTO": _d(gross), "POS_NETTO": _d(net), "POS_UST": _d(vat)}],
            "amounts": [], "subitems": [],
        })
        sums = tx_vat.setdefault(vat_key, [ZERO, ZERO, ZERO])
        sums[0] += gross
        sums[1] += net
        sums[2] += vat
    total = sum((v[0] for v in tx_vat.values()), ZERO)
    cash = number % 2 == 0
    typ = "Bar" if cash else "ECKarte"
    fixed = {
        "vat": [{"UST_SCHLUESSEL": key, "BON_BRUTTO": _d(v[0]), "BON_NETTO": _d(v[1]), "BON_UST": _d(v[2])}
                for key, v in sorted(tx_vat.items())],
        "payments": [{"ZAHLART_TYP": typ, "ZAHLART_NAME": None if cash else "girocard", "ZAHLWAEH_CODE": "EUR",
                      "ZAHLWAEH_BETRAG": None, "BASISWAEH_BETRAG": _d(total)}],
        "allocation_groups": [], "references": [],
    }
    process_data = kassenbeleg_v1("Beleg", {key: v[0] for key, v in tx_vat.items()}, [(typ, "EUR", total)],
                                  base_currency="EUR")
    return Template(gross=total, cash=cash, payment_typ=typ, vat=tx_vat,
                    lines_json='"lines":' + _dumps(lines), fixed_json=_dumps(fixed)[1:-1],
                    process_data=_dumps(process_data))


def templates(lines_per_receipt: int) -> list[Template]:
    return [_template(n, lines_per_receipt) for n in range(TEMPLATES)]


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _offset(day: dt.date) -> tuple[str, int]:
    """Berlin's UTC offset during business hours of ``day``: ("+01:00", 3600)."""
    offset = dt.datetime.combine(day, dt.time(12), BERLIN).utcoffset()
    seconds = int(offset.total_seconds())
    return f"+{seconds // 3600:02d}:{seconds // 60 % 60:02d}", seconds


@dataclass
class ClosingData:
    document_json: str
    z_erstellung: str
    made_at: dt.datetime
    full_amount: Decimal
    cash_amount: Decimal
    first_bon: str
    last_bon: str
    bon_ids: list[str]


def closing_document(templates_: list[Template], *, kasse_id: str, day: dt.date, first_bon: int, count: int,
                     first_tanr: int) -> ClosingData:
    """The document of one closing of ``count`` receipts on ``day`` (BON_IDs ``first_bon``…)."""
    from exports.dsfinvk.document import TAXONOMY_VERSION

    suffix, offset = _offset(day)
    local_date = day.isoformat()
    usage = [0] * len(templates_)
    parts = []
    bon_ids = []
    for index in range(count):
        bon = first_bon + index
        template_no = bon * 7 % len(templates_)
        template = templates_[template_no]
        usage[template_no] += 1
        start = OPEN_SECONDS + index * BUSINESS_SECONDS // max(count, 1)
        end = start + 40
        tanr = first_tanr + index
        sigz = 2 * tanr + 5
        signature = base64.b64encode(hashlib.sha512(f"{kasse_id}/{sigz}".encode()).digest()).decode()
        bon_id = str(bon)
        bon_ids.append(bon_id)
        parts.append(
            '{"head":{"BON_ID":"%s","BON_NR":%d,"BON_TYP":"Beleg","BON_STORNO":false,"BON_START":"%sT%s%s",'
            '"BON_ENDE":"%sT%s%s","BEDIENER_ID":"%d","BEDIENER_NAME":"Kasse %d","UMS_BRUTTO":"%s"},%s,'
            '"tse":[{"TSE_ID":1,"TSE_TANR":%d,"TSE_TA_START":"%sT%s.000Z","TSE_TA_ENDE":"%sT%s.000Z",'
            '"TSE_TA_VORGANGSART":"Kassenbeleg-V1","TSE_TA_SIGZ":%d,"TSE_TA_SIG":"%s","TSE_VORGANGSDATEN":%s}],%s}'
            % (bon_id, bon, local_date, _hms(start), suffix, local_date, _hms(end), suffix, 1 + bon % 3, 1 + bon % 3,
               _d(template.gross.quantize(CENT)), template.fixed_json, tanr, local_date, _hms(start - offset),
               local_date, _hms(end - offset), sigz, signature, template.process_data, template.lines_json))
    cases, pays = {}, {}
    total = cash = ZERO
    for template, used in zip(templates_, usage, strict=True):
        if not used:
            continue
        for key, (gross, net, vat) in template.vat.items():
            sums = cases.setdefault(key, [ZERO, ZERO, ZERO])
            sums[0] += gross * used
            sums[1] += net * used
            sums[2] += vat * used
        name = None if template.cash else "girocard"
        pays[(template.payment_typ, name)] = pays.get((template.payment_typ, name), ZERO) + template.gross * used
        total += template.gross * used
        if template.cash:
            cash += template.gross * used
    head = {
        "cashpointclosing": {"TAXONOMIE_VERSION": TAXONOMY_VERSION,
                             "Z_START_ID": bon_ids[0] if bon_ids else None,
                             "Z_ENDE_ID": bon_ids[-1] if bon_ids else None,
                             "Z_SE_ZAHLUNGEN": _d(total), "Z_SE_BARZAHLUNGEN": _d(cash)},
        "businesscases": [{"GV_TYP": "Umsatz", "GV_NAME": None, "AGENTUR_ID": 0, "UST_SCHLUESSEL": key,
                           "Z_UMS_BRUTTO": _d(v[0]), "Z_UMS_NETTO": _d(v[1]), "Z_UST": _d(v[2])}
                          for key, v in sorted(cases.items())],
        "payment": [{"ZAHLART_TYP": k[0], "ZAHLART_NAME": k[1], "Z_ZAHLART_BETRAG": _d(v)}
                    for k, v in sorted(pays.items(), key=lambda item: (item[0][0], item[0][1] or ""))],
        "cash_per_currency": [{"ZAHLART_WAEH": "EUR", "ZAHLART_BETRAG_WAEH": _d(cash)}] if cash else [],
    }
    document = _dumps(head)[:-1] + ',"transactions":[' + ",".join(parts) + "]}"
    made_at = dt.datetime.combine(day, dt.time(0), BERLIN) + dt.timedelta(seconds=CLOSE_SECONDS)
    return ClosingData(document_json=document, z_erstellung=f"{local_date}T{_hms(CLOSE_SECONDS)}{suffix}",
                       made_at=made_at.astimezone(dt.UTC), full_amount=total, cash_amount=cash,
                       first_bon=bon_ids[0] if bon_ids else "", last_bon=bon_ids[-1] if bon_ids else "",
                       bon_ids=bon_ids)


def _operator(name: str):
    from tenants.models import Outlet, PosSystem, PosSystemType, PosSystemVersion, RoleKind, User
    from tenants.services.organizations import create_organization

    owner = User.objects.create_user(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password=None,
                                     full_name="Bench Owner")
    organization = create_organization(owner=owner, roles=[RoleKind.OPERATOR], activate_roles=True, data={
        "name": name, "legal_form": "gmbh", "street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin",
        "country": "DE", "tax_number": "1234567890123", "vat_id": "DE123456789"})
    outlet = Outlet.unscoped.create(organization=organization, number=1, name="Filiale Mitte", street="Torstraße",
                                    house_number="5", postal_code="10119", city="Berlin")
    pos_system = PosSystem.unscoped.create(organization=organization, name="KassenSoft Café", brand="Kassenbau",
                                           model="K1", system_type=PosSystemType.PC_POS)
    version = PosSystemVersion.unscoped.create(pos_system=pos_system, organization=organization,
                                               software_name="KassenSoft", software_version="4.2")
    return organization, outlet, version


def _cash_registers(organization, outlet, version, count: int) -> list:
    from exports.models import CashRegister
    from tse.models import TseClient
    from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

    registers = []
    for number in range(1, count + 1):
        unit = create_signing_unit(actor=None, organization=organization, outlet=outlet,
                                   description=f"Bench TSE {number}")
        backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
        kasse_id = f"KASSE-{number:02d}"
        backend.register_client(kasse_id)
        client = TseClient.unscoped.get(signing_unit=unit, client_id=kasse_id)
        registers.append(CashRegister.unscoped.create(organization=organization, client=client, outlet=outlet,
                                                      pos_system_version=version))
    return registers


def generate(*, receipts: int, lines_per_receipt: int, registers: int, days: int, log=print) -> dict:
    """Create the operator and its closings; returns {"organization_id", "closings", "receipts", "lines"}."""
    from django.db import connection, transaction

    from exports.models import CashPointClosing
    from exports.services.master_data import revision_for_closing

    organization, outlet, version = _operator(label(receipts, lines_per_receipt, registers, days))
    cash_registers = _cash_registers(organization, outlet, version, registers)
    shapes = templates(lines_per_receipt)
    closings = registers * days
    per_closing, extra = divmod(receipts, closings)
    closing_columns = ("closing_id", "organization_id", "cash_register_id", "z_nr", "export_creation_date",
                       "business_date", "state", "request_hash", "document", "errors", "revision_id", "z_erstellung",
                       "full_amount", "cash_amount", "first_bon_id", "last_bon_id", "transaction_count", "line_count",
                       "created_at", "processed_at")
    bon_rows = []
    made = 0
    for register_index, register in enumerate(cash_registers):
        with transaction.atomic():
            revision = revision_for_closing(register, FIRST_DAY)
        next_bon, next_tanr = 1, 1
        with transaction.atomic(), connection.cursor() as cursor:
            columns = ", ".join(closing_columns)
            with cursor.cursor.copy(f"COPY exports_cashpointclosing ({columns}) FROM STDIN") as copy:
                for day_index in range(days):
                    number = register_index * days + day_index
                    count = per_closing + (1 if number < extra else 0)
                    day = FIRST_DAY + dt.timedelta(days=day_index)
                    data = closing_document(shapes, kasse_id=register.kasse_id, day=day, first_bon=next_bon,
                                            count=count, first_tanr=next_tanr)
                    next_bon += count
                    next_tanr += count
                    digest = hashlib.sha256(data.document_json.encode()).hexdigest()
                    copy.write_row((uuid.uuid4(), organization.pk, register.pk, day_index + 1, data.made_at, day,
                                    "COMPLETED", digest, data.document_json, "[]", revision.pk, data.z_erstellung,
                                    data.full_amount, data.cash_amount, data.first_bon, data.last_bon, count,
                                    count * lines_per_receipt, data.made_at, data.made_at))
                    bon_rows.append((register.pk, day_index + 1, data.bon_ids))
                    made += 1
        log(f"  {register.kasse_id}: {days} closings, {next_bon - 1} receipts")
    closing_pk = dict(((r, z), pk) for pk, r, z in CashPointClosing.unscoped.filter(
        organization=organization).values_list("pk", "cash_register_id", "z_nr"))
    copy_transactions = ("COPY exports_closingtransaction (organization_id, closing_id, cash_register_id, bon_id) "
                         "FROM STDIN")
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_transactions) as copy:
        for register_pk, z_nr, bon_ids in bon_rows:
            pk = closing_pk[(register_pk, z_nr)]
            for bon_id in bon_ids:
                copy.write_row((organization.pk, pk, register_pk, bon_id))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE exports_cashpointclosing")
        cursor.execute("ANALYZE exports_closingtransaction")
    return {"organization_id": organization.pk, "closings": made, "receipts": receipts,
            "lines": receipts * lines_per_receipt}
