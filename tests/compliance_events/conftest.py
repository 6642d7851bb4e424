"""Fixtures of the notification-event tests: two Betriebsstätten of the owner with one outlet each, an
outlet without a Betriebsstätte, and cash registers on the software TSE of ``ready_unit``.

``premises``: ``{"mitte": …, "nord": …}`` (Betriebsstätten), ``{"1": …, "2": …, "3": …}`` (outlets 1 and 2
belong to Mitte and Nord, outlet 3 to none), all made through the services on ``SETUP_DAY``.
``make_register(serial, outlet, when=…)`` makes the POS ``serial`` of ``ready_unit`` a cash register.
"""

import datetime as dt

import pytest
import time_machine

from exports.services.cash_registers import create_cash_register
from tenants.services.premises import create_betriebsstaette, create_outlet
from tests.dsfinvk_master.conftest import catalogue, client_of  # noqa: F401  (fixture)
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

SETUP_DAY = dt.datetime(2026, 7, 2, 8, 0, tzinfo=dt.UTC)
REGISTER_DAY = dt.datetime(2026, 7, 10, 10, 0, tzinfo=dt.UTC)  # 10 July in Berlin


def address(**extra) -> dict:
    return {"street": "Hauptstraße", "house_number": "5", "postal_code": "10115", "city": "Berlin", **extra}


@pytest.fixture
def premises(owner):
    organization = owner.organization
    with time_machine.travel(SETUP_DAY, tick=False):
        mitte = create_betriebsstaette(actor=None, organization=organization,
                                       data={"name": "Laden Mitte", **address()})
        nord = create_betriebsstaette(actor=None, organization=organization,
                                      data={"name": "Laden Nord", **address(street="Nordweg", house_number="9")})
        outlets = {
            "1": create_outlet(actor=None, organization=organization,
                               data={"number": 1, "name": "Mitte", "betriebsstaette": mitte, **address()}),
            "2": create_outlet(actor=None, organization=organization,
                               data={"number": 2, "name": "Nord", "betriebsstaette": nord, **address()}),
            "3": create_outlet(actor=None, organization=organization,
                               data={"number": 3, "name": "Lager", **address()}),
        }
    return {"mitte": mitte, "nord": nord, **outlets}


@pytest.fixture
def make_register(owner, ready_unit, catalogue):  # noqa: F811
    def make(serial, outlet, *, when=REGISTER_DAY, unit=None, version="new", **extra):
        with time_machine.travel(when, tick=False):
            return create_cash_register(actor=None, organization=owner.organization,
                                        client=client_of(unit or ready_unit, serial), outlet=outlet,
                                        pos_system_version=catalogue[version], **extra)
    return make


@pytest.fixture
def second_unit(owner):
    """Another software TSE of the owner, initialized on 1 September 2026."""
    with time_machine.travel(dt.datetime(2026, 9, 1, 7, 0, tzinfo=dt.UTC), tick=False):
        unit = create_signing_unit(actor=None, organization=owner.organization, description="Neue TSE")
        return get_backend(initialize_signing_unit(actor=None, signing_unit=unit)).signing_unit
