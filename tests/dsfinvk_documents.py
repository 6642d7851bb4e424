"""Consistent DSFinV-K closing documents for tests (format: ``exports/dsfinvk/document.py``).

``make_document(receipts, …)`` derives every sum the way the cross-file rules of dsfinvk.md §8
expect: line VAT splits → transaction VAT → businesscases, payments → payment.csv /
cash_per_currency.csv / ``Z_SE_*``, processData for the TSE row. ``make_master()`` is a master-data
snapshot like ``exports.services.master_data.current_master_data`` produces.

A receipt spec::

    {"bon_typ": "Beleg",                      # default
     "lines": [{"text": "Kaffee", "vat_key": 1, "gross": Decimal("3.20"), "qty": Decimal("1"),
                "gv_typ": "Umsatz"}],
     "payments": [{"typ": "Bar", "amount": Decimal("3.20")},
                  {"typ": "Bar", "amount": Decimal("5.00"), "currency": "CHF", "base": Decimal("5.20")}],
     "tse_failure": "TSE nicht erreichbar"}    # optional: the transaction was not signed
"""

import base64
import datetime as dt
import hashlib
from decimal import Decimal
from zoneinfo import ZoneInfo

from exports.dsfinvk.document import TAXONOMY_VERSION
from exports.dsfinvk.process_data import kassenbeleg_v1
from exports.dsfinvk.vat_keys import system_vat_rows

BERLIN = ZoneInfo("Europe/Berlin")
RATES = {1: Decimal("19"), 2: Decimal("7"), 3: Decimal("7.8"), 4: Decimal("5.5"), 5: Decimal("0"),
         6: Decimal("0"), 7: Decimal("0"), 8: Decimal("0")}
FIVE = Decimal("0.00001")
CENT = Decimal("0.01")
ZERO = Decimal("0")


def split(gross: Decimal, vat_key: int) -> tuple[Decimal, Decimal]:
    """(net, VAT) of a gross amount, net rounded to 5 decimals, VAT = gross − net."""
    rate = RATES[vat_key]
    net = (gross * 100 / (100 + rate)).quantize(FIVE)
    return net, gross - net


def d(value: Decimal) -> str:
    return f"{value:f}"


def berlin(value: dt.datetime) -> str:
    return value.astimezone(BERLIN).replace(microsecond=0).isoformat()


