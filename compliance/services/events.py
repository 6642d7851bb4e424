"""Notification events (§ 146a (4) AO) and their one-month deadlines.

Most events follow from configuration changes: ``_derive_events`` receives every new
``ConfigurationVersion`` (signal ``configuration_version_recorded``, inside the transaction that stored
it) and compares the cash registers and Betriebsstätten of the previous document with the new one:

- a cash register added → ``acquired`` (its ``acquired_on`` or the day of the change) and
  ``commissioned`` (its ``commissioned_on`` or that day); on an initialized TSE also ``tse_commissioned``;
- ``decommissioned_at`` set → ``decommissioned`` (reason and note in ``details``);
- the register's outlet now belongs to another Betriebsstätte → ``moved_out`` (old) and ``moved_in`` (new);
- its TSE initialized (its first TSE) → ``tse_commissioned``; it moved from one TSE's clients to
  another's → ``tse_replaced`` (old and new serial number in ``details``);
- a Betriebsstätte closed → ``premises_closed`` (the systems still in use listed in ``details``; they are
  not decommissioned by that — the operator decommissions them);
- the notified data of a Betriebsstätte (name, address, remarks) or a register's POS system version
  changed → ``master_data_changed``.

A register whose outlet belongs to no Betriebsstätte makes no event (it is in no notification);
``unassigned_registers`` lists those. Changes of the company data are no configuration versions:
``tenants.services.organizations.update_organization`` calls ``record_master_data_change``.

Each event's ``deadline`` is one month after it (§ 188 (2), (3) BGB). ``cover_events`` marks the open events
of a Betriebsstätte as notified once a notification's submission is confirmed.
"""

import datetime as dt

from django.dispatch import receiver
from django.utils import timezone

from compliance.models import NotificationEvent, NotificationEventKind
from compliance.services.notification_data import unassigned_registers
from tenants.services.configuration.versions import configuration_version_recorded
from tenants.services.entitlements import add_months

__all__ = [
    "NOTIFIED_ORGANIZATION_FIELDS",
    "cover_events",
    "deadline_for",
    "open_events",
    "record_master_data_change",
    "record_register_dates_change",
    "unassigned_registers",
]

Kind = NotificationEventKind
# fields of the company and the Betriebsstätte that a notification reports
NOTIFIED_ORGANIZATION_FIELDS = ("name", "legal_form", "street", "postal_code", "city", "country", "tax_number",
                                "w_idnr")
NOTIFIED_BETRIEBSSTAETTE_FIELDS = ("name", "street", "house_number", "postal_code", "city", "country", "remarks")


def deadline_for(day: dt.date) -> dt.date:
    """One month after ``day``: the same day of the next month, or its last day (31 Jan → 28/29 Feb)."""
    return add_months(day, 1)


def open_events(organization):
    """The events of ``organization`` no confirmed notification covers yet, by deadline."""
    return (NotificationEvent.unscoped.filter(organization_id=organization.pk, covered_by__isnull=True)
            .select_related("betriebsstaette", "cash_register__client", "signing_unit")
            .order_by("deadline", "occurred_on", "pk"))


def cover_events(notification) -> int:
    """Mark every open event of the notification's Betriebsstätte up to its ``as_of`` as notified with it."""
    return (NotificationEvent.unscoped
            .filter(betriebsstaette_id=notification.betriebsstaette_id, covered_by__isnull=True,
                    occurred_on__lte=notification.as_of)
            .update(covered_by=notification))


def _event(kind, *, organization_id, betriebsstaette_id, occurred_on, version=None, cash_register=None,
           signing_unit=None, details=None) -> NotificationEvent:
    return NotificationEvent(organization_id=organization_id, betriebsstaette_id=betriebsstaette_id, kind=kind,
                             cash_register=cash_register, signing_unit=signing_unit, occurred_on=occurred_on,
                             deadline=deadline_for(occurred_on), details=details or {},
                             configuration_version=version)


def record_master_data_change(actor, organization, changed_fields) -> list[NotificationEvent]:
    """``master_data_changed`` for every open Betriebsstätte when a notified company field changed."""
    from tenants.models import Betriebsstaette

    fields = sorted(set(changed_fields) & set(NOTIFIED_ORGANIZATION_FIELDS))
    if not fields:
        return []
    today = timezone.localdate()
    events = [
        _event(Kind.MASTER_DATA_CHANGED, organization_id=organization.pk, betriebsstaette_id=pk, occurred_on=today,
               details={"scope": "organization", "fields": fields})
        for pk in Betriebsstaette.unscoped.filter(organization_id=organization.pk, closed_on__isnull=True)
        .order_by("pk").values_list("pk", flat=True)
    ]
    return NotificationEvent.unscoped.bulk_create(events)


