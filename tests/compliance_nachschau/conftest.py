"""Fixtures of the Kassen-Nachschau tests: a shop with real TSE data and accepted closings.

``shop``: the owner's Betriebsstätte "Café Mitte" with the cash registers ``KASSE-01`` and
``KASSE-02`` of ``ready_unit`` (a software TSE initialized on 1 July 2026), each at its own outlet of
the Betriebsstätte. Both POS signed Kassenbeleg-V1 transactions on the TSE in August and in September
2026 (real log messages), made accepted closings (documents that pass the validator: see
tests/dsfinvk_jobs/conftest.py) on 3 and 10 August and on 7 September, and the TSE had one outage on
5 August. ``build(shop, date_from, date_to)`` requests a bundle and runs it (eager task).
"""

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

import pytest

from compliance.models import NachschauBundle
from compliance.services import nachschau
from tenants.models import Betriebsstaette, Outlet
from tests.dsfinvk_jobs.conftest import Closings, make_register
from tests.dsfinvk_master.conftest import sign
from tse.models import Outage, OutageReason, TseClient

AUGUST = (dt.date(2026, 8, 1), dt.date(2026, 8, 31))
AUG_3 = dt.datetime(2026, 8, 3, 19, 0, tzinfo=dt.UTC)  # 21:00 in Berlin
AUG_10 = dt.datetime(2026, 8, 10, 19, 0, tzinfo=dt.UTC)
SEP_7 = dt.datetime(2026, 9, 7, 19, 0, tzinfo=dt.UTC)
JUL_31_LATE = dt.datetime(2026, 7, 31, 21, 30, tzinfo=dt.UTC)  # 23:30 on 31 July in Berlin: outside August
AUG_31_LATE = dt.datetime(2026, 8, 31, 21, 30, tzinfo=dt.UTC)  # 23:30 on 31 August in Berlin: inside


@dataclass
class Shop:
    organization: object
    premises: Betriebsstaette
    unit: object
    registers: list
    closings: dict = field(default_factory=dict)  # (kasse_id, z_nr) -> closing


def make_premises(organization, name="Café Mitte") -> Betriebsstaette:
    return Betriebsstaette.unscoped.create(organization=organization, name=name, street="Hauptstraße",
                                           house_number="5", postal_code="10115", city="Berlin")


@pytest.fixture
def shop(ready_unit, owner) -> Shop:
    organization = owner.organization
    premises = make_premises(organization)
    clients = TseClient.unscoped.filter(signing_unit=ready_unit).order_by("client_id")
    registers = [make_register(organization, client, number) for number, client in enumerate(clients, 1)]
    Outlet.unscoped.filter(pk__in=[r.outlet_id for r in registers]).update(betriebsstaette=premises)
    for register in registers:
        register.refresh_from_db()
    result = Shop(organization=organization, premises=premises, unit=ready_unit, registers=registers)
    for when in (JUL_31_LATE, AUG_3 - dt.timedelta(hours=2), AUG_10 - dt.timedelta(hours=2), AUG_31_LATE,
                 SEP_7 - dt.timedelta(hours=2)):
        for register in registers:
            sign(register, when)
    closings = Closings()
    for register in registers:  # (register, Z_NR) order, so the BON_IDs of an export ascend
        for z_nr, when in enumerate((AUG_3, AUG_10, SEP_7), 1):
            result.closings[(register.kasse_id, z_nr)] = closings.add(register, z_nr, when)
    Outage.unscoped.create(organization=organization, signing_unit=ready_unit, reason=OutageReason.SIGNING_FAILED,
                           started_at=dt.datetime(2026, 8, 5, 10, 0, tzinfo=dt.UTC),
                           ended_at=dt.datetime(2026, 8, 5, 10, 45, tzinfo=dt.UTC), failed_signings=7)
    ready_unit.refresh_from_db()
    return result


def build(shop: Shop, callbacks, date_from=AUGUST[0], date_to=AUGUST[1], actor=None) -> NachschauBundle:
    with callbacks(execute=True):
        bundle = nachschau.request_bundle(actor, shop.premises, date_from, date_to)
    return NachschauBundle.unscoped.get(pk=bundle.pk)


def bundle_bytes(bundle: NachschauBundle) -> bytes:
    target = io.BytesIO()
    nachschau.copy_bundle(bundle, target)
    return target.getvalue()


def open_zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))
