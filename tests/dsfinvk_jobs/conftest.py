"""Fixtures of the DSFinV-K export job tests: a temporary MEDIA_ROOT, cash registers on a software TSE, closings.

``registers``: the owner's POS ``KASSE-01`` and ``KASSE-02`` of ``ready_unit`` (tests/tse_units.py) as
cash registers. ``Closings.add(register, z_nr, when)`` writes an accepted closing with the ORM: the
master-data revision from ``revision_for_closing`` and a consistent document from
``tests.dsfinvk_documents.make_document`` (BON_IDs and TSE transaction numbers counted on per test,
so an export of closings created in (register, Z_NR) order passes the validator).
"""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from exports.models import CashPointClosing, CashRegister, ClosingState
from exports.services.master_data import revision_for_closing
from tenants.models import Outlet, PosSystem, PosSystemVersion
from tests.dsfinvk_documents import make_document, simple_receipts
from tse.models import TseClient

BERLIN = ZoneInfo("Europe/Berlin")
NOV_1 = dt.datetime(2026, 11, 1, 21, 0, tzinfo=dt.UTC)  # 22:00 on 1 November in Berlin


def stored_files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def make_register(organization, client: TseClient, number: int) -> CashRegister:
    system = PosSystem.unscoped.create(organization=organization, name=f"Kasse {number}", brand="Kassenbau",
                                       model="K1", system_type="pc_pos")
    version = PosSystemVersion.unscoped.create(pos_system=system, organization=organization,
                                               software_name="KassenSoft", software_version="4.2")
    outlet = Outlet.unscoped.create(organization=organization, number=number, name=f"Filiale {number}",
                                    street="Hauptstraße", house_number=str(number), postal_code="10115",
                                    city="Berlin")
    return CashRegister.unscoped.create(organization=organization, client=client, outlet=outlet,
                                        pos_system_version=version)


@pytest.fixture
def registers(ready_unit):
    clients = TseClient.unscoped.filter(signing_unit=ready_unit).order_by("client_id")
    return [make_register(ready_unit.organization, client, number) for number, client in enumerate(clients, 1)]


class Closings:
    """Writes accepted closings; numbering of BON_IDs and TSE transactions continues across calls."""

    def __init__(self):
        self.next_bon = 1
        self.next_tanr = 1

    def add(self, register, z_nr: int, when: dt.datetime, *, receipts: int = 2, document=None) -> CashPointClosing:
        specs = simple_receipts(receipts)
        if document is None:
            document = make_document(specs, first_bon=self.next_bon, first_tanr=self.next_tanr,
                                     start=when - dt.timedelta(hours=2))
        self.next_bon += len(specs)
        self.next_tanr += len(specs)
        day = when.astimezone(BERLIN).date()
        total = sum((Decimal(p["Z_ZAHLART_BETRAG"]) for p in document["payment"]), Decimal("0"))
        with transaction.atomic():  # as the intake: the revision is chosen under a lock of the register
            return self._create(register, z_nr, when, day, document, total)

    @staticmethod
    def _create(register, z_nr, when, day, document, total) -> CashPointClosing:
        revision = revision_for_closing(register, day)
        return CashPointClosing.unscoped.create(
            closing_id=uuid.uuid4(), organization_id=register.organization_id, cash_register=register, z_nr=z_nr,
            export_creation_date=when, business_date=day, state=ClosingState.COMPLETED, request_hash="0" * 64,
            document=document, revision=revision,
            z_erstellung=when.astimezone(BERLIN).replace(microsecond=0).isoformat(), full_amount=total,
            cash_amount=Decimal(document["cashpointclosing"]["Z_SE_BARZAHLUNGEN"]),
            transaction_count=len(document["transactions"]),
            line_count=sum(len(tx["lines"]) for tx in document["transactions"]), processed_at=when)


@pytest.fixture
def closings(registers):
    return Closings()


@pytest.fixture
def closed(registers, closings):
    """KASSE-01: Z 1 and 2, KASSE-02: Z 1 (all on 1 November 2026)."""
    one, two = registers
    return [closings.add(one, 1, NOV_1), closings.add(one, 2, NOV_1 + dt.timedelta(minutes=30)),
            closings.add(two, 1, NOV_1 + dt.timedelta(minutes=40))]