def record_register_dates_change(cash_register, fields) -> list[NotificationEvent]:
    """The acquisition or commissioning date of ``cash_register`` was corrected (these dates are no part of
    the configuration document): its open ``acquired``/``commissioned`` events move to the new date; a date
    already notified makes a ``master_data_changed`` event (a correction of the notification)."""
    from tenants.models import Outlet

    premises_id = Outlet.unscoped.filter(pk=cash_register.outlet_id).values_list("betriebsstaette_id",
                                                                                 flat=True).first()
    if premises_id is None:
        return []
    kinds = {"acquired_on": Kind.ACQUIRED, "commissioned_on": Kind.COMMISSIONED}
    corrected = []
    for name in fields:
        day = getattr(cash_register, name) or timezone.localdate(cash_register.created_at)
        moved = NotificationEvent.unscoped.filter(cash_register_id=cash_register.pk, kind=kinds[name],
                                                  covered_by__isnull=True).update(occurred_on=day,
                                                                                  deadline=deadline_for(day))
        if not moved:
            corrected.append(name)
    if not corrected:
        return []
    event = _event(Kind.MASTER_DATA_CHANGED, organization_id=cash_register.organization_id,
                   betriebsstaette_id=premises_id, occurred_on=timezone.localdate(), cash_register=cash_register,
                   details={"scope": "cash_register", "serial_number": cash_register.client.client_id,
                            "fields": corrected})
    event.save()
    return [event]


# --- derived from configuration versions -----------------------------------------------------------


def _premises(document: dict) -> tuple[dict, dict]:
    """(Betriebsstätten by public id, public id by document key)."""
    by_id, key_to_id = {}, {}
    for item in document.get("betriebsstaetten") or ():
        by_id[item["id"]] = item
        key_to_id[item.get("reference") or item["id"]] = item["id"]
    return by_id, key_to_id


def _registers(document: dict) -> dict:
    """Cash registers by public id: their Betriebsstätte (public id or None), TSE and notified values."""
    _by_id, key_to_id = _premises(document)
    premises_of_outlet = {outlet["number"]: key_to_id.get(outlet.get("betriebsstaette"))
                          for outlet in document.get("outlets") or ()}
    units = [unit for outlet in document.get("outlets") or () for unit in outlet.get("signing_units") or ()]
    units += list(document.get("signing_units") or ())
    registers = {}
    for unit in units:
        for client in unit.get("clients") or ():
            register = client.get("cash_register")
            if not register:
                continue
            registers[register["id"]] = {
                "client_id": client["client_id"],
                "betriebsstaette": premises_of_outlet.get(register.get("outlet")),
                "outlet": register.get("outlet"),
                "unit": unit["id"],
                "unit_serial": unit.get("serial_number") or "",
                "unit_ready": bool(unit.get("initialize")),
                "pos_system_version": register.get("pos_system_version"),
                "pos_system": register.get("pos_system"),
                "decommissioned_at": register.get("decommissioned_at"),
            }
    return registers


