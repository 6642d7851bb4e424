"""Property tests: every valid export passes; every tampered sum is caught.

Random closings (receipts of 1–6 lines with VAT keys 1, 2, 5 and gross amounts in cents — refunds
included —, 0–3 payments summing to the total in Bar/ECKarte/Kreditkarte/Unbar, optionally part
of it paid in CHF cash, optionally signed during a TSE failure; 1–3 closings per register, 1–2
registers) are written with the real writer and must validate without errors. Changing one value
in the file a rule covers must make the validator report that rule's code.
"""

import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.dsfinvk.validator import validate_export
from tests.dsfinvk_documents import make_master
from tests.dsfinvk_validation.archives import bump, closing, codes, edit_csv, error_codes, export

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAMPER_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NON_CASH = ("ECKarte", "Kreditkarte", "Unbar")


def _money(cents: int) -> Decimal:
    return Decimal(cents) / 100


lines = st.lists(st.fixed_dictionaries({
    "text": st.sampled_from(["Kaffee", "Kuchen", "Pfand; zurück", 'Brot "Dinkel"']),
    "vat_key": st.sampled_from([1, 2, 5]),
    "gross": st.integers(-5000, 20000).map(_money),
    "qty": st.sampled_from([Decimal("1"), Decimal("2"), Decimal("0.5")]),
}), min_size=1, max_size=6)


@st.composite
def receipts(draw) -> dict:
    items = draw(lines)
    total = sum((item["gross"] for item in items), Decimal(0))
    count = draw(st.integers(1 if total else 0, 3))
    parts = [_money(draw(st.integers(-3000, 10000))) for _ in range(max(count - 1, 0))]
    if count:
        parts.append(total - sum(parts, Decimal(0)))
    payments = [{"typ": draw(st.sampled_from(("Bar",) + NON_CASH)), "amount": part} for part in parts]
    if payments and draw(st.booleans()):
        base = payments[0]["amount"]
        payments[0] = {"typ": "Bar", "currency": "CHF", "base": base,
                       "amount": _money(draw(st.integers(-3000, 10000)))}
    receipt = {"lines": items, "payments": payments}
    if draw(st.integers(0, 9)) == 0:
        receipt["tse_failure"] = "TSE nicht erreichbar"
    return receipt


@st.composite
def exports(draw) -> bytes:
    records = []
    for register in range(draw(st.integers(1, 2))):
        kasse = f"KASSE-{register + 1:02d}"
        master = make_master(kasse, certificate_length=draw(st.sampled_from([900, 1400, 2600])))
        bon = tanr = 1
        for z_nr in range(1, draw(st.integers(1, 3)) + 1):
            specs = draw(st.lists(receipts(), min_size=1, max_size=4))
            records.append(closing(z_nr, specs, kasse=kasse, first_bon=bon, first_tanr=tanr, master=master))
            bon += len(specs)
            tanr += len(specs) + draw(st.integers(0, 3))  # TSE numbers may skip (other clients)
    return export(records)


def _report(data: bytes):
    return validate_export(io.BytesIO(data))


@SETTINGS
@given(exports())
def test_every_written_export_passes(data):
    report = _report(data)
    assert report.passed, report.findings
    assert codes(report) <= {"W_TSE_FAILURE"}


def _tamper(file: str, column: str, change=bump, only=lambda row: True):
    """Change ``column`` in one drawn row of ``file`` (among those with a value and matching ``only``)."""

    def tamper(data: bytes, draw) -> bytes | None:
        chosen = {}

        def edit(rows):
            candidates = [i for i, row in enumerate(rows) if row[column] and only(row)]
            if not candidates:
                return
            index = draw(st.sampled_from(candidates))
            rows[index][column] = change(rows[index][column])
            chosen["row"] = index

        result = edit_csv(data, file, edit)
        return result if chosen else None

    return tamper


def _signed(row: dict) -> bool:
    return bool(row["TSE_TA_SIG"])


def _repeat_counter(data: bytes, draw) -> bytes | None:
    """A signed transaction gets the signature counter of the register's signed transaction before it."""
    chosen = {}

    def edit(rows):
        previous, candidates = {}, []
        for row in rows:
            if _signed(row):
                if row["Z_KASSE_ID"] in previous:
                    candidates.append((row, previous[row["Z_KASSE_ID"]]))
                previous[row["Z_KASSE_ID"]] = row["TSE_TA_SIGZ"]
        if candidates:
            row, counter = draw(st.sampled_from(candidates))
            row["TSE_TA_SIGZ"] = counter
            chosen["row"] = row

    result = edit_csv(data, "transactions_tse.csv", edit)
    return result if chosen else None


TAMPERS = {
    "E_BUSINESSCASES_SUM": _tamper("businesscases.csv", "Z_UMS_BRUTTO"),
    "E_PAYMENT_SUM": _tamper("payment.csv", "Z_ZAHLART_BETRAG"),
    "E_CASH_PER_CURRENCY_SUM": _tamper("cash_per_currency.csv", "ZAHLART_BETRAG_WAEH"),
    "E_Z_SE_ZAHLUNGEN": _tamper("cashpointclosing.csv", "Z_SE_ZAHLUNGEN"),
    "E_Z_SE_BARZAHLUNGEN": _tamper("cashpointclosing.csv", "Z_SE_BARZAHLUNGEN"),
    "E_UMS_BRUTTO_VAT": _tamper("transactions.csv", "UMS_BRUTTO"),
    "E_LINES_VAT_MISMATCH": _tamper("transactions_vat.csv", "BON_BRUTTO"),
    "E_VAT_SPLIT": _tamper("lines_vat.csv", "POS_UST"),
    "E_PROCESS_DATA": _tamper("transactions_tse.csv", "TSE_VORGANGSDATEN", lambda v: v.replace("^", "^1", 1),
                              only=_signed),
    "E_TSE_SIGZ_ORDER": _repeat_counter,
}
# a changed payment amount in datapayment.csv breaks the payment sums of the closing
PAYMENT_TAMPERS = {
    "E_PAYMENT_SUM": _tamper("datapayment.csv", "BASISWAEH_BETRAG"),
    "E_Z_SE_ZAHLUNGEN": _tamper("datapayment.csv", "BASISWAEH_BETRAG"),
    "E_UMS_BRUTTO_PAYMENTS": _tamper("datapayment.csv", "BASISWAEH_BETRAG"),
}


def _caught(code: str, tamper, data: bytes, draw) -> None:
    changed = tamper(data, draw)
    if changed is None:  # nothing to change in this export (e.g. no cash payment)
        return
    report = _report(changed)
    assert code in error_codes(report), report.findings
    assert not report.passed


@pytest.mark.parametrize("code", sorted(TAMPERS))
@TAMPER_SETTINGS
@given(data=exports(), draw=st.data())
def test_a_tampered_file_is_caught(code, data, draw):
    _caught(code, TAMPERS[code], data, draw.draw)


@pytest.mark.parametrize("code", sorted(PAYMENT_TAMPERS))
@TAMPER_SETTINGS
@given(data=exports(), draw=st.data())
def test_a_tampered_payment_is_caught(code, data, draw):
    _caught(code, PAYMENT_TAMPERS[code], data, draw.draw)
