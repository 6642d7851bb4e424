"""The configuration document of an operator: ``snapshot`` reads it from the rows, ``digest`` fingerprints it.

``snapshot(organization)`` returns the operator's fiscal set-up in the format
``kassenportal.configuration/1`` (see ``schema``): Betriebsstätten, outlets with their signing units,
each unit's POS clients and the cash register of each client; signing units without an outlet in the
top-level ``signing_units``. The document is deterministic — lists sorted by their keys, every key
present — so two snapshots of an unchanged configuration have the same ``digest``.

Reading costs five queries whatever the number of objects (flat ``unscoped`` queries filtered by the
organization, joined in Python), so it works inside and outside a tenant scope (Celery workers,
services). A LAN TSE's API token is never part of the document.
"""

import datetime as dt
import hashlib
import json

from tenants.models import Betriebsstaette, Entitlement, EntitlementState, Outlet
from tenants.services.configuration.schema import CONFIGURATION_FORMAT

__all__ = ["digest", "empty_document", "snapshot"]


def _datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _address(instance) -> dict:
    return {
        "street": instance.street,
        "house_number": instance.house_number,
        "postal_code": instance.postal_code,
        "city": instance.city,
        "country": instance.country,
    }


def _betriebsstaette_key(betriebsstaette) -> str:
    return betriebsstaette.reference or str(betriebsstaette.public_id)


def _pos_system_label(version) -> str:
    system = version.pos_system
    return f"{system.brand} {system.name} {system.model} · {version.software_name} {version.software_version}"


def _cash_register(register) -> dict:
    return {
        "id": str(register.public_id),
        "pos_system_version": str(register.pos_system_version.public_id),
        "pos_system": _pos_system_label(register.pos_system_version),
        "outlet": register.outlet.number,
        "base_currency": register.base_currency,
        "no_vat_assignment": register.no_vat_assignment,
        "decommissioned_at": _datetime(register.decommissioned_at),
    }


def _client(client) -> dict:
    register = getattr(client, "cash_register", None)
    return {
        "client_id": client.client_id,
        "state": client.state,
        "cash_register": _cash_register(register) if register is not None else None,
    }


def _connection(unit) -> dict | None:
    from tse.models import BackendType

    if unit.backend != BackendType.LAN:
        return None
    connection = getattr(unit, "lan_connection", None)
    if connection is None:
        return None
    return {"host": connection.host, "port": connection.port, "tse_serial_number": connection.tse_serial_number}


def _signing_unit(unit, clients: list, products: dict, *, top_level: bool) -> dict:
    from tse.models import BackendType, SigningUnitState

    product = products.get(unit.pk)
    document = {
        "id": str(unit.public_id),
        "reference": unit.reference or None,
        "backend": unit.backend,
        "description": unit.description,
        "mode": unit.mode,
        "curve": (unit.curve or None) if unit.backend == BackendType.SOFTWARE else None,
        "max_clients": unit.max_clients,
        "connection": _connection(unit),
        "initialize": unit.state != SigningUnitState.UNINITIALIZED,
        "entitlement": {"product": product} if product is not None else None,
        "state": unit.state,
        "serial_number": unit.serial_number or None,
    }
    if top_level:
        document["outlet"] = None
    document["clients"] = [_client(client) for client in sorted(clients, key=lambda c: c.client_id)]
    return document


def empty_document() -> dict:
    """The document of an operator without any configuration (without ``operator``)."""
    return {"format": CONFIGURATION_FORMAT, "betriebsstaetten": [], "outlets": [], "signing_units": []}


def snapshot(organization) -> dict:
    """The configuration document of ``organization`` (five queries, whatever its size)."""
    from tse.models import SigningUnit, TseClient

    premises = sorted(Betriebsstaette.unscoped.filter(organization_id=organization.pk),
                      key=_betriebsstaette_key)
    outlets = list(Outlet.unscoped.filter(organization_id=organization.pk)
                   .select_related("betriebsstaette").order_by("number", "pk"))
    units = list(SigningUnit.unscoped.filter(organization_id=organization.pk)
                 .select_related("lan_connection").order_by("created_at", "pk"))
    units.sort(key=lambda unit: unit.reference)  # stable: (reference, created_at, pk)
    products = dict(Entitlement.unscoped.filter(signing_unit__organization_id=organization.pk,
                                                state=EntitlementState.ACTIVE)
                    .values_list("signing_unit_id", "product__code"))
    clients_of: dict[int, list] = {}
    for client in (TseClient.unscoped.filter(organization_id=organization.pk)
                   .select_related("cash_register__outlet", "cash_register__pos_system_version__pos_system")):
        clients_of.setdefault(client.signing_unit_id, []).append(client)

    units_of: dict[int | None, list] = {}
    for unit in units:
        units_of.setdefault(unit.outlet_id, []).append(unit)

    def unit_documents(outlet_id, *, top_level: bool) -> list:
        return [_signing_unit(unit, clients_of.get(unit.pk, []), products, top_level=top_level)
                for unit in units_of.get(outlet_id, [])]

    return {
        "format": CONFIGURATION_FORMAT,
        "operator": {"id": str(organization.public_id), "name": organization.name},
        "betriebsstaetten": [
            {
                "id": str(betriebsstaette.public_id),
                "reference": betriebsstaette.reference or None,
                "name": betriebsstaette.name,
                **_address(betriebsstaette),
                "remarks": betriebsstaette.remarks,
                "closed_on": _date(betriebsstaette.closed_on),
            }
            for betriebsstaette in premises
        ],
        "outlets": [
            {
                "id": str(outlet.public_id),
                "number": outlet.number,
                "name": outlet.name,
                **_address(outlet),
                "betriebsstaette": (_betriebsstaette_key(outlet.betriebsstaette)
                                    if outlet.betriebsstaette is not None else None),
                "closed_on": _date(outlet.closed_on),
                "signing_units": unit_documents(outlet.pk, top_level=False),
            }
            for outlet in outlets
        ],
        "signing_units": unit_documents(None, top_level=True),
    }


def digest(document: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``document`` without its ``operator`` key."""
    content = {key: value for key, value in document.items() if key != "operator"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
