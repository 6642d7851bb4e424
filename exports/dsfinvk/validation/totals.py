"""Closing sums and receipt consistency (reference/dsfinvk.md §8 rules 5–11).

Only ``Beleg`` transactions count towards the closing module. Sums of values that the files carry
with the same accuracy are compared exactly; where printed (rounded) values meet sums of
unrounded ones a tolerance applies:

- ``E_BUSINESSCASES_SUM``: businesscases.csv ≠ Σ lines_vat.csv (POS_BRUTTO/NETTO/UST) of Beleg
  lines per (GV_TYP, GV_NAME, AGENTUR_ID, UST_SCHLUESSEL) — gross exactly, net and VAT within
  0.00001·k (k = the line rows summed: a POS may derive them from the group's gross, one
  5-decimal rounding per line at most). The intake applies the same rule.
- ``E_PAYMENT_SUM``: payment.csv ≠ Σ BASISWAEH_BETRAG of Beleg payments per (ZAHLART_TYP, ZAHLART_NAME).
- ``E_CASH_PER_CURRENCY_SUM``: cash_per_currency.csv ≠ Σ Bar payments per currency (ZAHLWAEH_BETRAG
  for a foreign currency, BASISWAEH_BETRAG for the base currency KASSE_BASISWAEH_CODE);
  ``E_FOREIGN_AMOUNT_MISSING``: a foreign-currency payment without ZAHLWAEH_BETRAG.
- ``E_Z_SE_ZAHLUNGEN`` / ``E_Z_SE_BARZAHLUNGEN``: ≠ Σ all / Σ Bar Beleg payments (base currency).
- ``E_UMS_BRUTTO_VAT``: UMS_BRUTTO (2 decimals, as printed) differs from Σ BON_BRUTTO by more than
  0.005 (one rounding to cents);
  ``E_UMS_BRUTTO_PAYMENTS``: UMS_BRUTTO of a Beleg ≠ Σ of its payments (base currency), exact.
- ``E_LINES_VAT_MISMATCH``: |Σ lines_vat − transactions_vat| per (BON_ID, UST_SCHLUESSEL), for
  gross, net and VAT, above ``0.005 + 0.00001·n`` (n = the line VAT rows summed): the receipt's
  per-key values are printed, i.e. rounded to cents once (≤ 0.005), and every line value may be
  rounded to 5 decimals (≤ 0.00001 each, generously).
- ``E_VAT_SPLIT``: gross ≠ net + VAT in a row of transactions_vat, lines_vat, itemamounts, subitems
  (tolerance 0.00001: one 5-decimal rounding) or businesscases (0.00001·k, k = lines summed into
  the row).
- ``E_BELEG_WITHOUT_LINES`` / ``E_BELEG_WITHOUT_PAYMENT`` (unless UMS_BRUTTO is 0),
  ``E_BON_NAME_MISSING`` (AVSonstige), ``E_PAYMENT_NOT_ALLOWED`` (a payment other than ``Keine``
  in an AVTraining/AVBelegabbruch/AVSachbezug/AVBestellung transaction).
"""

from collections import defaultdict
from decimal import Decimal

from exports.dsfinvk.validation.lookup import ClosingLookup
from exports.dsfinvk.validation.reading import CLOSING_FILE, Closing
from exports.dsfinvk.validation.report import Findings
from exports.dsfinvk.validation.values import decimal, integer

__all__ = ["check_totals"]

ZERO = Decimal(0)
UNIT = Decimal("0.00001")
PRINT_ROUNDING = Decimal("0.005")
NO_PAYMENT_TYPES = frozenset({"AVTraining", "AVBelegabbruch", "AVSachbezug", "AVBestellung"})
_SPLITS = (("transactions_vat.csv", ("BON_BRUTTO", "BON_NETTO", "BON_UST")),
           ("lines_vat.csv", ("POS_BRUTTO", "POS_NETTO", "POS_UST")),
           ("itemamounts.csv", ("PF_BRUTTO", "PF_NETTO", "PF_UST")),
           ("subitems.csv", ("ZI_BASISPREIS_BRUTTO", "ZI_BASISPREIS_NETTO", "ZI_BASISPREIS_UST")))


def _fmt(values) -> str:
    return "/".join(f"{value:f}" for value in values)


def _compare(file: str, code: str, expected: dict, actual: dict, lines: dict, findings: Findings, what: str,
             tolerance=None) -> None:
    """``tolerance(key)``: allowed deviation per component (default: exact)."""
    for key in sorted(set(expected) | set(actual), key=str):
        want = expected.get(key)
        have = actual.get(key)
        zero = (ZERO,) * len(want or have)
        allowed = tolerance(key) if tolerance is not None else (ZERO,) * len(zero)
        if any(abs(a - b) > limit for a, b, limit in zip(want or zero, have or zero, allowed, strict=True)):
            findings.error(code, file, lines.get(key), f"{what} {key}: {_fmt(have or zero)} in the file, "
                           f"{_fmt(want or zero)} from the transactions")


