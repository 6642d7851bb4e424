"""Fixtures of software TSEs shared by the TSE page and export tests (a plugin of ``tests/conftest.py``).

``new_unit``: a software TSE of the owner, uninitialized. ``ready_unit``: initialized on ``DAY_0``
(time set), POS ``KASSE-01`` and ``KASSE-02`` registered.
"""

import datetime as dt

import pytest
import time_machine

from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

DAY_0 = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def new_unit(owner):
    return create_signing_unit(actor=None, organization=owner.organization, description="Kasse Mitte")


@pytest.fixture
def ready_unit(new_unit):
    with time_machine.travel(DAY_0, tick=False):
        backend = get_backend(initialize_signing_unit(actor=None, signing_unit=new_unit))
        backend.register_client("KASSE-01")
        backend.register_client("KASSE-02")
    return backend.signing_unit
