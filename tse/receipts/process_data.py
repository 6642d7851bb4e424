"""DSFinV-K processType / processData for FinishTransaction (DSFinV-K Anhang I; dsfinvk.md §9).

Input is the fiskaly-style ``schema.standard_v1`` payload (api-conventions.md §1.6):

* ``receipt`` → ``Kassenbeleg-V1``:
  ``<BON_TYP>^<5 gross amounts: NORMAL_REDUCED_1_SPECIAL_RATE_1_SPECIAL_RATE_2_NULL>^<payments>``,
  payments ``<amount>:Bar|Unbar[:<ISO 4217 code>]`` joined by ``_`` — accumulated per
  (class, currency), zero entries omitted, ``Bar`` before ``Unbar``, base currency before foreign
  currencies, foreign currencies alphabetically, the code written only for foreign currencies;
* ``order`` → ``Bestellung-V1``: one ``<quantity>;"<text>";<unit price>`` line per item, lines
  separated by CR (``\\r``);
* ``other`` → ``SonstigerVorgang``: free text.

Money is handled as :class:`~decimal.Decimal` only (floats are refused): dot decimal, exactly two
decimals, no grouping, ``-`` for negatives, never ``-0.00``. Amounts may carry more decimal places
only when they are zeros (fiskaly sends ``"11.90000"``); anything that would need rounding is an
error, because processData must equal the printed receipt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

PROCESS_TYPE_RECEIPT = "Kassenbeleg-V1"
PROCESS_TYPE_ORDER = "Bestellung-V1"
PROCESS_TYPE_OTHER = "SonstigerVorgang"

#: fiskaly ``receipt_type`` → DSFinV-K ``BON_TYP`` (api-conventions.md §1.6). ``AVBelegstorno``
#: is accepted because fiskaly accepts it, although it cannot occur with a TSE (dsfinvk.md §12.13):
#: cancellations are new negative ``Beleg`` receipts.
RECEIPT_TYPES: dict[str, str] = {
    "RECEIPT": "Beleg",
    "TRAINING": "AVTraining",
    "TRANSFER": "AVTransfer",
    "ORDER": "AVBestellung",
    "CANCELLATION": "AVBelegabbruch",
    "ABORT": "AVBelegabbruch",
    "BENEFIT_IN_KIND": "AVSachbezug",
    "INVOICE": "AVRechnung",
    "OTHER": "AVSonstige",
    "ANNULATION": "AVBelegstorno",
}

#: The five gross-amount slots of ``Kassenbeleg-V1``, in their fixed order.
VAT_RATES: tuple[str, ...] = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")

#: DSFinV-K ``UST_SCHLUESSEL`` (Anlage 2, incl. historic keys) → slot (dsfinvk.md §9.2, §6.7).
VAT_KEY_SLOTS: dict[int, str] = {
    1: "NORMAL", 11: "NORMAL", 21: "NORMAL",
    2: "REDUCED_1", 12: "REDUCED_1", 22: "REDUCED_1",
    3: "SPECIAL_RATE_1", 13: "SPECIAL_RATE_1", 23: "SPECIAL_RATE_1", 33: "SPECIAL_RATE_1", 43: "SPECIAL_RATE_1",
    4: "SPECIAL_RATE_2",
    5: "NULL", 6: "NULL", 7: "NULL", 8: "NULL",
}  # fmt: skip

#: fiskaly ``payment_type`` → DSFinV-K payment class in processData.
PAYMENT_TYPES: dict[str, str] = {"CASH": "Bar", "NON_CASH": "Unbar"}

BASE_CURRENCY = "EUR"
ORDER_TEXT_MAX_LENGTH = 255
AMOUNT_DECIMALS = 2
QUANTITY_DECIMALS = 5

_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class FieldError:
    """One validation problem: ``path`` like ``amounts_per_vat_rate[1].vat_rate``, a stable
    ``code`` and a translatable ``message``."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": str(self.message)}