def _splits(closing: Closing, findings: Findings) -> None:
    for file, (gross, net, vat) in _SPLITS:
        for row in closing[file]:
            if row[gross] and row[net] and row[vat]:
                _split(file, row, gross, net, vat, UNIT, findings)


def _split(file, row, gross, net, vat, tolerance, findings) -> None:
    if abs(decimal(row[gross]) - decimal(row[net]) - decimal(row[vat])) > tolerance:
        findings.error("E_VAT_SPLIT", file, row.line, f"{gross} {row[gross]} ≠ {net} {row[net]} + {vat} {row[vat]}")


def _businesscases(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    expected: dict = defaultdict(lambda: [ZERO, ZERO, ZERO])
    counts: dict = defaultdict(int)
    for row in closing["lines_vat.csv"]:
        line = lookup.lines.get((row["BON_ID"], row["POS_ZEILE"]))
        if line is None or lookup.bon_typ(row["BON_ID"]) != "Beleg":
            continue
        key = (line["GV_TYP"], line["GV_NAME"], integer(line["AGENTUR_ID"]) or 0, integer(row["UST_SCHLUESSEL"]))
        sums = expected[key]
        for number, column in enumerate(("POS_BRUTTO", "POS_NETTO", "POS_UST")):
            sums[number] += decimal(row[column])
        counts[key] += 1
    actual: dict = {}
    lines: dict = {}
    for row in closing["businesscases.csv"]:
        key = (row["GV_TYP"], row["GV_NAME"], integer(row["AGENTUR_ID"]) or 0, integer(row["UST_SCHLUESSEL"]))
        if key in actual:
            findings.error("E_DUPLICATE_KEY", "businesscases.csv", row.line, f"business case {key} repeated")
        values = tuple(decimal(row[c]) for c in ("Z_UMS_BRUTTO", "Z_UMS_NETTO", "Z_UST"))
        actual[key] = tuple(a + b for a, b in zip(actual.get(key, (ZERO,) * 3), values, strict=True))
        lines.setdefault(key, row.line)
        _split("businesscases.csv", row, "Z_UMS_BRUTTO", "Z_UMS_NETTO", "Z_UST", UNIT * max(1, counts.get(key, 1)),
               findings)
    _compare("businesscases.csv", "E_BUSINESSCASES_SUM", {k: tuple(v) for k, v in expected.items()}, actual, lines,
             findings, "business case", tolerance=lambda key: (ZERO, UNIT * counts[key], UNIT * counts[key]))


def _payments(closing: Closing, lookup: ClosingLookup, findings: Findings) -> tuple[Decimal, Decimal]:
    base = lookup.base_currency
    by_type: dict = defaultdict(lambda: ZERO)
    cash: dict = defaultdict(lambda: ZERO)
    total = total_cash = ZERO
    for row in closing["datapayment.csv"]:
        if lookup.bon_typ(row["BON_ID"]) != "Beleg":
            continue
        amount = decimal(row["BASISWAEH_BETRAG"])
        by_type[(row["ZAHLART_TYP"], row["ZAHLART_NAME"])] += amount
        total += amount
        if row["ZAHLART_TYP"] != "Bar":
            continue
        total_cash += amount
        currency = row["ZAHLWAEH_CODE"] or base
        if currency == base:
            cash[currency] += amount
        elif not row["ZAHLWAEH_BETRAG"]:
            findings.error("E_FOREIGN_AMOUNT_MISSING", "datapayment.csv", row.line,
                           f"a payment in {currency} without ZAHLWAEH_BETRAG")
        else:
            cash[currency] += decimal(row["ZAHLWAEH_BETRAG"])
    actual, lines = {}, {}
    for row in closing["payment.csv"]:
        key = (row["ZAHLART_TYP"], row["ZAHLART_NAME"])
        actual[key] = (actual.get(key, (ZERO,))[0] + decimal(row["Z_ZAHLART_BETRAG"]),)
        lines.setdefault(key, row.line)
    _compare("payment.csv", "E_PAYMENT_SUM", {k: (v,) for k, v in by_type.items()}, actual, lines, findings,
             "payment type")
    actual, lines = {}, {}
    for row in closing["cash_per_currency.csv"]:
        key = row["ZAHLART_WAEH"]
        actual[key] = (actual.get(key, (ZERO,))[0] + decimal(row["ZAHLART_BETRAG_WAEH"]),)
        lines.setdefault(key, row.line)
    _compare("cash_per_currency.csv", "E_CASH_PER_CURRENCY_SUM", {k: (v,) for k, v in cash.items()}, actual, lines,
             findings, "currency")
    return total, total_cash


def _closing_sums(closing: Closing, total: Decimal, total_cash: Decimal, findings: Findings) -> None:
    rows = closing[CLOSING_FILE]
    if not rows:
        return
    head = rows[0]
    for column, expected in (("Z_SE_ZAHLUNGEN", total), ("Z_SE_BARZAHLUNGEN", total_cash)):
        if decimal(head[column]) != expected:
            findings.error(f"E_{column}", CLOSING_FILE, head.line,
                           f"{column} is {head[column]}, the Beleg payments sum to {expected:f}")


def _receipts(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    for row in closing["transactions.csv"]:
        bon_id, bon_typ = row["BON_ID"], row["BON_TYP"]
        if lookup.heads.get(bon_id) is not row:
            continue  # a repeated BON_ID (reported by the references check)
        total = decimal(row["UMS_BRUTTO"])
        vat_total = sum((decimal(v["BON_BRUTTO"]) for v in lookup.transaction_vat.get(bon_id, [])), ZERO)
        if abs(total - vat_total) > PRINT_ROUNDING:
            findings.error("E_UMS_BRUTTO_VAT", "transactions.csv", row.line,
                           f"UMS_BRUTTO {row['UMS_BRUTTO']} ≠ Σ BON_BRUTTO {vat_total:f}")
        payments = lookup.payments.get(bon_id, [])
        if bon_typ == "Beleg":
            if not lookup.lines_by_bon.get(bon_id):
                findings.error("E_BELEG_WITHOUT_LINES", "transactions.csv", row.line, f"Beleg {bon_id} has no lines")
            if not payments and total != 0:
                findings.error("E_BELEG_WITHOUT_PAYMENT", "transactions.csv", row.line,
                               f"Beleg {bon_id} has no payments")
            paid = sum((decimal(p["BASISWAEH_BETRAG"]) for p in payments), ZERO)
            if payments and paid != total:
                findings.error("E_UMS_BRUTTO_PAYMENTS", "transactions.csv", row.line,
                               f"UMS_BRUTTO {row['UMS_BRUTTO']} ≠ Σ payments {paid:f}")
        elif bon_typ == "AVSonstige" and not row["BON_NAME"]:
            findings.error("E_BON_NAME_MISSING", "transactions.csv", row.line, "AVSonstige needs a BON_NAME")
        if bon_typ in NO_PAYMENT_TYPES:
            for payment in payments:
                if payment["ZAHLART_TYP"] != "Keine":
                    findings.error("E_PAYMENT_NOT_ALLOWED", "datapayment.csv", payment.line,
                                   f"{bon_typ} {bon_id} carries a {payment['ZAHLART_TYP']} payment")


def _lines_against_transactions(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    sums: dict = defaultdict(lambda: [ZERO, ZERO, ZERO, 0])
    for row in closing["lines_vat.csv"]:
        entry = sums[(row["BON_ID"], integer(row["UST_SCHLUESSEL"]))]
        for number, column in enumerate(("POS_BRUTTO", "POS_NETTO", "POS_UST")):
            entry[number] += decimal(row[column])
        entry[3] += 1
    seen = set()
    for row in closing["transactions_vat.csv"]:
        key = (row["BON_ID"], integer(row["UST_SCHLUESSEL"]))
        seen.add(key)
        entry = sums.get(key, [ZERO, ZERO, ZERO, 0])
        header = [decimal(row[c]) for c in ("BON_BRUTTO", "BON_NETTO", "BON_UST")]
        tolerance = PRINT_ROUNDING + UNIT * entry[3]
        if any(abs(a - b) > tolerance for a, b in zip(entry[:3], header, strict=True)):
            findings.error("E_LINES_VAT_MISMATCH", "transactions_vat.csv", row.line,
                           f"BON_ID {key[0]} key {key[1]}: {_fmt(header)} ≠ Σ lines {_fmt(entry[:3])}")
    for key, entry in sums.items():
        if key not in seen and any(abs(value) > PRINT_ROUNDING + UNIT * entry[3] for value in entry[:3]):
            findings.error("E_LINES_VAT_MISMATCH", "transactions_vat.csv", None,
                           f"BON_ID {key[0]} key {key[1]}: no row, Σ lines {_fmt(entry[:3])}")


def check_totals(closing: Closing, lookup: ClosingLookup, findings: Findings) -> None:
    _splits(closing, findings)
    _businesscases(closing, lookup, findings)
    total, total_cash = _payments(closing, lookup, findings)
    _closing_sums(closing, total, total_cash, findings)
    _receipts(closing, lookup, findings)
    _lines_against_transactions(closing, lookup, findings)
