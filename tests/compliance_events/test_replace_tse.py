"""Replacing the TSE of a cash register: service, DSFinV-K master data and closings afterwards, the page."""

import datetime as dt

import pytest
import time_machine

from compliance.services.notification_data import notification_data
from exports.models import CashRegister
from exports.services.cash_registers import MasterDataError, register_status
from exports.services.master_data import current_master_data
from exports.services.tse_replacement import replace_tse
from portal.models import LogEntry
from tests.dsfinvk_master.conftest import completed_closing, sign
from tse.models import TseClient, TseTransaction
from tse.services.signing_units import create_signing_unit

REPLACED = dt.datetime(2026, 9, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def register(premises, make_register):
    return make_register("KASSE-01", premises["1"])


def test_the_pos_moves_to_the_new_tse_and_the_old_client_stays(register, ready_unit, second_unit):
    old_client = register.client
    sign(register, dt.datetime(2026, 8, 1, 10, 0, tzinfo=dt.UTC))
    closing = completed_closing(register, 1, dt.datetime(2026, 8, 1, 20, 0, tzinfo=dt.UTC))
    with time_machine.travel(REPLACED, tick=False):
        replace_tse(None, register, second_unit)
    register = CashRegister.unscoped.select_related("client__signing_unit").get(pk=register.pk)
    assert register.client.signing_unit == second_unit and register.client.client_id == "KASSE-01"
    assert TseClient.unscoped.filter(pk=old_client.pk, signing_unit=ready_unit, state="registered").exists()
    assert TseTransaction.unscoped.filter(client=old_client).count() == 1  # the old TSE's data stay
    entry = LogEntry.unscoped.get(action="exports.cash_register.tse_replaced")
    assert entry.data["old"]["serial_number"] == ready_unit.serial_number
    assert entry.data["new"]["serial_number"] == second_unit.serial_number
    # DSFinV-K: the master data name the new TSE; the earlier closing keeps its revision; the next one works
    data = current_master_data(register, dt.date(2026, 9, 4))
    assert [row["TSE_SERIAL"] for row in data["tse"]] == [second_unit.serial_number]
    assert register_status(register).latest.number == 1  # the next closing records a new revision
    closing.refresh_from_db()
    assert closing.revision.data["tse"][0]["TSE_SERIAL"] == ready_unit.serial_number
    sign(register, dt.datetime(2026, 9, 4, 10, 0, tzinfo=dt.UTC))
    later = completed_closing(register, 2, dt.datetime(2026, 9, 4, 20, 0, tzinfo=dt.UTC))
    assert later.revision.number == 2
    assert later.revision.data["tse"][0]["TSE_SERIAL"] == second_unit.serial_number
    # the notification names the new TSE, commissioned on the day of the replacement
    tse = notification_data(register.outlet.betriebsstaette, dt.date(2026, 9, 10))["systems"][0]["tse"]
    assert tse["serial_number"] == second_unit.serial_number.lower() and tse["commissioned_on"] == "2026-09-03"


def test_refusals(register, ready_unit, owner, stranger):
    uninitialized = create_signing_unit(actor=None, organization=owner.organization, description="Neu")
    foreign = create_signing_unit(actor=None, organization=stranger.organization, description="Fremd")
    for unit, code in ((ready_unit, "E_SAME_SIGNING_UNIT"), (uninitialized, "E_TSE_NOT_INITIALIZED"),
                       (foreign, "E_SIGNING_UNIT_NOT_FOUND")):
        with pytest.raises(MasterDataError) as error:
            replace_tse(None, register, unit)
        assert error.value.code == code
    assert CashRegister.unscoped.get(pk=register.pk).client.signing_unit == ready_unit
    assert not LogEntry.unscoped.filter(action="exports.cash_register.tse_replaced").exists()


def _url(actors, register) -> str:
    return f"/o/{actors.owner.org_id}/dsfinvk/cash-registers/{register.public_id}/"


def test_page_three_actors(actors, register, second_unit, in_english):
    page = _url(actors, register)
    owner = actors.session_client("owner")
    response = owner.get(page)
    assert response.status_code == 200 and b'data-testid="replace-tse"' in response.content
    assert b"Acquired on" in response.content
    data = {"signing_unit": str(second_unit.public_id)}
    assert actors.session_client("stranger").post(f"{page}replace-tse/", data).status_code == 404
    assert actors.session_client("partner").post(f"{page}replace-tse/", data).status_code == 403
    partner_page = actors.session_client("partner").get(page)
    assert partner_page.status_code == 200 and b'data-testid="replace-tse"' not in partner_page.content
    assert owner.post(f"{page}replace-tse/", {"signing_unit": ""}).status_code == 400
    response = owner.post(f"{page}replace-tse/", data)
    assert response.status_code == 302
    assert CashRegister.unscoped.get(pk=register.pk).client.signing_unit == second_unit


def test_page_with_a_configure_partner(actors, register, second_unit, configure_partner):
    response = actors.session_client("partner").post(f"{_url(actors, register)}replace-tse/",
                                                     {"signing_unit": str(second_unit.public_id)})
    assert response.status_code == 302
    entry = LogEntry.unscoped.get(action="exports.cash_register.tse_replaced")
    assert entry.acting_organization == actors.partner.organization


def test_edit_dates_and_decommission_with_reason_on_the_page(actors, register, premises, catalogue, in_english):
    page = _url(actors, register)
    owner = actors.session_client("owner")
    response = owner.post(page, {"outlet": str(premises["1"].public_id),
                                 "pos_system_version": str(catalogue["new"].public_id), "base_currency": "EUR",
                                 "acquired_on": "2026-07-01", "commissioned_on": "2026-07-03"})
    assert response.status_code == 302
    register.refresh_from_db()
    assert (register.acquired_on, register.commissioned_on) == (dt.date(2026, 7, 1), dt.date(2026, 7, 3))
    assert owner.post(page, {"outlet": str(premises["1"].public_id),
                             "pos_system_version": str(catalogue["new"].public_id), "base_currency": "EUR",
                             "acquired_on": "2026-07-05", "commissioned_on": "2026-07-03"}).status_code == 400
    assert b'name="reason"' in owner.get(page).content
    response = owner.post(f"{page}decommission/", {"reason": "scrapped", "note": "Wasserschaden", "confirm": "on"})
    assert response.status_code == 302
    register.refresh_from_db()
    assert (register.decommission_reason, register.decommission_note) == ("scrapped", "Wasserschaden")
