"""``Kassenbeleg-V1`` processData rebuilt from DSFinV-K data (dsfinvk.md §9.2, §8 rule 12).

The intake compares it with the processData the TSE signed; the validator rebuilds it from the
exported files. Both use this one function, on top of the formatting of ``tse.receipts``.
"""

from decimal import Decimal

from tse.receipts.process_data import VAT_KEY_SLOTS, VAT_RATES, format_amount, format_payments

__all__ = ["kassenbeleg_v1", "payment_class", "slot_of"]

_ZERO = Decimal("0.00")


def payment_class(zahlart_typ: str) -> str | None:
    """``Bar`` or ``Unbar`` for a ``ZAHLART_TYP``; ``None`` for ``Keine`` (no entry)."""
    if zahlart_typ == "Bar":
        return "Bar"
    if zahlart_typ == "Keine":
        return None
    return "Unbar"


def slot_of(vat_key: int, custom_slots: dict[int, str]) -> str:
    """The processData slot of a VAT key: Anlage 2 keys fixed, individual keys (≥ 1000) from vat.csv."""
    if vat_key in VAT_KEY_SLOTS:
        return VAT_KEY_SLOTS[vat_key]
    return custom_slots[vat_key]


def kassenbeleg_v1(bon_typ: str, gross_by_vat_key: dict[int, Decimal],
                   payments: list[tuple[str, str, Decimal]], *, base_currency: str,
                   custom_slots: dict[int, str] | None = None) -> str:
    """``<BON_TYP>^<5 gross amounts>^<payments>``.

    ``gross_by_vat_key``: the transaction's gross per ``UST_SCHLUESSEL`` (transactions_vat.csv);
    ``payments``: ``(ZAHLART_TYP, currency, amount)`` with the foreign amount for a foreign
    currency and the base amount otherwise (datapayment.csv). ``KeyError`` for an unknown key.
    """
    slots = dict.fromkeys(VAT_RATES, _ZERO)
    for key, gross in gross_by_vat_key.items():
        slot = slot_of(key, custom_slots or {})
        slots[slot] += gross
    totals: dict[tuple[str, str], Decimal] = {}
    for zahlart_typ, currency, amount in payments:
        klass = payment_class(zahlart_typ)
        if klass is not None:
            totals[(klass, currency)] = totals.get((klass, currency), _ZERO) + amount
    gross = "_".join(format_amount(slots[rate]) for rate in VAT_RATES)
    return f"{bon_typ}^{gross}^{format_payments(totals, base_currency)}"
