"""Fixtures of the TSE page tests: software TSEs of the owner (three actors) with signed transactions."""

import datetime as dt

import pytest
import time_machine

from tests.tse_units import DAY_0  # noqa: F401  (the day the units are set up)
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

DAY_1 = dt.datetime(2026, 7, 3, 22, 30, tzinfo=dt.UTC)  # 00:30 on 4 July in Berlin (CEST, +02:00)
DAY_2 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # 11:00 in Berlin (CET, +01:00)
PROCESS_DATA = b"Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"


@pytest.fixture
def signed(ready_unit):
    """Transactions: 1 finished (KASSE-01, day 1), 2 open/unsigned (KASSE-02, day 1), 3 finished order (day 2).

    Returns ``{number: TseTransaction}``.
    """
    from tse.models import TseTransaction

    backend = get_backend(ready_unit)
    with time_machine.travel(DAY_1, tick=False):
        one = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", one.number, "Kassenbeleg-V1", PROCESS_DATA)
        backend.start_transaction("KASSE-02")
    with time_machine.travel(DAY_2, tick=False):
        three = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", three.number, "Bestellung-V1", b'1;"Kaffee";2.50')
    return {tx.number: tx for tx in TseTransaction.unscoped.filter(signing_unit=ready_unit)}


@pytest.fixture
def stranger_unit(stranger):
    unit = create_signing_unit(actor=None, organization=stranger.organization, description="Fremde Kasse")
    backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
    backend.register_client("FREMD-01")
    tx = backend.start_transaction("FREMD-01")
    backend.finish_transaction("FREMD-01", tx.number, "Kassenbeleg-V1", PROCESS_DATA)
    return backend.signing_unit
