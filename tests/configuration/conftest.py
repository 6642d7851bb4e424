"""Fixtures of the configuration-core tests: an operator set-up through the services."""

import pytest

from exports.services.cash_registers import create_cash_register
from tenants.services.premises import create_betriebsstaette, create_outlet
from tse.models import TseClient
from tse.services.protocol import register_client
from tse.services.signing_units import create_signing_unit, initialize_signing_unit

ADDRESS = {"street": "Hauptstraße", "house_number": "1", "postal_code": "10115", "city": "Berlin"}


def make_setup(organization, version, *, units: int = 1, actor=None) -> dict:
    """A Betriebsstätte ``main``, outlet 1 and ``units`` initialized software TSEs (``tse-1`` …) at it,
    each with POS ``KASSE-<i>`` as a cash register of ``version``."""
    premises = create_betriebsstaette(actor=actor, organization=organization,
                                      data={"name": "Hauptsitz", "reference": "main", **ADDRESS})
    outlet = create_outlet(actor=actor, organization=organization,
                           data={"number": 1, "name": "Filiale Mitte", "betriebsstaette": premises, **ADDRESS})
    created = []
    for i in range(1, units + 1):
        unit = create_signing_unit(actor=actor, organization=organization, outlet=outlet, description=f"TSE {i}",
                                   reference=f"tse-{i}")
        unit = initialize_signing_unit(actor=actor, signing_unit=unit)
        client = register_client(actor=actor, signing_unit=unit, client_id=f"KASSE-{i:02}")
        create_cash_register(actor=actor, organization=organization, client=client, outlet=outlet,
                             pos_system_version=version)
        created.append(unit)
    return {"betriebsstaette": premises, "outlet": outlet, "units": created,
            "clients": list(TseClient.unscoped.filter(organization=organization).order_by("client_id"))}


@pytest.fixture
def setup(owner, pos_catalogue):
    return make_setup(owner.organization, pos_catalogue["new"])