class _Deriver:
    def __init__(self, version, old_document: dict, new_document: dict):
        self.version = version
        self.day = timezone.localdate(version.created_at)
        self.old_premises, _keys = _premises(old_document)
        self.new_premises, _keys = _premises(new_document)
        self.old_registers = _registers(old_document)
        self.new_registers = _registers(new_document)
        self.planned: list[tuple] = []  # (kind, premises public id, occurred_on, register id, unit id, details)

    def plan(self, kind, premises_id, *, occurred_on=None, register=None, unit=None, details=None):
        if premises_id is not None:
            self.planned.append((kind, premises_id, occurred_on or self.day, register, unit, details or {}))

    def derive(self):
        for register_id, new in self.new_registers.items():
            self.register(register_id, self.old_registers.get(register_id), new)
        for premises_id, new in self.new_premises.items():
            self.betriebsstaette(premises_id, self.old_premises.get(premises_id), new)

    def register(self, register_id, old, new):
        where = new["betriebsstaette"]
        base = {"serial_number": new["client_id"]}
        if old is None:
            self.plan(Kind.ACQUIRED, where, register=register_id, details=base)
            self.plan(Kind.COMMISSIONED, where, register=register_id, details=base)
            if new["unit_ready"]:
                self.plan(Kind.TSE_COMMISSIONED, where, register=register_id, unit=new["unit"],
                          details={**base, "tse_serial_number": new["unit_serial"]})
            return
        if old["betriebsstaette"] != where:
            moved = {**base, "from": self._premises_name(old["betriebsstaette"]),
                     "to": self._premises_name(where)}
            self.plan(Kind.MOVED_OUT, old["betriebsstaette"], register=register_id, details=moved)
            self.plan(Kind.MOVED_IN, where, register=register_id, details=moved)
        if old["decommissioned_at"] is None and new["decommissioned_at"] is not None:
            moment = dt.datetime.fromisoformat(new["decommissioned_at"].replace("Z", "+00:00"))
            self.plan(Kind.DECOMMISSIONED, where, occurred_on=timezone.localdate(moment), register=register_id,
                      details=base)
        if old["unit"] != new["unit"] and old["unit_ready"]:
            self.plan(Kind.TSE_REPLACED, where, register=register_id, unit=new["unit"],
                      details={**base, "old_tse_serial_number": old["unit_serial"],
                               "new_tse_serial_number": new["unit_serial"]})
        elif new["unit_ready"] and not old["unit_ready"]:
            self.plan(Kind.TSE_COMMISSIONED, where, register=register_id, unit=new["unit"],
                      details={**base, "tse_serial_number": new["unit_serial"], "first_tse": True})
        if old["pos_system_version"] != new["pos_system_version"] and new["decommissioned_at"] is None:
            self.plan(Kind.MASTER_DATA_CHANGED, where, register=register_id, details={
                **base, "scope": "cash_register", "fields": ["pos_system_version"],
                "changes": {"pos_system_version": {"old": old["pos_system"], "new": new["pos_system"]}}})

    def betriebsstaette(self, premises_id, old, new):
        if old is None:
            return
        if old.get("closed_on") is None and new.get("closed_on") is not None:
            active = sorted(r["client_id"] for r in self.new_registers.values()
                            if r["betriebsstaette"] == premises_id and r["decommissioned_at"] is None)
            self.plan(Kind.PREMISES_CLOSED, premises_id, occurred_on=dt.date.fromisoformat(new["closed_on"]),
                      details={"active_systems": active})
        changes = {name: {"old": old.get(name), "new": new.get(name)}
                   for name in NOTIFIED_BETRIEBSSTAETTE_FIELDS if old.get(name) != new.get(name)}
        if changes:
            self.plan(Kind.MASTER_DATA_CHANGED, premises_id, details={
                "scope": "betriebsstaette", "fields": list(changes), "changes": changes})

    def _premises_name(self, premises_id):
        item = self.new_premises.get(premises_id) or self.old_premises.get(premises_id)
        return item["name"] if item else None

    def store(self) -> list[NotificationEvent]:
        from exports.models import CashRegister
        from tenants.models import Betriebsstaette
        from tse.models import SigningUnit

        if not self.planned:
            return []
        organization_id = self.version.organization_id
        premises = dict(Betriebsstaette.unscoped.filter(
            organization_id=organization_id, public_id__in={p[1] for p in self.planned}).values_list("public_id", "pk"))
        registers = {str(r.public_id): r for r in CashRegister.unscoped.filter(
            organization_id=organization_id, public_id__in={p[3] for p in self.planned if p[3]})}
        units = dict(SigningUnit.unscoped.filter(
            organization_id=organization_id, public_id__in={p[4] for p in self.planned if p[4]})
            .values_list("public_id", "pk"))
        premises = {str(key): pk for key, pk in premises.items()}
        units = {str(key): pk for key, pk in units.items()}
        earlier_tse = set()
        if any(p[0] == Kind.TSE_COMMISSIONED for p in self.planned):
            earlier_tse = set(NotificationEvent.unscoped.filter(
                organization_id=organization_id, kind__in=[Kind.TSE_COMMISSIONED, Kind.TSE_REPLACED],
                cash_register__in=list(registers.values())).values_list("cash_register_id", flat=True))
        events = []
        for kind, premises_id, occurred_on, register_id, unit_id, details in self.planned:
            register = registers.get(register_id) if register_id else None
            if premises_id not in premises or (register_id and register is None):
                continue
            if kind == Kind.TSE_COMMISSIONED and register.pk in earlier_tse:
                continue  # not its first TSE
            if register is not None:
                occurred_on = self._register_day(kind, register, occurred_on)
                details = self._register_details(kind, register, details)
            event = _event(kind, organization_id=organization_id, betriebsstaette_id=premises[premises_id],
                           occurred_on=occurred_on, version=self.version, cash_register=register, details=details)
            event.signing_unit_id = units.get(unit_id) if unit_id else None
            events.append(event)
        return NotificationEvent.unscoped.bulk_create(events)

    @staticmethod
    def _register_day(kind, register, day):
        if kind == Kind.ACQUIRED and register.acquired_on is not None:
            return register.acquired_on
        if kind == Kind.COMMISSIONED and register.commissioned_on is not None:
            return register.commissioned_on
        return day

    @staticmethod
    def _register_details(kind, register, details):
        if kind == Kind.DECOMMISSIONED:
            return {**details, "reason": register.decommission_reason, "note": register.decommission_note}
        return details


@receiver(configuration_version_recorded, dispatch_uid="compliance.notification_events")
def _derive_events(sender, version, previous, actor=None, **kwargs):
    deriver = _Deriver(version, previous.document if previous is not None else {}, version.document)
    deriver.derive()
    deriver.store()
