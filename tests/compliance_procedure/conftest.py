"""Fixtures of the procedure documentation tests.

``procedure_setup``: the owner's configuration of ``tests/configuration_pages`` (Betriebsstätte
``main``, outlets 1 and 2, TSE ``tse-1`` with cash register ``KASSE-01``, TSE ``tse-2``), built through
the services on 2026-07-01 (so configuration versions exist), plus a decommissioned second cash
register ``KASSE-02`` (sold), a BSI id and form factor on ``tse-1`` and one closed outage of ``tse-1``.
"""

import datetime as dt

import pytest
import time_machine

from exports.services.cash_registers import create_cash_register, decommission_cash_register
from portal.tenancy import actor_for_user
from tests.configuration_pages.conftest import DAY_0, build_configuration
from tse.models import Outage, OutageReason, SigningUnit, TseClient

BSI_ID = "BSI-K-TR-0362-2019"
OUTAGE_START = dt.datetime(2026, 7, 2, 10, 15, tzinfo=dt.UTC)  # 12:15 in Berlin
OUTAGE_END = dt.datetime(2026, 7, 2, 10, 45, tzinfo=dt.UTC)


@pytest.fixture
def procedure_setup(owner, pos_catalogue):
    organization, user = owner.organization, owner.user
    with time_machine.travel(DAY_0, tick=True):
        objects = build_configuration(organization, user, pos_catalogue["new"])
        actor = actor_for_user(user)
        second = create_cash_register(actor=actor, organization=organization,
                                      client=TseClient.unscoped.get(signing_unit=objects["unit"], client_id="KASSE-02"),
                                      outlet=objects["outlets"][0], pos_system_version=pos_catalogue["old"],
                                      acquired_on=dt.date(2026, 6, 20))
    with time_machine.travel(dt.datetime(2026, 7, 10, 9, 0, tzinfo=dt.UTC), tick=True):
        decommission_cash_register(actor=actor_for_user(user), cash_register=second, reason="sold",
                                   note="an Händler zurück")
    SigningUnit.unscoped.filter(pk=objects["unit"].pk).update(bsi_certification_id=BSI_ID, form_factor="usb")
    objects["unit"].refresh_from_db()
    objects["outage"] = Outage.unscoped.create(
        organization=organization, signing_unit=objects["unit"], started_at=OUTAGE_START, ended_at=OUTAGE_END,
        reason=OutageReason.TIMEOUT, error_code="E_TSE_TIMEOUT", failed_signings=3)
    objects["second"] = second
    return objects


SECTION_TEXTS = {
    "general": "Baeckerei Sonnenschein, zwei Filialen; verantwortlich Olga Owner.",
    "cash_handling": "Stornos nur durch die Filialleitung (Stornogrund Pflicht).",
    "organisation": "Vier-Augen-Prinzip bei Preisaenderungen.",
    "data_backup": "Monatliche Sicherung, Archiv 10 Jahre.",
    "outages": "Bei TSE-Ausfall Notbelege, Eintrag im Ausfallprotokoll.",
    "other": "Gutscheine werden als Einzweckgutscheine gefuehrt.",
}


def pdf_bytes(document) -> bytes:
    with document.pdf.open("rb") as stored:
        return stored.read()
