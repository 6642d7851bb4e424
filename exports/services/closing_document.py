"""A checked closing request → the DSFinV-K closing document (format: ``exports/dsfinvk/document.py``).

``build_document(payload, context)`` runs every check that needs only the request, the VAT table
of the closing day and the TSE, collects all problems as ``{path, code, message}`` and, when
there are none, returns the document. The sequence checks against earlier closings (Z_NR, date,
BON_IDs used before) and the master data are the caller's (``exports.services.closings``).

Rules (tolerances are stated once here):

- VAT splits: ``incl_vat = excl_vat + vat`` exactly when all three are given (``E_VAT_SPLIT``);
  ``incl_vat`` alone → net = gross × 100 / (100 + rate) rounded half-up to 5 decimals, VAT =
  gross − net; ``excl_vat`` and ``vat`` → gross = net + VAT. The rate is the key's on the Berlin
  day of the closing (Anlage 2 or the operator's ``VatDefinition``; unknown key:
  ``E_VAT_KEY_UNKNOWN``).
- Per transaction: Σ of the lines' business-case amounts per VAT key = the transaction's
  ``amounts_per_vat_id`` within 0.005 + 0.00001·n per key and component, n = the line splits
  summed (the receipt's values are printed, i.e. rounded to cents once) (``E_LINES_TOTAL``);
  ``full_amount_incl_vat`` = Σ ``incl_vat`` rounded to cents (``E_TRANSACTION_TOTAL``); for a
  ``Beleg`` Σ payments = ``full_amount_incl_vat`` exactly (``E_PAYMENTS_TOTAL``).
- Closing (only ``Beleg`` transactions count): business cases = Σ of the lines grouped by (type,
  name, agency, VAT key): gross exactly, net and VAT within 0.00001·k, k = the line splits summed
  (a POS may compute them from the group's gross: k 5-decimal roundings) (``E_BUSINESS_CASES_TOTAL``);
  the same rules as the export validator (``exports.dsfinvk.validation.totals``), so an accepted
  closing always exports cleanly;
  ``full_amount``, ``cash_amount``, payment types per (type, name) and cash per currency exactly
  (``E_CASH_STATEMENT_TOTAL``).
- TSE (``security.tss_tx_id``): the signing API's transaction of the register's signing unit,
  FINISHED, of the register's client, not used by another closing transaction; for
  ``Kassenbeleg-V1`` its processData equals the one rebuilt from the transaction.
- References: ``REF_DATUM`` is the referenced closing's ``Z_ERSTELLUNG`` when it is one of the
  operator's accepted closings (byte-identical), else the ``date`` given (Berlin RFC 3339).
- Purchaser agencies (``purchaser_agency_id`` ≠ 0) and slave registers (``closing_client_id`` ≠
  ``client_id``) are not supported (``E_NOT_SUPPORTED``).
"""

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from exports.dsfinvk.document import TAXONOMY_VERSION
from exports.dsfinvk.process_data import kassenbeleg_v1
from exports.models import CashPointClosing, ClosingState, ClosingTransaction
from exports.services.closing_request import join_path
from tse.models import ApiTransaction, LogMessage, LogMessageKind, TransactionState
from tse.receipts.qr_code import format_qr_time
from tse.services.protocol import FINISH_OPERATION, signature_from_der

__all__ = ["BuiltClosing", "ClosingContext", "berlin_time", "build_document"]

BERLIN = ZoneInfo("Europe/Berlin")
ZERO = Decimal("0")
CENT = Decimal("0.01")
FIVE_PLACES = Decimal("0.00001")
PRINT_ROUNDING = Decimal("0.005")
KASSENBELEG = "Kassenbeleg-V1"
PAYMENT_TYPE_SPELLING = {"GuthabenKarte": "Guthabenkarte"}
ITEM_AMOUNTS = (("base_amounts_per_vat_id", "base_amount"), ("discounts_per_vat_id", "discount"),
                ("extra_amounts_per_vat_id", "extra_amount"))


@dataclass(frozen=True)
class ClosingContext:
    """What the document is built against: the register, its base currency and the VAT table of the day."""

    cash_register: object  # exports.CashRegister (with client and signing unit)
    base_currency: str
    vat_rates: dict[int, Decimal]  # UST_SCHLUESSEL -> rate (%)
    vat_slots: dict[int, str]  # UST_SCHLUESSEL -> processData slot


