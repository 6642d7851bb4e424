"""Fixtures of the notification tests.

``notified``: the owner's Betriebsstätte ``Hauptbetrieb`` built through the services on fixed days —
2026-07-01 the configuration of ``tests/configuration_pages`` (software TSE ``tse-1``, cash registers
``KASSE-01`` and ``KASSE-02``), 2026-07-15 the spare TSE ``tse-2`` initialized, 2026-07-20 ``KASSE-01`` moved
to ``tse-2`` (``replace_tse``), 2026-08-03 ``KASSE-02`` decommissioned (sold). The TSE serials are then set to
fixed values, ``tse-2`` is a cloud TSE with a BSI id, and the company's master data is complete.
``generate_on(day, …)`` generates a notification file at noon of a Berlin day.
"""

import datetime as dt

import pytest
import time_machine

from compliance.services.notifications import generate_notification
from exports.models import CashRegister
from exports.services.cash_registers import create_cash_register, decommission_cash_register
from exports.services.tse_replacement import replace_tse
from portal.tenancy import actor_for_user
from tenants.models import Betriebsstaette, Organization
from tests.configuration_pages.conftest import build_configuration
from tse.models import SigningUnit, TseClient
from tse.services.signing_units import initialize_signing_unit

BERLIN_MORNING = dt.time(8, 0, tzinfo=dt.UTC)  # 10:00 in Berlin (summer)
SERIAL_1 = "a1" * 32
SERIAL_2 = "b2" * 32


def moment(day: dt.date, at: dt.time = BERLIN_MORNING) -> dt.datetime:
    return dt.datetime.combine(day, at)


def build_notified(organization, user, version) -> dict:
    actor = actor_for_user(user)
    with time_machine.travel(moment(dt.date(2026, 7, 1)), tick=False):
        built = build_configuration(organization, user, version)
        second = create_cash_register(actor=actor, organization=organization,
                                      client=TseClient.unscoped.get(signing_unit=built["unit"], client_id="KASSE-02"),
                                      outlet=built["outlets"][0], pos_system_version=version)
    with time_machine.travel(moment(dt.date(2026, 7, 15)), tick=False):
        spare = initialize_signing_unit(actor=actor, signing_unit=built["spare"])
    with time_machine.travel(moment(dt.date(2026, 7, 20)), tick=False):
        replace_tse(actor, built["register"], spare)
    with time_machine.travel(moment(dt.date(2026, 8, 3)), tick=False):
        decommission_cash_register(actor=actor, cash_register=second, reason="sold", note="an Nachfolger")
    SigningUnit.unscoped.filter(pk=built["unit"].pk).update(serial_number=SERIAL_1)
    SigningUnit.unscoped.filter(pk=spare.pk).update(serial_number=SERIAL_2, form_factor="cloud",
                                                    bsi_certification_id="BSI-K-TR-0403-2021")
    Organization.unscoped.filter(pk=organization.pk).update(
        name="Bäckerei Beispiel GmbH", legal_form="gmbh", tax_number="21/815/08150", street="Hauptstraße 5",
        postal_code="10115", city="Berlin", country="DE")
    Betriebsstaette.unscoped.filter(pk=built["main"].pk).update(remarks="Verkaufsraum im Erdgeschoss")
    CashRegister.unscoped.filter(pk=built["register"].pk).update(acquired_on=dt.date(2026, 6, 20))
    return {**built, "second": second, "spare": SigningUnit.unscoped.get(pk=spare.pk),
            "main": Betriebsstaette.unscoped.get(pk=built["main"].pk),
            "register": CashRegister.unscoped.get(pk=built["register"].pk),
            "actor": actor}


@pytest.fixture
def notified(owner, pos_catalogue):
    return build_notified(owner.organization, owner.user, pos_catalogue["new"])


@pytest.fixture
def generate_on(notified):
    def generate(day: dt.date = dt.date(2026, 8, 15), as_of: dt.date | None = None, actor=None):
        with time_machine.travel(moment(day, dt.time(10, 0, tzinfo=dt.UTC)), tick=False):
            return generate_notification(actor or notified["actor"], notified["main"], as_of)

    return generate
