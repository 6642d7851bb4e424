"""Master data of an operator: Betriebsstätten (tax premises), outlets, and the data check.

- A **Betriebsstätte** (§ 12 AO) is the unit of the tax-office notification (§ 146a Abs. 4 AO): name,
  address with street and house number separate, remarks for the tax office, ``closed_on``.
- An **outlet** (Standort/Filiale) has a number that is unique in its organization and never
  changes once set (``E_OUTLET_NUMBER_IMMUTABLE``; on PostgreSQL a trigger refuses it too,
  migration ``tenants.0005``). A blank number gets the next free one (highest number + 1; numbers
  of closed outlets are never reused). Several outlets can belong to one Betriebsstätte of the
  same organization.
- Nothing is deleted: closing sets ``closed_on``.
- The **data check** lists what is still missing for DSFinV-K (``location.csv``) and the
  tax-office notification. Every rule is one ``Q`` condition, evaluated in the database both for
  the findings of one organization (``check_master_data``) and for whole querysets of
  organizations (``annotate_master_data_complete``, ``Exists``-based, constant number of
  queries), so the two never disagree.

Every change writes an audit entry; when a dealer acts in an operator's account, ``log_action``
records the dealer as ``acting_organization``.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, Max, OuterRef, Q, Value
from django.db.models.functions import Replace
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tenants.models import Betriebsstaette, Organization, Outlet
from tenants.services.configuration.versions import configuration_change
from tenants.validators import (
    STNR_SEPARATORS,
    TAX_NUMBER_COMPACT_REGEX,
    is_valid_vat_id,
    is_valid_w_idnr,
    validate_country_code,
    validate_german_postal_code,
)

__all__ = [
    "ADDRESS_FIELDS",
    "BETRIEBSSTAETTE_FIELDS",
    "BETRIEBSSTAETTE_KEYS",
    "OUTLET_FIELDS",
    "DataCheck",
    "Finding",
    "PremisesError",
    "annotate_master_data_complete",
    "check_master_data",
    "close_betriebsstaette",
    "close_outlet",
    "create_betriebsstaette",
    "create_outlet",
    "master_data_complete",
    "next_outlet_number",
    "split_street_and_house_number",
    "update_betriebsstaette",
    "update_outlet",
]

register_action_labels({
    "tenants.betriebsstaette.created": _("Betriebsstätte created"),
    "tenants.betriebsstaette.changed": _("Betriebsstätte changed"),
    "tenants.betriebsstaette.closed": _("Betriebsstätte closed"),
    "tenants.outlet.created": _("Outlet created"),
    "tenants.outlet.changed": _("Outlet changed"),
    "tenants.outlet.closed": _("Outlet closed"),
})

ADDRESS_FIELDS = ("street", "house_number", "postal_code", "city", "country")
BETRIEBSSTAETTE_FIELDS = ("name", *ADDRESS_FIELDS, "remarks")
# what the services accept: the form fields plus the key that names it in configuration documents
BETRIEBSSTAETTE_KEYS = (*BETRIEBSSTAETTE_FIELDS, "reference")
REFERENCE_REGEX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
OUTLET_FIELDS = ("number", "name", *ADDRESS_FIELDS, "betriebsstaette")


class PremisesError(Exception):
    """A refused change, with a stable code and the HTTP status the API answers with."""

    def __init__(self, code: str, message, *, status: int = 400, field: str | None = None):
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.status = status
        self.field = field


# --- helpers --------------------------------------------------------------------------------


def _clean_values(data: dict) -> dict:
    cleaned = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
            if name == "country":
                value = value.upper()
        cleaned[name] = value
    return cleaned


def _validate(instance) -> None:
    """Model rules plus country code and German postal code; raises ``ValidationError`` by field."""
    errors = {}
    try:
        # Uniqueness is checked by the callers under a lock, without depending on a tenant scope.
        instance.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "country" not in errors:
        try:
            validate_country_code(instance.country)
        except ValidationError as exc:
            errors["country"] = exc.messages
    if "postal_code" not in errors and "country" not in errors and instance.postal_code:
        try:
            validate_german_postal_code(instance.country, instance.postal_code)
        except ValidationError as exc:
            errors["postal_code"] = exc.messages
    if errors:
        raise ValidationError(errors)


def _audit_value(value):
    if isinstance(value, Betriebsstaette):
        return str(value.public_id)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _snapshot(instance, names) -> dict:
    return {name: _audit_value(getattr(instance, name)) for name in names}


def _check_keys(data: dict, allowed) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))} cannot be set")


def _check_reference(betriebsstaette: Betriebsstaette) -> None:
    """A set ``reference`` has the key format and is unique in the organization (``E_REFERENCE_TAKEN``)."""
    if betriebsstaette.reference is None:
        betriebsstaette.reference = ""
    if not betriebsstaette.reference:
        return
    if not REFERENCE_REGEX.match(betriebsstaette.reference):
        raise ValidationError({"reference": [gettext(
            "Use up to 50 letters, digits, dots, hyphens or underscores, starting with a letter or digit.")]})
    taken = Betriebsstaette.unscoped.filter(organization_id=betriebsstaette.organization_id,
                                            reference=betriebsstaette.reference).exclude(pk=betriebsstaette.pk)
    if taken.exists():
        raise PremisesError("E_REFERENCE_TAKEN",
                            _("The key “%(reference)s” is taken by another Betriebsstätte of this organization.")
                            % {"reference": betriebsstaette.reference}, status=409, field="reference")


def _closing_date(closed_on: date | None) -> date:
    today = timezone.localdate()
    closed_on = closed_on or today
    if closed_on > today:
        raise ValidationError({"closed_on": [gettext("The closing date cannot be in the future.")]})
    return closed_on


def _lock_organization(organization: Organization) -> Organization:
    # Serializes the number allocation of one organization (PostgreSQL row lock; SQLite locks the file).
    return Organization.unscoped.select_for_update().get(pk=organization.pk)


# --- Betriebsstätten ------------------------------------------------------------------------


def create_betriebsstaette(*, actor, organization: Organization, data: dict) -> Betriebsstaette:
    with configuration_change(actor, organization):
        _check_keys(data, BETRIEBSSTAETTE_KEYS)
        betriebsstaette = Betriebsstaette(organization=organization, **_clean_values(data))
        _validate(betriebsstaette)
        _check_reference(betriebsstaette)
        betriebsstaette.save()
        log_action("tenants.betriebsstaette.created", actor, organization, betriebsstaette,
                   {"fields": _snapshot(betriebsstaette, BETRIEBSSTAETTE_KEYS)})
        return betriebsstaette


def update_betriebsstaette(*, actor, betriebsstaette: Betriebsstaette, changes: dict) -> Betriebsstaette:
    with configuration_change(actor, betriebsstaette.organization):
        _check_keys(changes, BETRIEBSSTAETTE_KEYS)
        betriebsstaette = Betriebsstaette.unscoped.select_for_update().get(pk=betriebsstaette.pk)
        diff = {}
        for name, value in _clean_values(changes).items():
            if name == "reference" and value is None:
                value = ""
            old = getattr(betriebsstaette, name)
            if old != value:
                diff[name] = {"old": old, "new": value}
                setattr(betriebsstaette, name, value)
        if diff:
            _validate(betriebsstaette)
            if "reference" in diff:
                _check_reference(betriebsstaette)
            betriebsstaette.save(update_fields=list(diff))
            log_action("tenants.betriebsstaette.changed", actor, betriebsstaette.organization, betriebsstaette,
                       {"changes": diff})
        return betriebsstaette


def close_betriebsstaette(*, actor, betriebsstaette: Betriebsstaette, closed_on: date | None = None) -> Betriebsstaette:
    """Close a Betriebsstätte (the date of abandonment for the notification). Its open outlets stay
    open and show up in the data check until they are moved or closed."""
    with configuration_change(actor, betriebsstaette.organization):
        betriebsstaette = Betriebsstaette.unscoped.select_for_update().get(pk=betriebsstaette.pk)
        if betriebsstaette.closed_on is not None:
            raise PremisesError("E_ALREADY_CLOSED", _("This Betriebsstätte is closed already."), status=409)
        betriebsstaette.closed_on = _closing_date(closed_on)
        betriebsstaette.save(update_fields=["closed_on"])
        open_outlets = list(betriebsstaette.outlets.filter(closed_on__isnull=True).values_list("number", flat=True))
        log_action("tenants.betriebsstaette.closed", actor, betriebsstaette.organization, betriebsstaette,
                   {"closed_on": betriebsstaette.closed_on.isoformat(), "open_outlets": open_outlets})
        return betriebsstaette


# --- outlets --------------------------------------------------------------------------------


def next_outlet_number(organization: Organization) -> int:
    """The next free outlet number: one above the highest ever given (closed outlets keep theirs)."""
    highest = Outlet.unscoped.filter(organization_id=organization.pk).aggregate(n=Max("number"))["n"]
    return (highest or 0) + 1


def _check_betriebsstaette(organization: Organization, betriebsstaette: Betriebsstaette | None):
    """The Betriebsstätte as stored (locked against a concurrent closing), if an outlet may link to it."""
    if betriebsstaette is None:
        return None
    betriebsstaette = Betriebsstaette.unscoped.select_for_update().get(pk=betriebsstaette.pk)
    if betriebsstaette.organization_id != organization.pk:
        raise PremisesError("E_VALIDATION", _("This Betriebsstätte does not belong to the organization."),
                            field="betriebsstaette")
    if betriebsstaette.closed_on is not None:
        raise PremisesError("E_BETRIEBSSTAETTE_CLOSED",
                            _("The Betriebsstätte is closed; an outlet can only be assigned to an open one."),
                            field="betriebsstaette")
    return betriebsstaette


def _number_taken(number: int) -> PremisesError:
    return PremisesError("E_OUTLET_NUMBER_TAKEN",
                         _("Outlet number %(number)s is taken in this organization.") % {"number": number},
                         status=409, field="number")


def create_outlet(*, actor, organization: Organization, data: dict) -> Outlet:
    """Create an outlet; ``data["number"]`` blank or ``None`` gets the next free number."""
    with configuration_change(actor, organization):
        _check_keys(data, OUTLET_FIELDS)
        data = _clean_values(data)
        number = data.pop("number", None)
        if number in ("", None):
            number = None
        if "betriebsstaette" in data:
            data["betriebsstaette"] = _check_betriebsstaette(organization, data["betriebsstaette"])
        if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 1):
            raise ValidationError({"number": [gettext("The outlet number is a whole number of at least 1.")]})
        _lock_organization(organization)
        if number is None:
            number = next_outlet_number(organization)
        elif Outlet.unscoped.filter(organization_id=organization.pk, number=number).exists():
            raise _number_taken(number)
        outlet = Outlet(organization=organization, number=number, **data)
        _validate(outlet)
        try:
            with transaction.atomic():
                outlet.save()
        except IntegrityError as exc:  # a concurrent writer that did not take the lock
            raise _number_taken(number) from exc
        log_action("tenants.outlet.created", actor, organization, outlet, {"fields": _snapshot(outlet, OUTLET_FIELDS)})
        return outlet


def update_outlet(*, actor, outlet: Outlet, changes: dict) -> Outlet:
    """Change an outlet. Its number cannot change (``E_OUTLET_NUMBER_IMMUTABLE``); passing the
    current number is allowed and changes nothing."""
    with configuration_change(actor, outlet.organization):
        _check_keys(changes, OUTLET_FIELDS)
        outlet = Outlet.unscoped.select_for_update(of=("self",)).select_related("organization").get(pk=outlet.pk)
        changes = _clean_values(changes)
        if "number" in changes and changes.pop("number") != outlet.number:
            raise PremisesError("E_OUTLET_NUMBER_IMMUTABLE", _("The outlet number cannot be changed once it is set."),
                                field="number")
        diff = {}
        for name, value in changes.items():
            old = getattr(outlet, name)
            if old != value:
                if name == "betriebsstaette":
                    value = _check_betriebsstaette(outlet.organization, value)
                diff[name] = {"old": _audit_value(old), "new": _audit_value(value)}
                setattr(outlet, name, value)
        if diff:
            _validate(outlet)
            outlet.save(update_fields=list(diff))
            log_action("tenants.outlet.changed", actor, outlet.organization, outlet, {"changes": diff})
        return outlet


def close_outlet(*, actor, outlet: Outlet, closed_on: date | None = None) -> Outlet:
    with configuration_change(actor, outlet.organization):
        outlet = Outlet.unscoped.select_for_update(of=("self",)).select_related("organization").get(pk=outlet.pk)
        if outlet.closed_on is not None:
            raise PremisesError("E_ALREADY_CLOSED", _("This outlet is closed already."), status=409)
        outlet.closed_on = _closing_date(closed_on)
        outlet.save(update_fields=["closed_on"])
        log_action("tenants.outlet.closed", actor, outlet.organization, outlet,
                   {"closed_on": outlet.closed_on.isoformat(), "number": outlet.number})
        return outlet


# --- data check -----------------------------------------------------------------------------

# The house number at the end of the company's "street and number" field: "Hauptstraße 1",
# "Marktplatz 3a", "Am Ring 12 b", "Kantstraße 10-12", "Weg 4/6".
HOUSE_NUMBER_AT_END = r"[^ ] +([0-9]+ ?[A-Za-z]?( ?[-/] ?[0-9]+ ?[A-Za-z]?)?)$"
_HOUSE_NUMBER_AT_END = re.compile(HOUSE_NUMBER_AT_END)
GERMAN_POSTAL_CODE = r"^[0-9]{5}$"


def split_street_and_house_number(street: str) -> tuple[str, str]:
    """``"Hauptstraße 12a"`` -> ``("Hauptstraße", "12a")``; no house number -> ``(street, "")``.

    The company address holds street and number in one field; the tax-office notification wants
    them separate (``Strasse``, ``Hausnummer``)."""
    street = (street or "").strip()
    match = _HOUSE_NUMBER_AT_END.search(street)
    if match is None:
        return street, ""
    return street[: match.start(1)].strip(), match.group(1)


@dataclass(frozen=True)
class _Rule:
    code: str
    field: str | None
    condition: Q
    problem: object  # lazy message


def _postal_code_rule() -> _Rule:
    return _Rule(
        "W_INVALID_POSTAL_CODE", "postal_code",
        Q(country__iexact="DE") & ~Q(postal_code="") & ~Q(postal_code__regex=GERMAN_POSTAL_CODE),
        _("the postal code is not a German postal code (five digits)."),
    )


def _address_rules(*, house_number: bool) -> list[_Rule]:
    rules = [
        _Rule("W_MISSING_STREET", "street", Q(street=""), _("the street is missing.")),
    ]
    if house_number:
        rules.append(_Rule("W_MISSING_HOUSE_NUMBER", "house_number", Q(house_number=""),
                           _("the house number is missing.")))
    return [
        *rules,
        _Rule("W_MISSING_POSTAL_CODE", "postal_code", Q(postal_code=""), _("the postal code is missing.")),
        _postal_code_rule(),
        _Rule("W_MISSING_CITY", "city", Q(city=""), _("the city is missing.")),
        _Rule("W_MISSING_COUNTRY", "country", Q(country=""), _("the country is missing.")),
    ]


_STNR_COMPACT = "_data_check_stnr"


def _compact_tax_number():
    expression = F("tax_number")
    for char in STNR_SEPARATORS:
        expression = Replace(expression, Value(char), Value(""))
    return expression


ORGANIZATION_RULES = [
    _Rule("W_MISSING_NAME", "name", Q(name=""), _("the company name is missing.")),
    _Rule("W_MISSING_LEGAL_FORM", "legal_form", Q(legal_form=""), _("the legal form is missing.")),
    _Rule("W_MISSING_TAX_NUMBER", "tax_number", Q(tax_number=""),
          _("the tax number (Steuernummer) is missing. The VAT id cannot replace it in the tax-office "
            "notification.")),
    _Rule("W_INVALID_TAX_NUMBER", "tax_number",
          ~Q(tax_number="") & ~Q(**{f"{_STNR_COMPACT}__regex": TAX_NUMBER_COMPACT_REGEX}),
          _("the tax number is not in the format of a German tax office.")),
    _Rule("W_MISSING_STREET", "street", Q(street=""), _("the street is missing.")),
    _Rule("W_MISSING_HOUSE_NUMBER", "street", ~Q(street="") & ~Q(street__regex=HOUSE_NUMBER_AT_END),
          _("the house number is missing; enter it after the street, e.g. Hauptstraße 1.")),
    _Rule("W_MISSING_POSTAL_CODE", "postal_code", Q(postal_code=""), _("the postal code is missing.")),
    _postal_code_rule(),
    _Rule("W_MISSING_CITY", "city", Q(city=""), _("the city is missing.")),
    _Rule("W_MISSING_COUNTRY", "country", Q(country=""), _("the country is missing.")),
]
BETRIEBSSTAETTE_RULES = [
    _Rule("W_MISSING_NAME", "name", Q(name=""), _("the name is missing.")),
    *_address_rules(house_number=True),
]
OUTLET_RULES = [
    _Rule("W_MISSING_NAME", "name", Q(name=""), _("the name is missing.")),
    *_address_rules(house_number=True),
    _Rule("W_OUTLET_WITHOUT_BETRIEBSSTAETTE", "betriebsstaette",
          Q(closed_on__isnull=True, betriebsstaette__isnull=True),
          _("the outlet is open but not assigned to a Betriebsstätte.")),
    _Rule("W_OUTLET_BETRIEBSSTAETTE_CLOSED", "betriebsstaette",
          Q(closed_on__isnull=True, betriebsstaette__closed_on__isnull=False),
          _("the outlet is open but its Betriebsstätte is closed; assign it to an open one or close it.")),
    _Rule("W_OUTLET_BETRIEBSSTAETTE_FOREIGN", "betriebsstaette",
          Q(betriebsstaette__isnull=False) & ~Q(betriebsstaette__organization_id=F("organization_id")),
          _("the outlet is linked to a Betriebsstätte of another organization.")),
]
NO_OPEN_BETRIEBSSTAETTE = _(
    "there is no open Betriebsstätte. The tax-office notification is made per Betriebsstätte."
)


def _any(rules) -> Q:
    condition = Q()
    for rule in rules:
        condition |= rule.condition
    return condition


def _flags(rules) -> dict:
    return {f"_rule_{i}": ExpressionWrapper(rule.condition, output_field=BooleanField())
            for i, rule in enumerate(rules)}


def annotate_master_data_complete(queryset, name: str = "master_data_complete"):
    """Annotate a queryset of organizations with ``name``: True when the data check finds no error.

    Four ``EXISTS`` sub-selects per row, whatever the number of organizations: the list of the
    dealer overview costs one query. Only errors count; warnings (an invalid optional VAT id or
    W-IdNr.) do not.
    """
    company_faults = Organization.unscoped.filter(pk=OuterRef("pk")).annotate(
        **{_STNR_COMPACT: _compact_tax_number()}
    ).filter(_any(ORGANIZATION_RULES))
    premises_faults = Betriebsstaette.unscoped.filter(organization_id=OuterRef("pk")).filter(
        _any(BETRIEBSSTAETTE_RULES))
    outlet_faults = Outlet.unscoped.filter(organization_id=OuterRef("pk")).filter(_any(OUTLET_RULES))
    open_premises = Betriebsstaette.unscoped.filter(organization_id=OuterRef("pk"), closed_on__isnull=True)
    complete = ~Exists(company_faults) & ~Exists(premises_faults) & ~Exists(outlet_faults) & Exists(open_premises)
    return queryset.annotate(**{name: ExpressionWrapper(complete, output_field=BooleanField())})


def master_data_complete(organization: Organization) -> bool:
    """True when the data check of ``organization`` finds no error (one query)."""
    queryset = annotate_master_data_complete(Organization.unscoped.filter(pk=organization.pk), "_complete")
    return queryset.values_list("_complete", flat=True).get()


@dataclass(frozen=True)
class Finding:
    """One problem the data check found, about one object."""

    code: str
    message: str
    object_type: str  # "organization", "betriebsstaette" or "outlet"
    object_id: str  # public id
    object_name: str
    field: str | None = None
    severity: str = "error"  # "error" keeps the master data incomplete, "warning" does not

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "field": self.field,
            "object": {"type": self.object_type, "id": self.object_id, "name": self.object_name},
        }


@dataclass
class DataCheck:
    organization: Organization
    findings: list[Finding] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}


def _sentence(problem) -> str:
    text = str(problem)
    return text[:1].upper() + text[1:]


def _rows_with_flags(queryset, rules, values):
    flags = _flags(rules)
    return queryset.annotate(**flags).values(*values, *flags)


def check_master_data(organization: Organization) -> DataCheck:
    """Everything still missing for DSFinV-K and the tax-office notification (three queries)."""
    check = DataCheck(organization)
    company = gettext("Company data")

    def company_finding(code, problem, field_name, severity="error"):
        return Finding(code, f"{company}: {_sentence(problem)}", "organization", str(organization.public_id),
                       organization.name, field_name, severity)

    row = _rows_with_flags(
        Organization.unscoped.filter(pk=organization.pk).annotate(**{_STNR_COMPACT: _compact_tax_number()}),
        ORGANIZATION_RULES, ["vat_id", "w_idnr"],
    ).get()
    for i, rule in enumerate(ORGANIZATION_RULES):
        if row[f"_rule_{i}"]:
            check.findings.append(company_finding(rule.code, rule.problem, rule.field))
    if row["vat_id"] and not is_valid_vat_id(row["vat_id"]):
        check.findings.append(company_finding(
            "W_INVALID_VAT_ID", _("the VAT id is not valid (format or check digit)."), "vat_id", "warning"))
    if row["w_idnr"] and not is_valid_w_idnr(row["w_idnr"]):
        check.findings.append(company_finding(
            "W_INVALID_W_IDNR", _("the W-IdNr. is not valid (DE, 9 digits, hyphen, 5 digits)."), "w_idnr",
            "warning"))

    premises = list(_rows_with_flags(
        Betriebsstaette.unscoped.filter(organization_id=organization.pk).order_by("name", "pk"),
        BETRIEBSSTAETTE_RULES, ["public_id", "name", "closed_on"],
    ))
    if not any(p["closed_on"] is None for p in premises):
        check.findings.append(company_finding("W_NO_OPEN_BETRIEBSSTAETTE", NO_OPEN_BETRIEBSSTAETTE, None))
    for p in premises:
        label = gettext("Betriebsstätte “%(name)s”") % {"name": p["name"] or "–"}
        for i, rule in enumerate(BETRIEBSSTAETTE_RULES):
            if p[f"_rule_{i}"]:
                check.findings.append(Finding(rule.code, f"{label}: {_sentence(rule.problem)}", "betriebsstaette",
                                              str(p["public_id"]), p["name"], rule.field))

    outlets = _rows_with_flags(
        Outlet.unscoped.filter(organization_id=organization.pk).order_by("number", "pk"),
        OUTLET_RULES, ["public_id", "number", "name"],
    )
    for o in outlets:
        name = f"{o['number']} {o['name']}".strip()
        label = gettext("Outlet %(number)s “%(name)s”") % {"number": o["number"], "name": o["name"] or "–"}
        for i, rule in enumerate(OUTLET_RULES):
            if o[f"_rule_{i}"]:
                check.findings.append(Finding(rule.code, f"{label}: {_sentence(rule.problem)}", "outlet",
                                              str(o["public_id"]), name, rule.field))
    return check
