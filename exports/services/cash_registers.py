"""DSFinV-K master data an operator maintains: cash registers and its own VAT definitions.

- A **cash register** is one POS registered as a client at one of the operator's signing units
  (``Z_KASSE_ID`` = ``KASSE_SERIENNR`` = the client's serial number, which must not contain ``/``
  or ``_``, DSFinV-K 2.3), placed at one of its open outlets, running a version of a POS system.
  The operator may pick **any version of a non-retired POS system in the portal's catalogue**:
  the creator's sharing with dealers governs who may *deploy and sell* a system, not which system
  an operator's register runs (the master data only describe it). The client never changes;
  outlet, version, base currency and the ``KEINE_UST_ZUORDNUNG`` flag may. Decommissioning is
  final; the register and its closings stay.
- **VAT definitions**: the operator's own keys (``UST_SCHLUESSEL`` ≥ 1000; 1–999 are Anlage 2
  and reserved), rate 0–100 % with at most two decimals, description ≤ 55 characters and the
  processData slot the key falls on. A key used by an accepted closing may change (the next
  closing records a new master-data revision) but not be deleted.

Field errors are ``django.core.exceptions.ValidationError`` keyed by field name; refusals of a
whole request are ``MasterDataError`` (stable code, HTTP status). Every change writes an audit
entry; a dealer acting in the operator's account is recorded as ``acting_organization``.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import pycountry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.models import CashPointClosing, CashRegister, ClosingState, DecommissionReason, VatDefinition, VatSlot
from exports.services.master_data import (
    closing_due,
    current_master_data,
    digest,
    latest_revision,
    master_data_problems,
)
from portal.services.audit import log_action, register_action_labels
from tenants.models import Outlet, PosSystemVersion
from tenants.services.configuration.versions import configuration_change
from tse.models import ClientState, TseClient

__all__ = [
    "CASH_REGISTER_FIELDS",
    "MIN_OWN_VAT_KEY",
    "MasterDataError",
    "check_own_vat_key",
    "RegisterStatus",
    "create_cash_register",
    "decommission_cash_register",
    "delete_vat_definition",
    "register_status",
    "save_vat_definition",
    "selectable_pos_system_versions",
    "unused_clients",
    "update_cash_register",
    "vat_key_in_use",
]

register_action_labels({
    "exports.cash_register.created": _("Cash register (DSFinV-K) created"),
    "exports.cash_register.changed": _("Cash register (DSFinV-K) changed"),
    "exports.vat_definition.saved": _("VAT definition saved"),
    "exports.vat_definition.deleted": _("VAT definition deleted"),
})

CASH_REGISTER_FIELDS = ("outlet", "pos_system_version", "base_currency", "no_vat_assignment", "acquired_on",
                        "commissioned_on")
# the § 146a (4) AO notification dates: no part of the DSFinV-K master data nor of the configuration document
NOTIFICATION_DATE_FIELDS = ("acquired_on", "commissioned_on")
MIN_OWN_VAT_KEY = 1000
MAX_VAT_KEY = 2147483647  # the model's PositiveIntegerField
DESCRIPTION_MAX = 55
ILLEGAL_SERIAL = re.compile(r"[/_]")
CURRENCY = re.compile(r"^[A-Z]{3}$")


class MasterDataError(Exception):
    """A refused request (not a single field's fault), with a stable code and the HTTP status to answer."""

    def __init__(self, code: str, message, *, status: int = 400):
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.status = status


# --- reading ---------------------------------------------------------------------------------


def selectable_pos_system_versions(*, including=None):
    """The versions a cash register may run: those of every POS system that is not retired.

    ``including``: the pk of a register's current version, kept selectable even if retired since.
    """
    condition = Q(pos_system__retired_at__isnull=True)
    if including is not None:
        condition |= Q(pk=including)
    return (PosSystemVersion.unscoped.filter(condition)
            .select_related("pos_system").order_by("pos_system__brand", "pos_system__name", "-created_at", "-pk"))


def unused_clients(organization):
    """The organization's registered TSE clients that no cash register uses yet."""
    return (TseClient.unscoped.filter(organization_id=organization.pk, state=ClientState.REGISTERED,
                                      cash_register__isnull=True)
            .select_related("signing_unit").order_by("client_id", "pk"))


class RegisterStatus:
    """The current master data of a register with its problems, latest revision and pending-change flag."""

    __slots__ = ("data", "latest", "pending_change", "problems")

    def __init__(self, data, problems, latest, pending_change):
        self.data = data
        self.problems = problems
        self.latest = latest
        self.pending_change = pending_change


def register_status(cash_register: CashRegister, day=None) -> RegisterStatus:
    """Like ``master_data.has_pending_change`` but computing the snapshot once for all three answers."""
    day = day or timezone.localdate()
    data = current_master_data(cash_register, day)
    latest = latest_revision(cash_register)
    pending = latest is not None and latest.digest != digest(data) and closing_due(cash_register)
    return RegisterStatus(data, master_data_problems(data), latest, pending)


# --- cash registers --------------------------------------------------------------------------


def _check_outlet(organization, outlet, current=None) -> list[str]:
    if not isinstance(outlet, Outlet) or outlet.organization_id != organization.pk:
        return [gettext("Choose one of the operator's outlets.")]
    if outlet.closed_on is not None and (current is None or outlet.pk != current.pk):
        return [gettext("This outlet is closed.")]
    return []


def _check_version(version, current=None) -> list[str]:
    if not isinstance(version, PosSystemVersion):
        return [gettext("Choose a version of a POS system.")]
    if current is not None and version.pk == current.pk:
        return []
    if not selectable_pos_system_versions().filter(pk=version.pk).exists():
        return [gettext("This POS system is retired; choose a version of a current one.")]
    return []


def _check_currency(value) -> list[str]:
    if not isinstance(value, str) or not CURRENCY.match(value) or pycountry.currencies.get(alpha_3=value) is None:
        return [gettext("The base currency is an ISO 4217 code of three capital letters, e.g. EUR.")]
    return []


def _check_client(organization, client) -> list[str]:
    if not isinstance(client, TseClient) or client.organization_id != organization.pk:
        return [gettext("Choose a POS registered at one of the operator's signing units.")]
    if client.state != ClientState.REGISTERED:
        return [gettext("This POS is no longer registered at its signing unit.")]
    if ILLEGAL_SERIAL.search(client.client_id):
        return [gettext("The serial number of the POS must not contain '/' or '_' (DSFinV-K 2.3).")]
    if CashRegister.unscoped.filter(client_id=client.pk).exists():
        return [gettext("This POS already is a cash register.")]
    return []


def _check_dates(acquired_on, commissioned_on) -> list[str]:
    if acquired_on is not None and commissioned_on is not None and commissioned_on < acquired_on:
        return [gettext("The system cannot be commissioned before it was acquired.")]
    return []


def _raise(errors: dict) -> None:
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def _snapshot(register: CashRegister) -> dict:
    return {
        "client": register.client.client_id,
        "outlet": str(register.outlet.public_id),
        "pos_system_version": str(register.pos_system_version.public_id),
        "base_currency": register.base_currency,
        "no_vat_assignment": register.no_vat_assignment,
        **{name: _audit_value(getattr(register, name)) for name in NOTIFICATION_DATE_FIELDS
           if getattr(register, name) is not None},
    }


def create_cash_register(*, actor, organization, client, outlet, pos_system_version, base_currency="EUR",
                         no_vat_assignment=False, acquired_on=None, commissioned_on=None) -> CashRegister:
    """Make the POS ``client`` a cash register of ``organization``; ``ValidationError`` by field otherwise."""
    with configuration_change(actor, organization):
        if isinstance(client, TseClient):
            client = TseClient.unscoped.select_for_update().get(pk=client.pk)  # one register per client, serialised
        base_currency = base_currency.strip().upper() if isinstance(base_currency, str) else base_currency
        _raise({
            "client": _check_client(organization, client),
            "outlet": _check_outlet(organization, outlet),
            "pos_system_version": _check_version(pos_system_version),
            "base_currency": _check_currency(base_currency),
            "commissioned_on": _check_dates(acquired_on, commissioned_on),
        })
        try:
            with transaction.atomic():
                register = CashRegister.unscoped.create(
                    organization_id=organization.pk, client=client, outlet=outlet,
                    pos_system_version=pos_system_version, base_currency=base_currency,
                    no_vat_assignment=bool(no_vat_assignment), acquired_on=acquired_on,
                    commissioned_on=commissioned_on)
        except IntegrityError:
            raise ValidationError({"client": [gettext("This POS already is a cash register.")]}) from None
        log_action("exports.cash_register.created", actor, organization, register, {"fields": _snapshot(register)})
        return register


def _lock(cash_register: CashRegister) -> CashRegister:
    return (CashRegister.unscoped.select_for_update(of=("self",), no_key=True)
            .select_related("client", "outlet", "pos_system_version", "organization").get(pk=cash_register.pk))


def _require_active(register: CashRegister) -> None:
    if register.decommissioned_at is not None:
        raise MasterDataError("E_CASH_REGISTER_DECOMMISSIONED",
                              _("This cash register is decommissioned and can no longer be changed."), status=409)


def _audit_value(value):
    if isinstance(value, Outlet | PosSystemVersion):
        return str(value.public_id)
    if isinstance(value, date):
        return value.isoformat()
    return value


def update_cash_register(*, actor, cash_register: CashRegister, changes: dict) -> CashRegister:
    """Change outlet, POS system version, base currency or the no-VAT flag (the client never changes)."""
    with configuration_change(actor, cash_register.organization):
        unknown = set(changes) - set(CASH_REGISTER_FIELDS)
        if unknown:
            raise ValueError(f"{', '.join(sorted(unknown))} cannot be changed")
        register = _lock(cash_register)
        _require_active(register)
        changes = dict(changes)
        if isinstance(changes.get("base_currency"), str):
            changes["base_currency"] = changes["base_currency"].strip().upper()
        if "no_vat_assignment" in changes:
            changes["no_vat_assignment"] = bool(changes["no_vat_assignment"])
        _raise({
            "outlet": _check_outlet(register.organization, changes["outlet"], register.outlet)
            if "outlet" in changes else [],
            "pos_system_version": _check_version(changes["pos_system_version"], register.pos_system_version)
            if "pos_system_version" in changes else [],
            "base_currency": _check_currency(changes["base_currency"]) if "base_currency" in changes else [],
            "commissioned_on": _check_dates(changes.get("acquired_on", register.acquired_on),
                                            changes.get("commissioned_on", register.commissioned_on)),
        })
        diff = {}
        for name, value in changes.items():
            old = getattr(register, name)
            if old != value:
                diff[name] = {"old": _audit_value(old), "new": _audit_value(value)}
                setattr(register, name, value)
        if diff:
            register.save(update_fields=[*diff, "updated_at"])
            log_action("exports.cash_register.changed", actor, register.organization, register, {"changes": diff})
            dates = [name for name in NOTIFICATION_DATE_FIELDS if name in diff]
            if dates:  # not in the configuration document: the notification events follow here
                from compliance.services.events import record_register_dates_change

                record_register_dates_change(register, dates)
        return register


def decommission_cash_register(*, actor, cash_register: CashRegister, reason: str = "",
                               note: str = "") -> CashRegister:
    """Take a register out of service for good; it keeps its closings and can still be exported.

    ``reason`` (a ``DecommissionReason``) and ``note`` are reported to the tax office (§ 146a (4) AO)."""
    note = (note or "").strip()
    _raise({
        "reason": [] if reason in ("", *DecommissionReason.values) else [gettext("Choose a reason.")],
        "note": [] if len(note) <= 200 else [gettext("At most 200 characters.")],
    })
    with configuration_change(actor, cash_register.organization):
        register = _lock(cash_register)
        _require_active(register)
        register.decommissioned_at = timezone.now()
        register.decommission_reason, register.decommission_note = reason, note
        register.save(update_fields=["decommissioned_at", "decommission_reason", "decommission_note", "updated_at"])
        log_action("exports.cash_register.changed", actor, register.organization, register, {
            "changes": {"decommissioned_at": {"old": None, "new": register.decommissioned_at.isoformat()},
                        "decommission_reason": {"old": "", "new": reason},
                        "decommission_note": {"old": "", "new": note}}})
        return register


# --- VAT definitions -------------------------------------------------------------------------


def check_own_vat_key(key) -> int:
    """``key`` if it may be an own VAT key (≥ 1000); ``MasterDataError`` E_VAT_KEY_RESERVED below."""
    if isinstance(key, bool) or not isinstance(key, int):
        raise ValidationError({"key": [gettext("The VAT key is a whole number.")]})
    if key < MIN_OWN_VAT_KEY:
        raise MasterDataError("E_VAT_KEY_RESERVED", _(
            "VAT keys below 1000 are defined by DSFinV-K (Anlage 2) and cannot be changed; own keys start at 1000."))
    if key > MAX_VAT_KEY:
        raise ValidationError({"key": [gettext("The VAT key is too large.")]})
    return key


def _clean_rate(rate) -> tuple[Decimal | None, list[str]]:
    if isinstance(rate, bool) or rate is None:
        return None, [gettext("The rate is a number between 0 and 100.")]
    try:
        value = rate if isinstance(rate, Decimal) else Decimal(str(rate).strip())
    except (InvalidOperation, ValueError):
        return None, [gettext("The rate is a number between 0 and 100.")]
    if not value.is_finite() or value < 0 or value > 100:
        return None, [gettext("The rate is a number between 0 and 100.")]
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        return None, [gettext("The rate has at most two decimal places.")]
    return value.quantize(Decimal("0.01")), []


def _clean_description(description) -> tuple[str, list[str]]:
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        return text, [gettext("A description is required.")]
    if len(text) > DESCRIPTION_MAX:
        return text, [gettext("At most {limit} characters ({length} given).").format(limit=DESCRIPTION_MAX,
                                                                                    length=len(text))]
    return text, []


@transaction.atomic
def save_vat_definition(*, actor, organization, key, rate, description, slot) -> tuple[VatDefinition, bool]:
    """Create or change the operator's VAT key ``key`` (≥ 1000); ``(definition, created)``."""
    key = check_own_vat_key(key)
    rate, rate_errors = _clean_rate(rate)
    description, description_errors = _clean_description(description)
    slot_errors = [] if slot in VatSlot.values else [gettext("Choose the processData slot of the key.")]
    _raise({"rate": rate_errors, "description": description_errors, "slot": slot_errors})
    values = {"rate": rate, "description": description, "slot": slot}
    definition = VatDefinition.unscoped.select_for_update().filter(organization_id=organization.pk, key=key).first()
    created = definition is None
    if created:
        try:
            with transaction.atomic():
                definition = VatDefinition.unscoped.create(organization_id=organization.pk, key=key, **values)
        except IntegrityError:  # created concurrently: change that one
            definition = VatDefinition.unscoped.select_for_update().get(organization_id=organization.pk, key=key)
            created = False
    diff = {}
    if not created:
        for name, value in values.items():
            if getattr(definition, name) != value:
                diff[name] = {"old": str(getattr(definition, name)), "new": str(value)}
                setattr(definition, name, value)
        if diff:
            definition.save(update_fields=[*diff, "updated_at"])
    if created or diff:
        log_action("exports.vat_definition.saved", actor, organization, definition, {
            "key": key, "created": created, "rate": str(rate), "description": description, "slot": slot,
            "changes": diff})
    return definition, created


def _document_paths(key: int) -> list[dict]:
    """JSON containment patterns of the closing document that reference VAT key ``key``."""
    return [
        {"businesscases": [{"UST_SCHLUESSEL": key}]},
        {"transactions": [{"vat": [{"UST_SCHLUESSEL": key}]}]},
        {"transactions": [{"lines": [{"vat": [{"UST_SCHLUESSEL": key}]}]}]},
        {"transactions": [{"lines": [{"amounts": [{"UST_SCHLUESSEL": key}]}]}]},
        {"transactions": [{"lines": [{"subitems": [{"ZI_UST_SCHLUESSEL": key}]}]}]},
    ]


def _document_uses(document: dict, key: int) -> bool:
    if any(row.get("UST_SCHLUESSEL") == key for row in document.get("businesscases") or ()):
        return True
    for transaction_ in document.get("transactions") or ():
        if any(row.get("UST_SCHLUESSEL") == key for row in transaction_.get("vat") or ()):
            return True
        for line in transaction_.get("lines") or ():
            rows = [*(line.get("vat") or ()), *(line.get("amounts") or ())]
            if any(row.get("UST_SCHLUESSEL") == key for row in rows):
                return True
            if any(row.get("ZI_UST_SCHLUESSEL") == key for row in line.get("subitems") or ()):
                return True
    return False


def vat_key_in_use(organization, key: int) -> bool:
    """True when an accepted closing of ``organization`` books an amount on VAT key ``key``."""
    closings = CashPointClosing.unscoped.filter(organization_id=organization.pk, state=ClosingState.COMPLETED)
    if connection.vendor == "postgresql":
        condition = Q()
        for pattern in _document_paths(key):
            condition |= Q(document__contains=pattern)
        return closings.filter(condition).exists()
    documents = closings.exclude(document__isnull=True).values_list("document", flat=True)
    return any(_document_uses(document, key) for document in documents.iterator(chunk_size=200))


@transaction.atomic
def delete_vat_definition(*, actor, vat_definition: VatDefinition) -> None:
    """Delete an own VAT key no accepted closing uses (409 ``E_VAT_KEY_IN_USE`` otherwise)."""
    definition = VatDefinition.unscoped.select_for_update().select_related("organization").get(pk=vat_definition.pk)
    if vat_key_in_use(definition.organization, definition.key):
        raise MasterDataError("E_VAT_KEY_IN_USE", _(
            "VAT key {key} is used by an accepted closing. It can be changed, but not deleted.").format(
            key=definition.key), status=409)
    data = {"key": definition.key, "rate": str(definition.rate), "description": definition.description,
            "slot": definition.slot}
    log_action("exports.vat_definition.deleted", actor, definition.organization, definition, data)
    definition.delete()
