"""Structure check of a cash point closing request (fiskaly DSFinV-K model, api-conventions.md §2.3).

``clean_closing_request(payload)`` checks types, lengths, enums and decimal places of the whole
request — nothing that needs the database — and returns ``(cleaned, errors)``. ``errors`` lists
every problem as ``{"path": "transactions[2].data.lines[0].item.quantity", "code": …,
"message": …}``; ``cleaned`` is the request as it is stored (``CashPointClosing.payload``): the
same tree with every amount as an exact decimal string (JSON numbers are parsed as ``Decimal``,
never as float, and never rounded), optional fields left out when absent or ``null``.

Amount accuracy follows the DSFinV-K columns the values end up in: totals and payments 2
decimals, VAT splits and unit prices 5, quantities 3; every amount is below 10^13. Lengths are
those of the target columns (dsfinvk.md §3). Unknown fields are refused (``unknown_field``).
"""

import abc
import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

__all__ = ["BON_TYPES", "BUSINESS_CASE_TYPES", "PAYMENT_TYPES", "REFERENCE_TYPES", "clean_closing_request",
           "join_path"]

BON_TYPES = ("Beleg", "AVTransfer", "AVBestellung", "AVTraining", "AVBelegstorno", "AVBelegabbruch", "AVSachbezug",
             "AVSonstige", "AVRechnung")
BUSINESS_CASE_TYPES = (
    "Umsatz", "Pfand", "PfandRueckzahlung", "Rabatt", "Aufschlag", "ZuschussEcht", "ZuschussUnecht", "TrinkgeldAG",
    "TrinkgeldAN", "EinzweckgutscheinKauf", "EinzweckgutscheinEinloesung", "MehrzweckgutscheinKauf",
    "MehrzweckgutscheinEinloesung", "Forderungsentstehung", "Forderungsaufloesung", "Anzahlungseinstellung",
    "Anzahlungsaufloesung", "Anfangsbestand", "Privatentnahme", "Privateinlage", "Geldtransit", "Lohnzahlung",
    "Einzahlung", "Auszahlung", "DifferenzSollIst",
)
PAYMENT_TYPES = ("Bar", "Unbar", "ECKarte", "Kreditkarte", "ElZahlungsdienstleister", "GuthabenKarte",
                 "Guthabenkarte", "Keine")
