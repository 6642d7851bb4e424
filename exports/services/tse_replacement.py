"""Replacing the TSE of a cash register (certificate expiry, defect, a switch between cloud and hardware).

``replace_tse(actor, cash_register, signing_unit)``: the register's POS (same serial number = client
id) is registered at the new signing unit — an initialized unit of the same operator — and the register
points to that new ``TseClient`` from now on. The old client stays at the old unit with its
transactions and log messages, which stay exportable (TAR, DSFinV-K ``tse.csv`` of earlier closings).
One configuration change: the configuration version shows the register moving from the old unit's
clients to the new one's, from which ``compliance.services.events`` derives the ``tse_replaced`` event
(old and new serial number). Audited as ``exports.cash_register.tse_replaced``.
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.models import CashRegister
from exports.services.cash_registers import MasterDataError
from portal.services.audit import log_action, register_action_labels
from tenants.services.configuration.versions import configuration_change
from tse.backends.base import TseError
from tse.models import ClientState, SigningUnit, SigningUnitState, TseClient

__all__ = ["replace_tse", "replacement_units"]

register_action_labels({
    "exports.cash_register.tse_replaced": _("TSE of a cash register replaced"),
})


def replacement_units(cash_register: CashRegister):
    """The signing units ``cash_register`` may move to: the operator's other initialized units."""
    return (SigningUnit.unscoped.filter(organization_id=cash_register.organization_id,
                                        state=SigningUnitState.INITIALIZED)
            .exclude(pk=cash_register.client.signing_unit_id).order_by("created_at", "pk"))


def _new_client(actor, unit: SigningUnit, client_id: str) -> TseClient:
    from tse.services.protocol import register_client

    existing = TseClient.unscoped.filter(signing_unit=unit, client_id=client_id).first()
    if existing is not None and CashRegister.unscoped.filter(client_id=existing.pk).exists():
        raise MasterDataError("E_CLIENT_IN_USE", _(
            "The POS is registered at this TSE already and belongs to another cash register."), status=409)
    if existing is not None and existing.state == ClientState.REGISTERED:
        return existing
    try:
        return register_client(actor=actor, signing_unit=unit, client_id=client_id)
    except TseError as exc:
        raise MasterDataError(exc.code, exc.message, status=409 if exc.status < 500 else exc.status) from exc


def replace_tse(actor, cash_register: CashRegister, signing_unit: SigningUnit) -> CashRegister:
    """Move ``cash_register`` to ``signing_unit`` (its POS registered there); ``MasterDataError`` if refused."""
    with configuration_change(actor, cash_register.organization):
        register = (CashRegister.unscoped.select_for_update(of=("self",), no_key=True)
                    .select_related("client__signing_unit", "organization").get(pk=cash_register.pk))
        if register.decommissioned_at is not None:
            raise MasterDataError("E_CASH_REGISTER_DECOMMISSIONED",
                                  _("This cash register is decommissioned and can no longer be changed."), status=409)
        unit = SigningUnit.unscoped.filter(pk=getattr(signing_unit, "pk", None)).first()
        if unit is None or unit.organization_id != register.organization_id:
            raise MasterDataError("E_SIGNING_UNIT_NOT_FOUND", _("Choose one of the operator's signing units."),
                                  status=404)
        old_client = register.client
        old_unit = old_client.signing_unit
        if unit.pk == old_unit.pk:
            raise MasterDataError("E_SAME_SIGNING_UNIT", _("The cash register already uses this TSE."))
        if unit.state != SigningUnitState.INITIALIZED:
            raise MasterDataError("E_TSE_NOT_INITIALIZED", _("Initialize the new TSE first."), status=409)
        client = _new_client(actor, unit, old_client.client_id)
        register.client = client
        register.save(update_fields=["client", "updated_at"])
        log_action("exports.cash_register.tse_replaced", actor, register.organization, register, {
            "client_id": client.client_id,
            "old": {"signing_unit": str(old_unit.public_id), "serial_number": old_unit.serial_number,
                    "client": str(old_client.public_id)},
            "new": {"signing_unit": str(unit.public_id), "serial_number": unit.serial_number,
                    "client": str(client.public_id)},
        })
        return register


def describe_unit(unit: SigningUnit) -> str:
    """A label of a unit for choices: its description and the start of its serial number."""
    serial = (unit.serial_number or "")[:16]
    return f"{unit.description or gettext('TSE')} ({serial}…)" if serial else (unit.description or gettext("TSE"))