@dataclass
class BuiltClosing:
    document: dict | None
    errors: list[dict]
    transactions: list[tuple[str, int | None]] = field(default_factory=list)  # (BON_ID, TseTransaction pk)
    line_count: int = 0


def berlin_time(unix: int) -> str:
    """RFC 3339 in Europe/Berlin with offset, to the second (``2026-11-30T18:02:11+01:00``)."""
    return datetime.fromtimestamp(unix, UTC).astimezone(BERLIN).isoformat()


def _d(value: Decimal) -> str:
    return f"{(abs(value) if value == 0 else value):f}"


def _opt(value) -> Decimal | None:
    return Decimal(value) if value is not None else None


class _Builder:
    def __init__(self, payload: dict, context: ClosingContext):
        self.payload = payload
        self.context = context
        self.errors: list[dict] = []
        self.tse = _TseLinks(payload, context)

    def error(self, path: str, code: str, message: str) -> None:
        self.errors.append({"path": path, "code": code, "message": str(message)})

    # --- VAT splits ---------------------------------------------------------------------------

    def split(self, entry: dict, path: str) -> tuple[int, Decimal, Decimal, Decimal] | None:
        key = entry["vat_definition_export_id"]
        incl, excl, vat = _opt(entry.get("incl_vat")), _opt(entry.get("excl_vat")), _opt(entry.get("vat"))
        if key not in self.context.vat_rates:
            self.error(join_path(path, "vat_definition_export_id"), "E_VAT_KEY_UNKNOWN",
                       _("VAT key %(key)s is neither a key of DSFinV-K Anlage 2 nor one of the operator's VAT "
                         "definitions.") % {"key": key})
            return None
        if incl is not None and excl is not None and vat is not None:
            if incl != excl + vat:
                self.error(path, "E_VAT_SPLIT", _("incl_vat %(incl)s is not excl_vat %(excl)s + vat %(vat)s.")
                           % {"incl": _d(incl), "excl": _d(excl), "vat": _d(vat)})
        elif incl is not None:
            rate = self.context.vat_rates[key]
            excl = (incl * 100 / (100 + rate)).quantize(FIVE_PLACES, rounding=ROUND_HALF_UP)
            vat = incl - excl
        else:
            incl = excl + vat
        return key, incl, excl, vat

    def splits(self, entries: list[dict], path: str) -> list[tuple[int, Decimal, Decimal, Decimal]]:
        result = []
        for index, entry in enumerate(entries):
            parts = self.split(entry, join_path(path, index))
            if parts is not None:
                result.append(parts)
        return result

    def agency(self, business_case: dict, path: str) -> int:
        agency = business_case.get("purchaser_agency_id") or 0
        if agency:
            self.error(join_path(path, "purchaser_agency_id"), "E_NOT_SUPPORTED",
                       _("Purchaser agencies (Agenturgeschäfte) are not supported yet; book the line as the "
                         "operator's own business (purchaser_agency_id 0)."))
        return agency

    # --- transactions -------------------------------------------------------------------------

    def transaction(self, tx: dict, index: int, sums: "_ClosingSums") -> dict:
        path = join_path("transactions", index)
        errors_before = len(self.errors)
        head, data = tx["head"], tx["data"]
        bon_typ = head["type"]
        closing_client = head.get("closing_client_id")
        if closing_client is not None and closing_client != self.payload["client_id"]:
            self.error(join_path(join_path(path, "head"), "closing_client_id"), "E_NOT_SUPPORTED",
                       _("Transactions of slave registers (closing_client_id other than client_id) are not "
                         "supported."))
        data_path = join_path(path, "data")
        tx_vat = _grouped(self.splits(data["amounts_per_vat_id"], join_path(data_path, "amounts_per_vat_id")))
        lines, line_vat_total = [], {}
        for number, line in enumerate(data["lines"]):
            lines.append(self.line(line, join_path(join_path(data_path, "lines"), number), line_vat_total,
                                   sums if bon_typ == "Beleg" else None))
        for key in sorted(set(tx_vat) | set(line_vat_total)):
            given, summed = tx_vat.get(key, (ZERO,) * 3), line_vat_total.get(key, (ZERO, ZERO, ZERO, 0))
            tolerance = PRINT_ROUNDING + FIVE_PLACES * summed[3]
            if any(abs(a - b) > tolerance for a, b in zip(given, summed[:3], strict=True)):
                self.error(join_path(data_path, "amounts_per_vat_id"), "E_LINES_TOTAL",
                           _("VAT key %(key)s: the lines add up to %(lines)s gross, the transaction states "
                             "%(given)s.") % {"key": key, "lines": _d(summed[0]), "given": _d(given[0])})
        full = Decimal(data["full_amount_incl_vat"])
        gross = sum((parts[0] for parts in tx_vat.values()), ZERO)
        if full != gross.quantize(CENT, rounding=ROUND_HALF_UP):
            self.error(join_path(data_path, "full_amount_incl_vat"), "E_TRANSACTION_TOTAL",
                       _("full_amount_incl_vat %(full)s is not the sum of amounts_per_vat_id (%(sum)s).")
                       % {"full": _d(full), "sum": _d(gross)})
        payments = self.payments(data["payment_types"], join_path(data_path, "payment_types"))
        if bon_typ == "Beleg":
            paid = sum((Decimal(p["BASISWAEH_BETRAG"]) for p in payments), ZERO)
            if paid != full:
                self.error(join_path(data_path, "payment_types"), "E_PAYMENTS_TOTAL",
                           _("The payments add up to %(paid)s, full_amount_incl_vat is %(full)s.")
                           % {"paid": _d(paid), "full": _d(full)})
            sums.add_payments(payments, self.context.base_currency)
        tse_row = self.tse.row(tx, index, bon_typ, tx_vat, payments, self,
                               compare=len(self.errors) == errors_before)
        return {
            "head": _head(head, data),
            "vat": [{"UST_SCHLUESSEL": key, "BON_BRUTTO": _d(v[0]), "BON_NETTO": _d(v[1]), "BON_UST": _d(v[2])}
                    for key, v in sorted(tx_vat.items())],
            "payments": payments,
            "allocation_groups": list(head.get("allocation_groups", [])),
            "references": [self.reference(ref) for ref in head.get("references", [])],
            "tse": [tse_row] if tse_row is not None else [],
            "lines": lines,
        }

    def reference(self, ref: dict) -> dict:
        """A ``references`` row; ``REF_DATUM`` of a closing of the operator is its stored ``Z_ERSTELLUNG``."""
        row = _reference(ref)
        if ref["type"] == "Transaktion":
            register = self.context.cash_register
            stored = (CashPointClosing.unscoped.filter(
                organization_id=register.organization_id, state=ClosingState.COMPLETED,
                cash_register__client__client_id=ref["cash_register_export_id"],
                z_nr=ref["cash_point_closing_export_id"]).values_list("z_erstellung", flat=True).first())
            if stored:
                row["REF_DATUM"] = stored
        return row

    def line(self, line: dict, path: str, totals: dict, sums: "_ClosingSums | None") -> dict:
        case, item = line["business_case"], line["item"]
        case_path = join_path(path, "business_case")
        agency = self.agency(case, case_path)
        vat = self.splits(case["amounts_per_vat_id"], join_path(case_path, "amounts_per_vat_id"))
        for key, incl, excl, tax in vat:
            old = totals.get(key, (ZERO, ZERO, ZERO, 0))
            totals[key] = (old[0] + incl, old[1] + excl, old[2] + tax, old[3] + 1)
            if sums is not None:
                sums.add_case((case["type"], case.get("name"), agency, key), incl, excl, tax)
        item_path = join_path(path, "item")
        amounts = []
        for name, kind in ITEM_AMOUNTS:
            for key, incl, excl, tax in self.splits(item.get(name, []), join_path(item_path, name)):
                amounts.append({"TYP": kind, "UST_SCHLUESSEL": key, "PF_BRUTTO": _d(incl), "PF_NETTO": _d(excl),
                                "PF_UST": _d(tax)})
        subitems = []
        for index, sub in enumerate(item.get("sub_items", [])):
            parts = self.split(sub["amount_per_vat_id"],
                               join_path(join_path(join_path(item_path, "sub_items"), index), "amount_per_vat_id"))
            if parts is not None:
                subitems.append(_subitem(sub, parts))
        return {
            "line": {
                "POS_ZEILE": line["lineitem_export_id"], "GUTSCHEIN_NR": line.get("voucher_id"),
                "ARTIKELTEXT": line["text"], "POS_TERMINAL_ID": None, "GV_TYP": case["type"],
                "GV_NAME": case.get("name"), "INHAUS": line.get("in_house", True), "P_STORNO": line["storno"],
                "AGENTUR_ID": agency, "ART_NR": item["number"], "GTIN": item.get("gtin"),
                "WARENGR_ID": item.get("group_id"), "WARENGR": item.get("group_name"), "MENGE": item["quantity"],
                "FAKTOR": item.get("quantity_factor"), "EINHEIT": item.get("quantity_measure"),
                "STK_BR": item["price_per_unit"],
            },
            "vat": [{"UST_SCHLUESSEL": key, "POS_BRUTTO": _d(incl), "POS_NETTO": _d(excl), "POS_UST": _d(tax)}
                    for key, incl, excl, tax in vat],
            "amounts": amounts,
            "subitems": subitems,
        }

    def payments(self, entries: list[dict], path: str) -> list[dict]:
        grouped: dict[tuple, dict] = {}
        base = self.context.base_currency
        for index, entry in enumerate(entries):
            typ = PAYMENT_TYPE_SPELLING.get(entry["type"], entry["type"])
            currency = entry.get("currency_code") or base
            foreign = _opt(entry.get("foreign_amount")) if currency != base else None
            if currency != base and foreign is None:
                self.error(join_path(join_path(path, index), "foreign_amount"), "E_FOREIGN_AMOUNT_MISSING",
                           _("A payment in %(currency)s needs its foreign_amount (the base currency is "
                             "%(base)s).") % {"currency": currency, "base": base})
            key = (typ, entry.get("name"), currency)
            row = grouped.setdefault(key, {"ZAHLART_TYP": typ, "ZAHLART_NAME": entry.get("name"),
                                           "ZAHLWAEH_CODE": currency, "ZAHLWAEH_BETRAG": None,
                                           "_base": ZERO, "_foreign": None})
            row["_base"] += Decimal(entry["amount"])
            if foreign is not None:
                row["_foreign"] = (row["_foreign"] or ZERO) + foreign
        result = []
        for row in grouped.values():
            base_amount, foreign = row.pop("_base"), row.pop("_foreign")
            row["ZAHLWAEH_BETRAG"] = _d(foreign) if foreign is not None else None
            row["BASISWAEH_BETRAG"] = _d(base_amount)
            result.append(row)
        return result

    # --- the closing --------------------------------------------------------------------------

    def build(self) -> BuiltClosing:
        payload = self.payload
        sums = _ClosingSums()
        transactions = []
        line_count = 0
        for index, tx in enumerate(payload["transactions"]):
            transactions.append(self.transaction(tx, index, sums))
            line_count += len(tx["data"]["lines"])
        statement = payload["cash_statement"]
        cases = self.cash_statement_cases(statement["business_cases"], sums)
        payment_rows, cash_rows = self.cash_statement_payments(statement["payment"], sums)
        head = payload["head"]
        creation = berlin_time(head["export_creation_date"])
        business_date = head.get("business_date")
        if business_date == creation[:10]:
            business_date = None
        document = {
            "cashpointclosing": {
                "Z_BUCHUNGSTAG": business_date, "TAXONOMIE_VERSION": TAXONOMY_VERSION,
                "Z_START_ID": head["first_transaction_export_id"], "Z_ENDE_ID": head["last_transaction_export_id"],
                "Z_SE_ZAHLUNGEN": statement["payment"]["full_amount"],
                "Z_SE_BARZAHLUNGEN": statement["payment"]["cash_amount"],
            },
            "businesscases": cases,
            "payment": payment_rows,
            "cash_per_currency": cash_rows,
            "transactions": transactions,
        }
        links = [(tx["head"]["transaction_export_id"], self.tse.used.get(index))
                 for index, tx in enumerate(payload["transactions"])]
        if self.errors:
            return BuiltClosing(None, self.errors)
        return BuiltClosing(document, [], links, line_count)

    def cash_statement_cases(self, cases: list[dict], sums: "_ClosingSums") -> list[dict]:
        given: dict[tuple, tuple[Decimal, Decimal, Decimal]] = {}
        for index, case in enumerate(cases):
            path = join_path("cash_statement.business_cases", index)
            agency = self.agency(case, path)
            for key, incl, excl, tax in self.splits(case["amounts_per_vat_id"], join_path(path, "amounts_per_vat_id")):
                group = (case["type"], case.get("name"), agency, key)
                old = given.get(group, (ZERO, ZERO, ZERO))
                given[group] = (old[0] + incl, old[1] + excl, old[2] + tax)
        for group in sorted(set(given) | set(sums.cases), key=_group_order):
            stated, summed = given.get(group, (ZERO,) * 3), sums.cases.get(group, (ZERO, ZERO, ZERO, 0))
            tolerance = FIVE_PLACES * summed[3]
            if stated[0] != summed[0] or any(abs(a - b) > tolerance for a, b in zip(stated[1:], summed[1:3],
                                                                                  strict=True)):
                self.error("cash_statement.business_cases", "E_BUSINESS_CASES_TOTAL",
                           _("Business case %(type)s%(name)s, VAT key %(key)s: the lines of the receipts add up to "
                             "%(lines)s gross, the cash statement states %(given)s.")
                           % {"type": group[0], "name": f" ({group[1]})" if group[1] else "", "key": group[3],
                              "lines": _d(summed[0]), "given": _d(stated[0])})
        return [{"GV_TYP": group[0], "GV_NAME": group[1], "AGENTUR_ID": group[2], "UST_SCHLUESSEL": group[3],
                 "Z_UMS_BRUTTO": _d(v[0]), "Z_UMS_NETTO": _d(v[1]), "Z_UST": _d(v[2])}
                for group, v in given.items()]

    def cash_statement_payments(self, payment: dict, sums: "_ClosingSums") -> tuple[list[dict], list[dict]]:
        path = "cash_statement.payment"
        for name, expected in (("full_amount", sums.total), ("cash_amount", sums.cash)):
            if Decimal(payment[name]) != expected:
                self.error(join_path(path, name), "E_CASH_STATEMENT_TOTAL",
                           _("%(field)s is %(given)s, the payments of the receipts add up to %(sum)s.")
                           % {"field": name, "given": _d(Decimal(payment[name])), "sum": _d(expected)})
        types: dict[tuple, Decimal] = {}
        for entry in payment["payment_types"]:
            key = (PAYMENT_TYPE_SPELLING.get(entry["type"], entry["type"]), entry.get("name"))
            types[key] = types.get(key, ZERO) + Decimal(entry["amount"])
        for key in sorted(set(types) | set(sums.types), key=lambda k: (k[0], k[1] or "")):
            if types.get(key, ZERO) != sums.types.get(key, ZERO):
                self.error(join_path(path, "payment_types"), "E_CASH_STATEMENT_TOTAL",
                           _("Payment type %(type)s%(name)s: stated %(given)s, the receipts add up to %(sum)s.")
                           % {"type": key[0], "name": f" ({key[1]})" if key[1] else "",
                              "given": _d(types.get(key, ZERO)), "sum": _d(sums.types.get(key, ZERO))})
        currencies: dict[str, Decimal] = {}
        for entry in payment["cash_amounts_by_currency"]:
            currencies[entry["currency_code"]] = currencies.get(entry["currency_code"], ZERO) + Decimal(entry["amount"])
        for code in sorted(set(currencies) | set(sums.currencies)):
            if currencies.get(code, ZERO) != sums.currencies.get(code, ZERO):
                self.error(join_path(path, "cash_amounts_by_currency"), "E_CASH_STATEMENT_TOTAL",
                           _("Cash in %(currency)s: stated %(given)s, the receipts add up to %(sum)s.")
                           % {"currency": code, "given": _d(currencies.get(code, ZERO)),
                              "sum": _d(sums.currencies.get(code, ZERO))})
        payment_rows = [{"ZAHLART_TYP": key[0], "ZAHLART_NAME": key[1], "Z_ZAHLART_BETRAG": _d(amount)}
                        for key, amount in types.items()]
        cash_rows = [{"ZAHLART_WAEH": code, "ZAHLART_BETRAG_WAEH": _d(amount)} for code, amount in currencies.items()]
        return payment_rows, cash_rows