def utc_ms(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def make_master(kasse_id: str = "KASSE-01", *, certificate_length: int = 1400) -> dict:
    public_key = base64.b64encode(b"\x04" + hashlib.sha512(kasse_id.encode()).digest()[:64]).decode()
    certificate = (base64.b64encode(hashlib.sha512(kasse_id.encode()).digest() * 40).decode())[:certificate_length]
    return {
        "cashpointclosing": {"NAME": "Café Fiskal GmbH", "STRASSE": "Hauptstraße 1", "PLZ": "10115",
                             "ORT": "Berlin", "LAND": "DEU", "STNR": "1234567890123", "USTID": "DE123456789"},
        "location": {"LOC_NAME": "Filiale Mitte", "LOC_STRASSE": "Torstraße 5", "LOC_PLZ": "10119",
                     "LOC_ORT": "Berlin", "LOC_LAND": "DEU", "LOC_USTID": "DE123456789"},
        "cashregister": {"KASSE_BRAND": "Kassenbau", "KASSE_MODELL": "K1", "KASSE_SERIENNR": kasse_id,
                         "KASSE_SW_BRAND": "KassenSoft", "KASSE_SW_VERSION": "4.2",
                         "KASSE_BASISWAEH_CODE": "EUR", "KEINE_UST_ZUORDNUNG": False},
        "slaves": [], "pa": [],
        "tse": [{"TSE_ID": 1, "TSE_SERIAL": hashlib.sha256(base64.b64decode(public_key)).hexdigest(),
                 "TSE_SIG_ALGO": "ecdsa-plain-SHA256", "TSE_ZEITFORMAT": "unixTime", "TSE_PD_ENCODING": "UTF-8",
                 "TSE_PUBLIC_KEY": public_key, "certificate": certificate}],
        "vat": system_vat_rows(dt.date(2026, 11, 30)),
    }


def _transaction(spec: dict, bon_id: str, bon_nr: int, start: dt.datetime, tanr: int, sigz: int) -> dict:
    bon_typ = spec.get("bon_typ", "Beleg")
    lines, tx_vat = [], {}
    for number, line in enumerate(spec.get("lines", []), start=1):
        gross = line["gross"]
        net, vat = split(gross, line["vat_key"])
        qty = line.get("qty", Decimal("1"))
        lines.append({
            "line": {"POS_ZEILE": str(number), "ARTIKELTEXT": line["text"], "GV_TYP": line.get("gv_typ", "Umsatz"),
                     "INHAUS": True, "P_STORNO": False, "AGENTUR_ID": 0, "ART_NR": line.get("art_nr", f"A{number}"),
                     "MENGE": d(qty), "STK_BR": d((gross / qty).quantize(FIVE)) if qty else "0"},
            "vat": [{"UST_SCHLUESSEL": line["vat_key"], "POS_BRUTTO": d(gross), "POS_NETTO": d(net),
                     "POS_UST": d(vat)}],
            "amounts": [], "subitems": [],
        })
        total = tx_vat.setdefault(line["vat_key"], [ZERO, ZERO, ZERO])
        total[0] += gross
        total[1] += net
        total[2] += vat
    payments = []
    for payment in spec.get("payments", []):
        currency = payment.get("currency", "EUR")
        payments.append({"ZAHLART_TYP": payment["typ"], "ZAHLART_NAME": payment.get("name"),
                         "ZAHLWAEH_CODE": currency,
                         "ZAHLWAEH_BETRAG": d(payment["amount"]) if currency != "EUR" else None,
                         "BASISWAEH_BETRAG": d(payment.get("base", payment["amount"]))})
    gross_total = sum((v[0] for v in tx_vat.values()), ZERO)
    process_data = kassenbeleg_v1(
        bon_typ, {key: v[0] for key, v in tx_vat.items()},
        [(p["typ"], p.get("currency", "EUR"), p["amount"]) for p in spec.get("payments", [])], base_currency="EUR")
    end = start + dt.timedelta(seconds=40)
    if spec.get("tse_failure"):
        tse = {"TSE_ID": 1, "TSE_TA_FEHLER": spec["tse_failure"]}
    else:
        signature = base64.b64encode(hashlib.sha512(f"{bon_id}/{sigz}".encode()).digest()).decode()
        tse = {"TSE_ID": 1, "TSE_TANR": tanr, "TSE_TA_START": utc_ms(start), "TSE_TA_ENDE": utc_ms(end),
               "TSE_TA_VORGANGSART": "Kassenbeleg-V1", "TSE_TA_SIGZ": sigz, "TSE_TA_SIG": signature,
               "TSE_VORGANGSDATEN": process_data}
    return {
        "head": {"BON_ID": bon_id, "BON_NR": bon_nr, "BON_TYP": bon_typ, "BON_STORNO": False,
                 "BON_START": berlin(start), "BON_ENDE": berlin(end), "BEDIENER_ID": "1", "BEDIENER_NAME": "Anna",
                 "UMS_BRUTTO": d(gross_total.quantize(CENT))},
        "vat": [{"UST_SCHLUESSEL": key, "BON_BRUTTO": d(v[0]), "BON_NETTO": d(v[1]), "BON_UST": d(v[2])}
                for key, v in sorted(tx_vat.items())],
        "payments": payments, "allocation_groups": [], "references": [], "tse": [tse], "lines": lines,
    }


def make_document(receipts: list[dict], *, first_bon: int = 1, first_tanr: int = 1,
                  start: dt.datetime = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)) -> dict:
    """A closing document holding ``receipts`` (BON_IDs ``first_bon``…, one TSE transaction each)."""
    transactions = []
    for index, spec in enumerate(receipts):
        bon = first_bon + index
        transactions.append(_transaction(spec, str(bon), bon, start + dt.timedelta(minutes=5 * index),
                                         first_tanr + index, 2 * (first_tanr + index)))
    cases, pays, cash = {}, {}, {}
    total, total_cash = ZERO, ZERO
    for tx, spec in zip(transactions, receipts, strict=True):
        if tx["head"]["BON_TYP"] != "Beleg":
            continue
        for line in tx["lines"]:
            for vat in line["vat"]:
                key = (line["line"]["GV_TYP"], None, 0, vat["UST_SCHLUESSEL"])
                sums = cases.setdefault(key, [ZERO, ZERO, ZERO])
                sums[0] += Decimal(vat["POS_BRUTTO"])
                sums[1] += Decimal(vat["POS_NETTO"])
                sums[2] += Decimal(vat["POS_UST"])
        for payment in spec.get("payments", []):
            base = payment.get("base", payment["amount"])
            pays[(payment["typ"], payment.get("name"))] = pays.get((payment["typ"], payment.get("name")), ZERO) + base
            total += base
            if payment["typ"] == "Bar":
                total_cash += base
                currency = payment.get("currency", "EUR")
                cash[currency] = cash.get(currency, ZERO) + payment["amount"]
    bon_ids = [tx["head"]["BON_ID"] for tx in transactions]
    return {
        "cashpointclosing": {"TAXONOMIE_VERSION": TAXONOMY_VERSION, "Z_START_ID": bon_ids[0] if bon_ids else None,
                             "Z_ENDE_ID": bon_ids[-1] if bon_ids else None, "Z_SE_ZAHLUNGEN": d(total),
                             "Z_SE_BARZAHLUNGEN": d(total_cash)},
        "businesscases": [{"GV_TYP": k[0], "GV_NAME": k[1], "AGENTUR_ID": k[2], "UST_SCHLUESSEL": k[3],
                           "Z_UMS_BRUTTO": d(v[0]), "Z_UMS_NETTO": d(v[1]), "Z_UST": d(v[2])}
                          for k, v in sorted(cases.items(), key=lambda item: (item[0][0], item[0][3]))],
        "payment": [{"ZAHLART_TYP": k[0], "ZAHLART_NAME": k[1], "Z_ZAHLART_BETRAG": d(v)}
                    for k, v in sorted(pays.items(), key=lambda item: (item[0][0], item[0][1] or ""))],
        "cash_per_currency": [{"ZAHLART_WAEH": k, "ZAHLART_BETRAG_WAEH": d(v)} for k, v in sorted(cash.items())],
        "transactions": transactions,
    }


def simple_receipts(count: int) -> list[dict]:
    """``count`` receipts: coffee (19 %) and cake (7 %), alternating cash and card."""
    receipts = []
    for n in range(count):
        coffee, cake = Decimal("3.20"), Decimal("4.50") if n % 3 else Decimal("0.00")
        lines = [{"text": "Kaffee", "vat_key": 1, "gross": coffee}]
        if cake:
            lines.append({"text": "Kuchen", "vat_key": 2, "gross": cake})
        receipts.append({"lines": lines, "payments": [{"typ": "Bar" if n % 2 == 0 else "ECKarte",
                                                       "amount": coffee + cake}]})
    return receipts