class ReceiptDataError(ValueError):
    """The payload cannot be turned into processData; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{error.path or '<root>'}: {error.code}" for error in self.errors))


@dataclass(frozen=True)
class ProcessData:
    process_type: str
    process_data: str


class _Collector:
    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def path(self, *parts: str | int) -> str:
        path = self.prefix
        for part in parts:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path = f"{path}.{part}" if path else part
        return path

    def add(self, path: str, code: str, message: Any) -> None:
        self.errors.append(FieldError(path, code, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ReceiptDataError(self.errors)


# --- numbers -----------------------------------------------------------------------------------


def _decimal(value: Any, path: str, errors: _Collector, *, places: int) -> Decimal | None:
    """``value`` (str / Decimal / int, never float or bool) as a Decimal with at most ``places``
    significant decimal places, or ``None`` after recording an error."""
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        errors.add(path, "invalid_type", _("Enter the amount as a decimal string, not as a floating-point number."))
        return None
    if isinstance(value, str):
        if not _NUMBER_RE.match(value):
            errors.add(path, "invalid_decimal", _("Enter a decimal number with a dot as decimal separator."))
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex only admits valid literals
            errors.add(path, "invalid_decimal", _("Enter a decimal number with a dot as decimal separator."))
            return None
    else:
        number = Decimal(value)
    if not number.is_finite():
        errors.add(path, "invalid_decimal", _("Enter a finite decimal number."))
        return None
    exponent = Decimal(1).scaleb(-places)
    try:
        quantized = number.quantize(exponent)
    except InvalidOperation:
        errors.add(path, "invalid_decimal", _("The number is too large."))
        return None
    if quantized != number:
        if places == AMOUNT_DECIMALS:
            message = _("Enter an amount with at most 2 decimal places.")
        else:
            message = _("Enter a quantity with at most 5 decimal places.")
        errors.add(path, "too_many_decimals", message)
        return None
    return number


def format_amount(value: Decimal) -> str:
    """``-12.30``: dot decimal, exactly two places, no grouping, no negative zero."""
    if not isinstance(value, Decimal):
        raise TypeError("amounts must be Decimal")
    quantized = value.quantize(_CENT)
    if quantized == 0:
        quantized = Decimal("0.00")
    return f"{quantized:f}"


def format_quantity(value: Decimal) -> str:
    """``1``, ``0.5``, ``-2``: dot decimal without superfluous zeros, no exponent."""
    if not isinstance(value, Decimal):
        raise TypeError("quantities must be Decimal")
    if value == 0:
        return "0"
    return f"{value.normalize():f}"


def vat_rate_for_key(key: int) -> str:
    """The processData slot (``NORMAL`` … ``NULL``) of a DSFinV-K VAT key (``UST_SCHLUESSEL``).

    Individual keys (≥ 1000) have no fixed slot; the caller must map them from vat.csv.
    """
    if isinstance(key, bool) or not isinstance(key, int) or key not in VAT_KEY_SLOTS:
        raise ValueError(f"VAT key {key!r} has no fixed processData slot")
    return VAT_KEY_SLOTS[key]


def _check_keys(data: dict, allowed: set[str], errors: _Collector, *parts: str | int) -> None:
    for key in data:
        if key not in allowed:
            errors.add(errors.path(*parts, str(key)), "unknown_field", _("This field is not allowed here."))


def _check_base_currency(base_currency: str) -> None:
    if not isinstance(base_currency, str) or not _CURRENCY_RE.match(base_currency):
        raise ValueError(f"base currency {base_currency!r} is not an ISO 4217 code")


# --- Kassenbeleg-V1 ----------------------------------------------------------------------------


def _receipt_amounts(receipt: dict, errors: _Collector) -> dict[str, Decimal]:
    amounts = {rate: Decimal("0.00") for rate in VAT_RATES}
    items = receipt.get("amounts_per_vat_rate")
    if items is None:
        errors.add(errors.path("amounts_per_vat_rate"), "required", _("This field is required."))
        return amounts
    if not isinstance(items, list):
        errors.add(errors.path("amounts_per_vat_rate"), "invalid_type", _("Enter a list."))
        return amounts
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.add(errors.path("amounts_per_vat_rate", index), "invalid_type", _("Enter an object."))
            continue
        _check_keys(item, {"vat_rate", "amount"}, errors, "amounts_per_vat_rate", index)
        rate = item.get("vat_rate")
        rate_path = errors.path("amounts_per_vat_rate", index, "vat_rate")
        if rate is None:
            errors.add(rate_path, "required", _("This field is required."))
        elif not isinstance(rate, str) or rate not in VAT_RATES:
            errors.add(
                rate_path,
                "invalid_choice",
                _("Unknown VAT rate; use NORMAL, REDUCED_1, SPECIAL_RATE_1, SPECIAL_RATE_2 or NULL."),
            )
            rate = None
        elif rate in seen:
            errors.add(rate_path, "duplicate", _("Each VAT rate may appear only once."))
            rate = None
        else:
            seen.add(rate)
        amount_path = errors.path("amounts_per_vat_rate", index, "amount")
        if "amount" not in item:
            errors.add(amount_path, "required", _("This field is required."))
            continue
        amount = _decimal(item["amount"], amount_path, errors, places=AMOUNT_DECIMALS)
        if rate is not None and amount is not None:
            amounts[rate] = amount
    return amounts


def _receipt_payments(
    receipt: dict, errors: _Collector, base_currency: str
) -> tuple[dict[tuple[str, str], Decimal], bool]:
    """Payments accumulated per (class, currency); the flag tells whether any were given."""
    totals: dict[tuple[str, str], Decimal] = {}
    items = receipt.get("amounts_per_payment_type")
    if items is None:
        return totals, False
    if not isinstance(items, list):
        errors.add(errors.path("amounts_per_payment_type"), "invalid_type", _("Enter a list."))
        return totals, True
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.add(errors.path("amounts_per_payment_type", index), "invalid_type", _("Enter an object."))
            continue
        _check_keys(item, {"payment_type", "amount", "currency_code"}, errors, "amounts_per_payment_type", index)
        payment_type = item.get("payment_type")
        type_path = errors.path("amounts_per_payment_type", index, "payment_type")
        payment_class = None
        if payment_type is None:
            errors.add(type_path, "required", _("This field is required."))
        elif not isinstance(payment_type, str) or payment_type not in PAYMENT_TYPES:
            errors.add(type_path, "invalid_choice", _("Unknown payment type; use CASH or NON_CASH."))
        else:
            payment_class = PAYMENT_TYPES[payment_type]
        currency = item.get("currency_code", base_currency)
        if not isinstance(currency, str) or not _CURRENCY_RE.match(currency):
            errors.add(
                errors.path("amounts_per_payment_type", index, "currency_code"),
                "invalid_currency",
                _("Enter an ISO 4217 currency code of three capital letters."),
            )
            currency = None
        amount_path = errors.path("amounts_per_payment_type", index, "amount")
        if "amount" not in item:
            errors.add(amount_path, "required", _("This field is required."))
            continue
        amount = _decimal(item["amount"], amount_path, errors, places=AMOUNT_DECIMALS)
        if payment_class is not None and currency is not None and amount is not None:
            key = (payment_class, currency)
            totals[key] = totals.get(key, Decimal("0.00")) + amount
    return totals, bool(items)


def format_payments(totals: dict[tuple[str, str], Decimal], base_currency: str) -> str:
    """The payment group of ``Kassenbeleg-V1`` from totals per (``Bar``/``Unbar``, currency)."""

    def order(key: tuple[str, str]) -> tuple[int, int, str]:
        payment_class, currency = key
        return (0 if payment_class == "Bar" else 1, 0 if currency == base_currency else 1, currency)

    entries = []
    for key in sorted(totals, key=order):
        amount = totals[key]
        if amount == 0:
            continue
        payment_class, currency = key
        entry = f"{format_amount(amount)}:{payment_class}"
        if currency != base_currency:
            entry += f":{currency}"
        entries.append(entry)
    return "_".join(entries)


def _build_receipt(receipt: Any, errors: _Collector, base_currency: str) -> ProcessData | None:
    if not isinstance(receipt, dict):
        errors.add(errors.path(), "invalid_type", _("Enter an object."))
        return None
    _check_keys(receipt, {"receipt_type", "amounts_per_vat_rate", "amounts_per_payment_type"}, errors)
    receipt_type = receipt.get("receipt_type")
    bon_typ = None
    if receipt_type is None:
        errors.add(errors.path("receipt_type"), "required", _("This field is required."))
    elif not isinstance(receipt_type, str) or receipt_type not in RECEIPT_TYPES:
        errors.add(errors.path("receipt_type"), "invalid_choice", _("Unknown receipt type."))
    else:
        bon_typ = RECEIPT_TYPES[receipt_type]
    amounts = _receipt_amounts(receipt, errors)
    payments, payments_given = _receipt_payments(receipt, errors, base_currency)
    if bon_typ == "Beleg" and not payments_given and any(amount != 0 for amount in amounts.values()):
        errors.add(
            errors.path("amounts_per_payment_type"),
            "required",
            _("A receipt with a non-zero amount needs at least one payment."),
        )
    if errors.errors:
        return None
    gross = "_".join(format_amount(amounts[rate]) for rate in VAT_RATES)
    return ProcessData(PROCESS_TYPE_RECEIPT, f"{bon_typ}^{gross}^{format_payments(payments, base_currency)}")


def build_receipt(receipt: dict, *, base_currency: str = BASE_CURRENCY) -> ProcessData:
    """``Kassenbeleg-V1`` processData for a ``standard_v1.receipt`` dict.

    ``base_currency`` is the register's base currency (``KASSE_BASISWAEH_CODE``); payment
    entries in it carry no currency code.
    """
    _check_base_currency(base_currency)
    errors = _Collector()
    result = _build_receipt(receipt, errors, base_currency)
    errors.raise_if_any()
    assert result is not None
    return result


# --- Bestellung-V1 -----------------------------------------------------------------------------


def _build_order(order: Any, errors: _Collector) -> ProcessData | None:
    if not isinstance(order, dict):
        errors.add(errors.path(), "invalid_type", _("Enter an object."))
        return None
    _check_keys(order, {"line_items"}, errors)
    items = order.get("line_items")
    if items is None:
        errors.add(errors.path("line_items"), "required", _("This field is required."))
        return None
    if not isinstance(items, list):
        errors.add(errors.path("line_items"), "invalid_type", _("Enter a list."))
        return None
    if not items:
        errors.add(errors.path("line_items"), "required", _("An order needs at least one line item."))
        return None
    lines = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.add(errors.path("line_items", index), "invalid_type", _("Enter an object."))
            continue
        _check_keys(item, {"quantity", "text", "price_per_unit"}, errors, "line_items", index)
        values: dict[str, Decimal | None] = {}
        for name, places in (("quantity", QUANTITY_DECIMALS), ("price_per_unit", AMOUNT_DECIMALS)):
            path = errors.path("line_items", index, name)
            if name not in item:
                errors.add(path, "required", _("This field is required."))
                values[name] = None
            else:
                values[name] = _decimal(item[name], path, errors, places=places)
        text = item.get("text")
        text_path = errors.path("line_items", index, "text")
        if text is None:
            errors.add(text_path, "required", _("This field is required."))
        elif not isinstance(text, str):
            errors.add(text_path, "invalid_type", _("Enter a text."))
            text = None
        elif not text.strip():
            errors.add(text_path, "required", _("The item text must not be empty."))
            text = None
        elif len(text) > ORDER_TEXT_MAX_LENGTH:
            errors.add(text_path, "max_length", _("The item text may have at most 255 characters."))
            text = None
        elif any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
            errors.add(
                text_path, "invalid_characters", _("The item text must not contain line breaks or control characters.")
            )
            text = None
        quantity, price = values["quantity"], values["price_per_unit"]
        if quantity is not None and price is not None and text is not None:
            escaped = text.replace('"', '""')
            lines.append(f'{format_quantity(quantity)};"{escaped}";{format_amount(price)}')
    if errors.errors:
        return None
    return ProcessData(PROCESS_TYPE_ORDER, "\r".join(lines))


def build_order(order: dict) -> ProcessData:
    """``Bestellung-V1`` processData for a ``standard_v1.order`` dict (``line_items``)."""
    errors = _Collector()
    result = _build_order(order, errors)
    errors.raise_if_any()
    assert result is not None
    return result


# --- SonstigerVorgang --------------------------------------------------------------------------


def _build_other(text: Any, errors: _Collector) -> ProcessData | None:
    if not isinstance(text, str):
        errors.add(errors.path(), "invalid_type", _("Enter a text."))
        return None
    return ProcessData(PROCESS_TYPE_OTHER, text)


def build_other(text: str) -> ProcessData:
    """``SonstigerVorgang`` with free text processData (e.g. ``daily-closing``)."""
    errors = _Collector()
    result = _build_other(text, errors)
    errors.raise_if_any()
    assert result is not None
    return result


# --- dispatcher --------------------------------------------------------------------------------


def build_process_data(schema: dict, *, base_currency: str = BASE_CURRENCY) -> ProcessData:
    """processType + processData for a transaction ``schema`` ``{"standard_v1": {<one of
    receipt | order | other>}}``; error paths start with ``standard_v1.``."""
    _check_base_currency(base_currency)
    errors = _Collector()
    if not isinstance(schema, dict):
        errors.add("", "invalid_type", _("Enter an object."))
        errors.raise_if_any()
    _check_keys(schema, {"standard_v1"}, errors)
    standard = schema.get("standard_v1")
    if not isinstance(standard, dict):
        errors.add("standard_v1", "required" if standard is None else "invalid_type", _("Enter an object."))
        errors.raise_if_any()
    kinds = [kind for kind in ("receipt", "order", "other") if kind in standard]
    _check_keys(standard, {"receipt", "order", "other"}, errors, "standard_v1")
    if len(kinds) != 1:
        errors.add("standard_v1", "one_of", _("Give exactly one of receipt, order or other."))
        errors.raise_if_any()
    kind = kinds[0]
    inner = _Collector(f"standard_v1.{kind}")
    if kind == "receipt":
        result = _build_receipt(standard[kind], inner, base_currency)
    elif kind == "order":
        result = _build_order(standard[kind], inner)
    else:
        result = _build_other(standard[kind], inner)
    errors.errors.extend(inner.errors)
    errors.raise_if_any()
    assert result is not None
    return result
