"""Fixtures of the DSFinV-K master-data tests: a POS catalogue, outlets, cash registers on software TSEs.

``register``: the owner's POS ``KASSE-01`` of ``ready_unit`` (tests/tse_units.py) as a cash register at
outlet 1, running ``Kasse 3.1``; ``stranger_register`` the same for the stranger.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from exports.models import CashPointClosing, ClosingState
from exports.services.cash_registers import create_cash_register
from exports.services.master_data import revision_for_closing
from tenants.models import Outlet, PosSystem, PosSystemVersion
from tests.factories import make_organization
from tse.models import TseClient
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

DAY_1 = dt.datetime(2026, 7, 31, 22, 30, tzinfo=dt.UTC)  # 00:30 on 1 August in Berlin
DAY_2 = dt.datetime(2026, 8, 2, 10, 0, tzinfo=dt.UTC)
PROCESS_DATA = b"Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"


@pytest.fixture
def catalogue(db):
    """A creator's POS system with two versions, and a retired system with one."""
    creator = make_organization(roles=("creator",), name="Kassenbau GmbH")
    system = PosSystem.unscoped.create(organization=creator, name="Kasse", brand="Kassenbau", model="K1",
                                       system_type="pc_pos")
    old = PosSystemVersion.unscoped.create(pos_system=system, organization=creator, software_name="KassenSoft",
                                           software_version="3.0")
    new = PosSystemVersion.unscoped.create(pos_system=system, organization=creator, software_name="KassenSoft",
                                           software_version="3.1")
    retired = PosSystem.unscoped.create(organization=creator, name="Altkasse", brand="Kassenbau", model="A0",
                                        system_type="pc_pos", retired_at=timezone.now())
    retired_version = PosSystemVersion.unscoped.create(pos_system=retired, organization=creator,
                                                       software_name="AltSoft", software_version="1.0")
    return {"old": old, "new": new, "retired": retired_version}


def make_outlet(organization, number, name="Filiale Mitte", **extra) -> Outlet:
    return Outlet.unscoped.create(organization=organization, number=number, name=name, street="Hauptstraße",
                                  house_number=str(number), postal_code="10115", city="Berlin", **extra)


@pytest.fixture
def outlets(owner):
    return [make_outlet(owner.organization, 1), make_outlet(owner.organization, 2, "Filiale Nord")]


def client_of(unit, serial) -> TseClient:
    return TseClient.unscoped.get(signing_unit=unit, client_id=serial)


@pytest.fixture
def register(ready_unit, outlets, catalogue, owner):
    return create_cash_register(actor=None, organization=owner.organization, client=client_of(ready_unit, "KASSE-01"),
                                outlet=outlets[0], pos_system_version=catalogue["new"])


@pytest.fixture
def stranger_register(stranger, catalogue):
    unit = create_signing_unit(actor=None, organization=stranger.organization, description="Fremde Kasse")
    backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
    backend.register_client("FREMD-01")
    return create_cash_register(actor=None, organization=stranger.organization,
                                client=client_of(unit, "FREMD-01"), outlet=make_outlet(stranger.organization, 1),
                                pos_system_version=catalogue["new"])


def sign(register, when) -> None:
    """One finished Kassenbeleg-V1 transaction of the register's POS at ``when``."""
    backend = get_backend(register.client.signing_unit)
    with time_machine.travel(when, tick=False):
        tx = backend.start_transaction(register.kasse_id)
        backend.finish_transaction(register.kasse_id, tx.number, "Kassenbeleg-V1", PROCESS_DATA)


def completed_closing(register, z_nr, when, *, document=None, errors=None) -> CashPointClosing:
    """An accepted (or, with ``errors``, rejected) closing made at ``when``, written with the ORM."""
    if errors is not None:
        return CashPointClosing.unscoped.create(
            closing_id=uuid.uuid4(), organization_id=register.organization_id, cash_register=register, z_nr=z_nr,
            export_creation_date=when, state=ClosingState.ERROR, request_hash="0" * 64, errors=errors)
    revision = revision_for_closing(register, timezone.localdate(when))
    return CashPointClosing.unscoped.create(
        closing_id=uuid.uuid4(), organization_id=register.organization_id, cash_register=register, z_nr=z_nr,
        export_creation_date=when, business_date=timezone.localdate(when), state=ClosingState.COMPLETED,
        request_hash="0" * 64, document=document or {"transactions": []}, revision=revision,
        z_erstellung=timezone.localtime(when).isoformat(timespec="seconds"), full_amount=Decimal("11.90"),
        cash_amount=Decimal("11.90"), transaction_count=1, line_count=1, processed_at=when)