def _group_order(group: tuple) -> tuple:
    return (group[0], group[1] or "", group[2], group[3])


def _grouped(splits) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    result: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    for key, incl, excl, tax in splits:
        old = result.get(key, (ZERO, ZERO, ZERO))
        result[key] = (old[0] + incl, old[1] + excl, old[2] + tax)
    return result


class _ClosingSums:
    """What the ``Beleg`` transactions add up to."""

    def __init__(self):
        self.cases: dict[tuple, tuple[Decimal, Decimal, Decimal]] = {}
        self.types: dict[tuple, Decimal] = {}
        self.currencies: dict[str, Decimal] = {}
        self.total = ZERO
        self.cash = ZERO

    def add_case(self, group, incl, excl, tax) -> None:
        old = self.cases.get(group, (ZERO, ZERO, ZERO, 0))
        self.cases[group] = (old[0] + incl, old[1] + excl, old[2] + tax, old[3] + 1)

    def add_payments(self, payments: list[dict], base_currency: str) -> None:
        for row in payments:
            amount = Decimal(row["BASISWAEH_BETRAG"])
            key = (row["ZAHLART_TYP"], row["ZAHLART_NAME"])
            self.types[key] = self.types.get(key, ZERO) + amount
            self.total += amount
            if row["ZAHLART_TYP"] == "Bar":
                self.cash += amount
                currency = row["ZAHLWAEH_CODE"]
                foreign = row["ZAHLWAEH_BETRAG"]
                in_currency = Decimal(foreign) if currency != base_currency and foreign is not None else amount
                self.currencies[currency] = self.currencies.get(currency, ZERO) + in_currency