REFERENCE_TYPES = ("Transaktion", "ExterneRechnung", "ExternerLieferschein", "ExterneSonstige")
BUYER_TYPES = ("Kunde", "Mitarbeiter")
MAX_UNIX_TIME = 253402300799  # 9999-12-31T23:59:59Z
MAX_AMOUNT = Decimal(10) ** 13
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{3}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def join_path(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


class _Errors(list):
    def add(self, path: str, code: str, message) -> None:
        self.append({"path": path, "code": code, "message": str(message)})


_MISSING = object()


class Field(abc.ABC):
    def __init__(self, *, required: bool = True, nullable: bool = False):
        self.required = required
        self.nullable = nullable

    @abc.abstractmethod
    def clean(self, value, path: str, errors: _Errors):
        """The cleaned value, or ``None`` after adding the problems to ``errors``."""


class Text(Field):
    def __init__(self, max_length: int, *, pattern: re.Pattern | None = None, choices=None, pattern_message=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.pattern, self.choices = max_length, pattern, choices
        self.pattern_message = pattern_message

    def clean(self, value, path, errors):
        if not isinstance(value, str):
            errors.add(path, "invalid_type", _("Enter a text."))
            return _MISSING
        if self.choices is not None and value not in self.choices:
            errors.add(path, "invalid_choice", _("Not one of the allowed values: %(values)s.")
                       % {"values": ", ".join(self.choices)})
            return _MISSING
        if len(value) > self.max_length:
            errors.add(path, "too_long", _("At most %(max)d characters (%(length)d given).")
                       % {"max": self.max_length, "length": len(value)})
            return _MISSING
        if self.required and not value.strip():
            errors.add(path, "blank", _("This field must not be empty."))
            return _MISSING
        if self.pattern is not None and not self.pattern.match(value):
            errors.add(path, "invalid_format", self.pattern_message or _("The value has the wrong format."))
            return _MISSING
        return value


class Integer(Field):
    def __init__(self, *, min_value: int = 0, max_value: int = 2**63 - 1, **kwargs):
        super().__init__(**kwargs)
        self.min_value, self.max_value = min_value, max_value

    def clean(self, value, path, errors):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add(path, "invalid_type", _("Enter a whole number."))
            return _MISSING
        if value < self.min_value:
            errors.add(path, "min_value", _("At least %(min)d.") % {"min": self.min_value})
            return _MISSING
        if value > self.max_value:
            errors.add(path, "max_value", _("At most %(max)d.") % {"max": self.max_value})
            return _MISSING
        return value


class Boolean(Field):
    def clean(self, value, path, errors):
        if not isinstance(value, bool):
            errors.add(path, "invalid_type", _("Enter true or false."))
            return _MISSING
        return value


class Amount(Field):
    """An exact decimal (JSON number parsed as Decimal, int, or decimal string) with at most ``places`` decimals."""

    def __init__(self, places: int, **kwargs):
        super().__init__(**kwargs)
        self.places = places

    def clean(self, value, path, errors):
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            errors.add(path, "invalid_type", _("Enter a number."))
            return _MISSING
        if isinstance(value, str) and not _NUMBER_RE.match(value):
            errors.add(path, "invalid_decimal", _("Enter a decimal number with a dot as decimal separator."))
            return _MISSING
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - JSON numbers and the pattern only admit valid literals
            errors.add(path, "invalid_decimal", _("Enter a decimal number."))
            return _MISSING
        if not number.is_finite():
            errors.add(path, "invalid_decimal", _("Enter a finite number."))
            return _MISSING
        if abs(number) >= MAX_AMOUNT:
            errors.add(path, "max_value", _("The number is too large."))
            return _MISSING
        if number.as_tuple().exponent < -self.places:  # trailing zeros beyond the accuracy are dropped
            exact = number.quantize(Decimal(1).scaleb(-self.places))
            if exact != number:
                errors.add(path, "too_many_decimals", _("At most %(places)d decimal places.")
                           % {"places": self.places})
                return _MISSING
            number = exact
        return f"{number:f}"


class Uuid(Field):
    def clean(self, value, path, errors):
        try:
            return str(uuid.UUID(value)) if isinstance(value, str) else _invalid_uuid(path, errors)
        except ValueError:
            return _invalid_uuid(path, errors)


def _invalid_uuid(path, errors):
    errors.add(path, "invalid_uuid", _("Enter a UUID."))
    return _MISSING


class Day(Field):
    def clean(self, value, path, errors):
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                date.fromisoformat(value)
                return value
            except ValueError:
                pass
        errors.add(path, "invalid_date", _("Enter a date as YYYY-MM-DD."))
        return _MISSING


class Many(Field):
    def __init__(self, item: Field, *, min_items: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.item, self.min_items = item, min_items

    def clean(self, value, path, errors):
        if not isinstance(value, list):
            errors.add(path, "invalid_type", _("Enter a list."))
            return _MISSING
        if len(value) < self.min_items:
            errors.add(path, "min_items", _("At least %(count)d entries.") % {"count": self.min_items})
        cleaned = []
        for index, item in enumerate(value):
            item_path = join_path(path, index)
            if item is None:
                errors.add(item_path, "null", _("This entry must not be null."))
                continue
            result = self.item.clean(item, item_path, errors)
            if result is not _MISSING:
                cleaned.append(result)
        return cleaned


class Obj(Field):
    def __init__(self, fields: dict[str, Field], *, check=None, **kwargs):
        super().__init__(**kwargs)
        self.fields, self.check = fields, check

    def clean(self, value, path, errors):
        if not isinstance(value, dict):
            errors.add(path, "invalid_type", _("Enter an object."))
            return _MISSING
        for key in value:
            if key not in self.fields:
                errors.add(join_path(path, str(key)), "unknown_field", _("This field is not allowed here."))
        cleaned = {}
        for name, spec in self.fields.items():
            field_path = join_path(path, name)
            raw = value.get(name, _MISSING)
            if raw is None and spec.nullable:
                cleaned[name] = None
                continue
            if raw is _MISSING or raw is None:
                if spec.required:
                    if raw is None:
                        errors.add(field_path, "null", _("This field must not be null."))
                    else:
                        errors.add(field_path, "required", _("This field is required."))
                continue
            result = spec.clean(raw, field_path, errors)
            if result is not _MISSING:
                cleaned[name] = result
        if self.check is not None:
            self.check(value, cleaned, path, errors)
        return cleaned


class Reference(Field):
    """A transaction reference, its fields depending on ``type``."""

    def clean(self, value, path, errors):
        kind = value.get("type") if isinstance(value, dict) else None
        spec = REFERENCE_SPECS.get(kind) if isinstance(kind, str) else None
        if spec is None:
            if not isinstance(value, dict):
                errors.add(path, "invalid_type", _("Enter an object."))
            else:
                errors.add(join_path(path, "type"), "invalid_choice", _("Not one of the allowed values: %(values)s.")
                           % {"values": ", ".join(REFERENCE_TYPES)})
            return _MISSING
        return spec.clean(value, path, errors)


# --- cross-field checks -------------------------------------------------------------------------


def _vat_parts(raw, cleaned, path, errors):
    given = {name for name in ("incl_vat", "excl_vat", "vat") if raw.get(name) is not None}
    if given not in ({"incl_vat"}, {"excl_vat", "vat"}, {"incl_vat", "excl_vat", "vat"}):
        errors.add(path, "invalid_combination",
                   _("Give incl_vat, or excl_vat and vat, or all three."))


def _security(raw, cleaned, path, errors):
    given = [name for name in ("tss_tx_id", "error_message") if raw.get(name) is not None]
    if len(given) != 1:
        errors.add(path, "one_of", _("Give exactly one of tss_tx_id (signed) or error_message (TSE failure)."))


def _transaction_head(raw, cleaned, path, errors):
    if raw.get("type") == "AVSonstige" and not raw.get("name"):
        errors.add(join_path(path, "name"), "required", _("A transaction of type AVSonstige needs a name."))
    start, end = cleaned.get("timestamp_start"), cleaned.get("timestamp_end")
    if start is not None and end is not None and start > end:
        errors.add(join_path(path, "timestamp_end"), "before_start", _("The end lies before the start."))


# --- the request ---------------------------------------------------------------------------------


def _vat_amounts(**kwargs) -> Obj:
    return Obj({
        "vat_definition_export_id": Integer(min_value=1, max_value=2**31 - 1),
        "incl_vat": Amount(5, required=False),
        "excl_vat": Amount(5, required=False),
        "vat": Amount(5, required=False),
    }, check=_vat_parts, **kwargs)


def _payment_type(*, foreign: bool = True) -> Obj:
    fields = {
        "type": Text(25, choices=PAYMENT_TYPES),
        "name": Text(60, required=False),
        "currency_code": Text(3, pattern=_CURRENCY_RE, pattern_message=_("Enter an ISO 4217 code."), required=False),
        "amount": Amount(2),
    }
    if foreign:
        fields["foreign_amount"] = Amount(2, required=False)
    return Obj(fields)


def _date(**kwargs) -> Integer:
    return Integer(min_value=0, max_value=MAX_UNIX_TIME, **kwargs)


REFERENCE_SPECS = {
    "Transaktion": Obj({
        "type": Text(20), "cash_point_closing_export_id": Integer(min_value=1),
        "cash_register_export_id": Text(50), "transaction_export_id": Text(40), "date": _date(required=False),
    }),
    "ExterneRechnung": Obj({"type": Text(20), "external_export_id": Text(40), "date": _date(required=False)}),
    "ExternerLieferschein": Obj({"type": Text(20), "external_export_id": Text(40), "date": _date(required=False)}),
    "ExterneSonstige": Obj({"type": Text(20), "name": Text(40), "external_other_export_id": Text(40),
                            "date": _date(required=False)}),
}

_SUB_ITEM = Obj({
    "number": Text(50), "gtin": Text(50, required=False), "name": Text(60, required=False),
    "quantity": Amount(3), "quantity_factor": Amount(3, required=False), "quantity_measure": Text(50, required=False),
    "group_id": Text(40, required=False), "group_name": Text(50, required=False),
    "amount_per_vat_id": _vat_amounts(),
})

_ITEM = Obj({
    "number": Text(50), "gtin": Text(50, required=False), "quantity": Amount(3),
    "quantity_factor": Amount(3, required=False), "quantity_measure": Text(50, required=False),
    "group_id": Text(40, required=False), "group_name": Text(50, required=False), "price_per_unit": Amount(5),
    "base_amounts_per_vat_id": Many(_vat_amounts(), required=False),
    "discounts_per_vat_id": Many(_vat_amounts(), required=False),
    "extra_amounts_per_vat_id": Many(_vat_amounts(), required=False),
    "sub_items": Many(_SUB_ITEM, required=False),
})

_BUSINESS_CASE = Obj({
    "type": Text(30, choices=BUSINESS_CASE_TYPES), "name": Text(40, required=False),
    "purchaser_agency_id": Integer(required=False), "amounts_per_vat_id": Many(_vat_amounts(), min_items=1),
})

_LINE = Obj({
    "business_case": _BUSINESS_CASE, "lineitem_export_id": Text(50), "storno": Boolean(),
    "in_house": Boolean(required=False), "text": Text(255), "voucher_id": Text(50, required=False), "item": _ITEM,
})

_ADDRESS = Obj({
    "street": Text(60, required=False), "postal_code": Text(10, required=False), "city": Text(62, required=False),
    "country_code": Text(3, pattern=_COUNTRY_RE, pattern_message=_("Enter an ISO 3166-1 alpha-3 code."),
                         required=False),
}, required=False)

_TRANSACTION = Obj({
    "head": Obj({
        "type": Text(30, choices=BON_TYPES), "name": Text(60, required=False), "storno": Boolean(),
        "number": Integer(), "timestamp_start": _date(), "timestamp_end": _date(),
        "user": Obj({"user_export_id": Text(50), "name": Text(50, required=False)}),
        "buyer": Obj({"name": Text(50), "type": Text(50, choices=BUYER_TYPES), "buyer_export_id": Text(50),
                      "address": _ADDRESS, "vat_id_number": Text(15, required=False)}, required=False),
        "references": Many(Reference(), required=False),
        "allocation_groups": Many(Text(50), required=False),
        "transaction_export_id": Text(40),
        "closing_client_id": Uuid(required=False),
    }, check=_transaction_head),
    "data": Obj({
        "full_amount_incl_vat": Amount(2), "payment_types": Many(_payment_type()),
        "amounts_per_vat_id": Many(_vat_amounts()), "notes": Text(255, required=False), "lines": Many(_LINE),
    }),
    "security": Obj({"tss_tx_id": Uuid(required=False), "error_message": Text(200, required=False)},
                    check=_security),
})

CLOSING_REQUEST = Obj({
    "client_id": Uuid(),
    "cash_point_closing_export_id": Integer(min_value=1),
    "head": Obj({
        "export_creation_date": _date(),
        "first_transaction_export_id": Text(40, nullable=True),
        "last_transaction_export_id": Text(40, nullable=True),
        "business_date": Day(required=False),
    }),
    "cash_statement": Obj({
        "business_cases": Many(_BUSINESS_CASE),
        "payment": Obj({
            "full_amount": Amount(2), "cash_amount": Amount(2),
            "cash_amounts_by_currency": Many(Obj({
                "currency_code": Text(3, pattern=_CURRENCY_RE, pattern_message=_("Enter an ISO 4217 code.")),
                "amount": Amount(2)})),
            "payment_types": Many(_payment_type()),
        }),
    }),
    "transactions": Many(_TRANSACTION),
})


def clean_closing_request(payload) -> tuple[dict | None, list[dict]]:
    """``(cleaned request, errors)``; with errors the cleaned request is incomplete and must not be used."""
    errors = _Errors()
    cleaned = CLOSING_REQUEST.clean(payload, "", errors)
    return (cleaned if cleaned is not _MISSING else None), list(errors)
