"""Fixtures of the TAR export job tests: a temporary MEDIA_ROOT and software TSEs with signed history."""

import datetime as dt

import pytest
import time_machine

from tests.tse_units import DAY_0  # noqa: F401  (the day the units are set up)
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

DAY_1 = dt.datetime(2026, 7, 31, 22, 30, tzinfo=dt.UTC)  # 00:30 on 1 August in Berlin (CEST, +02:00)
DAY_2 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # 11:00 in Berlin (CET, +01:00)
PROCESS_DATA = b"Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"


def stored_files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def signed(ready_unit):
    """Transaction 1 (KASSE-01, day 1), 2 (KASSE-02, day 1, open), 3 (KASSE-01, day 2); returns the unit."""
    backend = get_backend(ready_unit)
    with time_machine.travel(DAY_1, tick=False):
        one = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", one.number, "Kassenbeleg-V1", PROCESS_DATA)
        backend.start_transaction("KASSE-02")
    with time_machine.travel(DAY_2, tick=False):
        three = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", three.number, "Bestellung-V1", b'1;"Kaffee";2.50')
    return backend.signing_unit


@pytest.fixture
def stranger_unit(stranger):
    unit = create_signing_unit(actor=None, organization=stranger.organization, description="Fremde Kasse")
    backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
    backend.register_client("FREMD-01")
    tx = backend.start_transaction("FREMD-01")
    backend.finish_transaction("FREMD-01", tx.number, "Kassenbeleg-V1", PROCESS_DATA)
    return backend.signing_unit