def _head(head: dict, data: dict) -> dict:
    buyer = head.get("buyer") or {}
    address = buyer.get("address") or {}
    return {
        "BON_ID": head["transaction_export_id"], "BON_NR": head["number"], "BON_TYP": head["type"],
        "BON_NAME": head.get("name"), "TERMINAL_ID": None, "BON_STORNO": head["storno"],
        "BON_START": berlin_time(head["timestamp_start"]), "BON_ENDE": berlin_time(head["timestamp_end"]),
        "BEDIENER_ID": head["user"]["user_export_id"], "BEDIENER_NAME": head["user"].get("name"),
        "UMS_BRUTTO": data["full_amount_incl_vat"], "KUNDE_NAME": buyer.get("name"),
        "KUNDE_ID": buyer.get("buyer_export_id"), "KUNDE_TYP": buyer.get("type"),
        "KUNDE_STRASSE": address.get("street"), "KUNDE_PLZ": address.get("postal_code"),
        "KUNDE_ORT": address.get("city"), "KUNDE_LAND": address.get("country_code"),
        "KUNDE_USTID": buyer.get("vat_id_number"), "BON_NOTIZ": data.get("notes"),
    }


def _reference(ref: dict) -> dict:
    kind = ref["type"]
    row = {"POS_ZEILE": None, "REF_TYP": kind, "REF_NAME": None,
           "REF_DATUM": berlin_time(ref["date"]) if ref.get("date") is not None else None,
           "REF_Z_KASSE_ID": None, "REF_Z_NR": None, "REF_BON_ID": None}
    if kind == "Transaktion":
        row.update(REF_Z_KASSE_ID=ref["cash_register_export_id"], REF_Z_NR=ref["cash_point_closing_export_id"],
                   REF_BON_ID=ref["transaction_export_id"])
    elif kind == "ExterneSonstige":
        row.update(REF_NAME=ref["name"], REF_BON_ID=ref["external_other_export_id"])
    else:
        row.update(REF_BON_ID=ref["external_export_id"])
    return row


