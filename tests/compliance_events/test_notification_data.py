"""The data of a notification: taxpayer, Betriebsstätte, the gross list of systems, problems; constant queries."""

import datetime as dt
import json

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.services.notification_data import bsi_id, notification_data
from exports.services.cash_registers import decommission_cash_register
from tenants.models import Betriebsstaette, Organization
from tse.models import SigningUnit
from tse.services.signing_units import get_backend

D = dt.date


def _company(organization, **values):
    values = {"tax_number": "21/815/08150", "street": "Hauptstraße 5", **values}
    Organization.unscoped.filter(pk=organization.pk).update(**values)


def _codes(data) -> set:
    return {(p["path"], p["code"]) for p in data["problems"]}


def test_content_of_the_notification(owner, premises, make_register, ready_unit):
    _company(owner.organization)
    second = make_register("KASSE-02", premises["1"], acquired_on=D(2026, 6, 15))
    first = make_register("KASSE-01", premises["1"])
    data = notification_data(premises["mitte"], D(2026, 8, 15))
    json.dumps(data)
    organization = Organization.unscoped.get(pk=owner.organization.pk)
    assert data["as_of"] == "2026-08-15"
    assert data["taxpayer"] == {
        "tax_number": "21/815/08150", "w_idnr": "", "name": organization.name, "natural_person": False,
        "first_name": "", "last_name": "", "street": "Hauptstraße", "house_number": "5", "postal_code": "10115",
        "city": "Berlin", "country": "DE"}
    assert data["betriebsstaette"] == {
        "id": str(premises["mitte"].public_id), "name": "Laden Mitte", "street": "Hauptstraße", "house_number": "5",
        "postal_code": "10115", "city": "Berlin", "country": "DE", "closed_on": None, "remarks": ""}
    assert data["system_count"] == 2
    assert [s["cash_register"] for s in data["systems"]] == [str(first.public_id), str(second.public_id)]
    assert data["systems"][0] == {
        "cash_register": str(first.public_id), "type": "pc_pos", "software": "KassenSoft", "software_version": "3.1",
        "serial_number": "KASSE-01", "manufacturer": "Kassenbau", "model": "K1",
        "acquired_on": "2026-07-10", "commissioned_on": "2026-07-10",
        "decommissioned_on": None, "decommission_reason": "", "decommission_note": "",
        "tse": {"serial_number": ready_unit.serial_number.lower(), "bsi_id": "", "form_factor": "",
                "commissioned_on": "2026-07-01"}}
    assert data["systems"][1]["acquired_on"] == "2026-06-15"
    assert len(data["systems"][0]["tse"]["serial_number"]) == 64
    # a software TSE is not certified: no BSI id, no form factor
    assert _codes(data) == {("/systems/0/tse/bsi_id", "E_MISSING"), ("/systems/0/tse/form_factor", "E_MISSING"),
                            ("/systems/1/tse/bsi_id", "E_MISSING"), ("/systems/1/tse/form_factor", "E_MISSING")}
    SigningUnit.unscoped.filter(pk=ready_unit.pk).update(bsi_certification_id="BSI-K-TR-0403-2021",
                                                         form_factor="cloud")
    data = notification_data(premises["mitte"], D(2026, 8, 15))
    assert data["systems"][0]["tse"]["bsi_id"] == "0403-2021" and data["systems"][0]["tse"]["form_factor"] == "cloud"
    assert data["problems"] == []


def test_gross_list_keeps_a_decommissioned_register(owner, premises, make_register):
    _company(owner.organization)
    make_register("KASSE-01", premises["1"])
    gone = make_register("KASSE-02", premises["1"])
    with time_machine.travel(dt.datetime(2026, 8, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        decommission_cash_register(actor=None, cash_register=gone, reason="sold", note="an Händler")
    data = notification_data(premises["mitte"], D(2026, 8, 31))
    assert data["system_count"] == 1 and len(data["systems"]) == 2
    assert {k: data["systems"][1][k] for k in ("serial_number", "decommissioned_on", "decommission_reason",
                                                "decommission_note")} == {
        "serial_number": "KASSE-02", "decommissioned_on": "2026-08-20", "decommission_reason": "sold",
        "decommission_note": "an Händler"}
    before = notification_data(premises["mitte"], D(2026, 8, 19))
    assert before["system_count"] == 2 and before["systems"][1]["decommissioned_on"] is None


def test_problems_of_the_company_and_the_premises(owner, premises, make_register):
    make_register("KASSE-01", premises["1"])
    make_register("KASSE-02", premises["3"])  # at an outlet without Betriebsstätte
    Betriebsstaette.unscoped.filter(pk=premises["mitte"].pk).update(closed_on=D(2026, 8, 1))
    codes = _codes(notification_data(premises["mitte"], D(2026, 8, 15)))
    assert ("/taxpayer/tax_number", "E_MISSING") in codes  # the factories' companies have none
    assert ("/systems/0/decommissioned_on", "E_ACTIVE_AFTER_CLOSING") in codes
    assert ("/systems", "E_OUTLET_WITHOUT_BETRIEBSSTAETTE") in codes
    nord = _codes(notification_data(premises["nord"], D(2026, 8, 15)))
    assert {("/systems", "E_NO_SYSTEMS"), ("/systems", "E_OUTLET_WITHOUT_BETRIEBSSTAETTE")} <= nord
    _company(owner.organization, tax_number="123", w_idnr="DE12")
    codes = _codes(notification_data(premises["nord"], D(2026, 8, 15)))
    assert {("/taxpayer/tax_number", "E_INVALID"), ("/taxpayer/w_idnr", "E_INVALID")} <= codes
    _company(owner.organization, street="Marktplatz")
    assert ("/taxpayer/house_number", "E_MISSING") in _codes(notification_data(premises["nord"]))


def test_a_sole_proprietor_is_a_natural_person(owner, premises):
    _company(owner.organization, legal_form="einzelunternehmen", name="Max Mustermann")
    taxpayer = notification_data(premises["mitte"])["taxpayer"]
    assert (taxpayer["natural_person"], taxpayer["first_name"], taxpayer["last_name"]) == (True, "Max", "Mustermann")
    _company(owner.organization, legal_form="ek", name="Erika Musterfrau e.K.")
    taxpayer = notification_data(premises["mitte"])["taxpayer"]
    assert (taxpayer["first_name"], taxpayer["last_name"], taxpayer["name"]) == ("Erika", "Musterfrau",
                                                                               "Erika Musterfrau e.K.")


def test_bsi_id_without_prefix():
    assert bsi_id("BSI-K-TR-0403-2021") == "0403-2021"
    assert bsi_id("0362-2019") == "0362-2019"
    assert bsi_id("") == ""


def test_query_count_does_not_grow_with_the_systems(owner, premises, make_register, ready_unit):
    make_register("KASSE-01", premises["1"])
    with CaptureQueriesContext(connection) as few:
        notification_data(premises["mitte"], D(2026, 8, 15))
    backend = get_backend(ready_unit)
    for serial in ("KASSE-03", "KASSE-04", "KASSE-05", "KASSE-06"):
        backend.register_client(serial)
    make_register("KASSE-02", premises["1"])
    for serial in ("KASSE-03", "KASSE-04", "KASSE-05"):
        make_register(serial, premises["1"])
    make_register("KASSE-06", premises["3"])  # unassigned: one more problem, no more queries
    with CaptureQueriesContext(connection) as many:
        data = notification_data(premises["mitte"], D(2026, 8, 15))
    assert len(data["systems"]) == 5
    assert len(many) == len(few) <= 4
