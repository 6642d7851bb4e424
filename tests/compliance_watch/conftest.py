"""Fixtures of the TSE expiry watch tests.

``TODAY`` (1 December 2026, Berlin) is the day most tests travel to (``on_today``). ``make_tse(organization,
days=…)`` writes an initialized certified TSE with the ORM whose device certificate expires ``days`` after
``TODAY`` (noon, Berlin), by default a fiskaly cloud TSE of ``BSI-K-TR-0403-2021``. ``make_outlet`` gives an
operator an outlet.
"""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tenants.models import Outlet
from tse.models import BackendType, SigningUnit, SigningUnitMode, SigningUnitState

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)
_serials = itertools.count(1)


def expiry(days: int, today: dt.date = TODAY) -> dt.datetime:
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(12, 0), tzinfo=BERLIN)


def make_tse(organization, *, days: int | None = 400, bsi: str = "BSI-K-TR-0403-2021",
             backend: str = BackendType.FISKALY, state: str = SigningUnitState.INITIALIZED, form_factor: str = "",
             outlet=None, description: str = "", remaining: int | None = None) -> SigningUnit:
    number = next(_serials)
    return SigningUnit.unscoped.create(
        organization=organization, backend=backend, state=state, mode=SigningUnitMode.LIVE, outlet=outlet,
        serial_number=f"{number:064x}", bsi_certification_id=bsi, form_factor=form_factor,
        description=description or f"TSE {number}", remaining_signatures=remaining,
        certificate_expires_at=expiry(days) if days is not None else None,
    )


@pytest.fixture
def on_today():
    with time_machine.travel(NOW, tick=False):
        yield TODAY


@pytest.fixture
def make_outlet():
    numbers = itertools.count(1)

    def outlet(organization, name="Filiale Mitte"):
        number = next(numbers)
        return Outlet.unscoped.create(organization=organization, number=number, name=name, street="Hauptstraße",
                                      house_number=str(number), postal_code="10115", city="Berlin")

    return outlet