def _subitem(sub: dict, parts) -> dict:
    key, incl, excl, tax = parts
    return {"ZI_ART_NR": sub["number"], "ZI_GTIN": sub.get("gtin"), "ZI_NAME": sub.get("name"),
            "ZI_WARENGR_ID": sub.get("group_id"), "ZI_WARENGR": sub.get("group_name"), "ZI_MENGE": sub["quantity"],
            "ZI_FAKTOR": sub.get("quantity_factor"), "ZI_EINHEIT": sub.get("quantity_measure"),
            "ZI_UST_SCHLUESSEL": key, "ZI_BASISPREIS_BRUTTO": _d(incl), "ZI_BASISPREIS_NETTO": _d(excl),
            "ZI_BASISPREIS_UST": _d(tax)}


class _TseLinks:
    """The signing API's transactions the request names, fetched in three queries."""

    def __init__(self, payload: dict, context: ClosingContext):
        register = context.cash_register
        self.context = context
        self.used: dict[int, int] = {}  # transaction index -> TseTransaction pk
        self.seen: set[int] = set()
        tx_ids = {tx["security"]["tss_tx_id"] for tx in payload["transactions"] if tx["security"].get("tss_tx_id")}
        self.api = {str(row.tx_id): row for row in ApiTransaction.unscoped.select_related("transaction").filter(
            signing_unit_id=register.client.signing_unit_id, tx_id__in=tx_ids)}
        tse_pks = [row.transaction_id for row in self.api.values() if row.transaction_id is not None]
        self.taken = set(ClosingTransaction.unscoped.filter(tse_transaction_id__in=tse_pks)
                         .values_list("tse_transaction_id", flat=True))
        numbers = [row.transaction.number for row in self.api.values() if row.transaction is not None]
        self.finish = {}
        for log in (LogMessage.unscoped.filter(signing_unit_id=register.client.signing_unit_id,
                                               kind=LogMessageKind.TRANSACTION, operation_type=FINISH_OPERATION,
                                               transaction_number__in=numbers).order_by("-signature_counter")):
            self.finish[log.transaction_number] = log

    def row(self, tx: dict, index: int, bon_typ: str, tx_vat: dict, payments: list[dict], builder: _Builder, *,
            compare: bool):
        """The ``transactions_tse`` row; ``compare``: rebuild the processData (the amounts are consistent)."""
        security = tx["security"]
        security_path = join_path(join_path("transactions", index), "security")
        if security.get("error_message") is not None:
            return {"TSE_ID": 1, "TSE_TA_FEHLER": security["error_message"]}
        tx_path = join_path(security_path, "tss_tx_id")
        api = self.api.get(security["tss_tx_id"])
        client_pk = self.context.cash_register.client_id
        if api is None:
            builder.error(tx_path, "E_TSE_TRANSACTION_NOT_FOUND",
                          _("The signing unit of this cash register has no transaction with this id."))
            return None
        tse_tx = api.transaction
        if api.client_id != client_pk or (tse_tx is not None and tse_tx.client_id != client_pk):
            builder.error(tx_path, "E_TSE_CLIENT_MISMATCH",
                          _("The TSE transaction was signed for another client than this cash register."))
            return None
        finish = self.finish.get(tse_tx.number) if tse_tx is not None else None
        if tse_tx is None or tse_tx.state != TransactionState.FINISHED or finish is None:
            builder.error(tx_path, "E_TSE_TRANSACTION_NOT_FINISHED", _("The TSE transaction is not finished."))
            return None
        if tse_tx.pk in self.taken or tse_tx.pk in self.seen:
            builder.error(tx_path, "E_TSE_TRANSACTION_USED",
                          _("The TSE transaction belongs to another transaction of a closing already."))
            return None
        self.seen.add(tse_tx.pk)
        process_data = bytes(tse_tx.process_data).decode("utf-8", errors="replace")
        if tse_tx.process_type == KASSENBELEG and compare:
            expected = kassenbeleg_v1(
                bon_typ, {key: parts[0] for key, parts in tx_vat.items()},
                [(p["ZAHLART_TYP"], p["ZAHLWAEH_CODE"],
                  Decimal(p["ZAHLWAEH_BETRAG"] if p["ZAHLWAEH_BETRAG"] is not None else p["BASISWAEH_BETRAG"]))
                 for p in payments],
                base_currency=self.context.base_currency,
                custom_slots={key: slot for key, slot in self.context.vat_slots.items() if key >= 1000})
            if expected != process_data:
                builder.error(tx_path, "E_PROCESS_DATA_MISMATCH",
                              _("The TSE signed %(signed)r, the transaction gives %(expected)r.")
                              % {"signed": process_data, "expected": expected})
                return None
        self.used[index] = tse_tx.pk
        return {
            "TSE_ID": 1, "TSE_TANR": tse_tx.number, "TSE_TA_START": format_qr_time(tse_tx.time_start),
            "TSE_TA_ENDE": format_qr_time(finish.log_time), "TSE_TA_VORGANGSART": tse_tx.process_type,
            "TSE_TA_SIGZ": finish.signature_counter,
            "TSE_TA_SIG": base64.b64encode(signature_from_der(bytes(finish.der))).decode("ascii"),
            "TSE_TA_FEHLER": None, "TSE_VORGANGSDATEN": process_data,
        }


def build_document(payload: dict, context: ClosingContext) -> BuiltClosing:
    """The document of a structurally valid request (``closing_request.clean_closing_request``), or its errors."""
    return _Builder(payload, context).build()
