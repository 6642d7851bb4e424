"""``document.snapshot`` and ``digest``: content per format, determinism, no secrets, constant queries."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from tenants.services.configuration.document import digest, snapshot
from tenants.services.configuration.schema import CONFIGURATION_FORMAT
from tenants.services.premises import close_outlet
from tests.configuration.conftest import ADDRESS, make_setup
from tests.tse.test_lan_connection import TOKEN, make_lan
from tse.services.connections import lan_token

pytestmark = pytest.mark.django_db


def test_snapshot_of_an_empty_operator(owner):
    document = snapshot(owner.organization)
    assert document == {
        "format": CONFIGURATION_FORMAT,
        "operator": {"id": str(owner.organization.public_id), "name": owner.organization.name},
        "betriebsstaetten": [], "outlets": [], "signing_units": [],
    }


def test_snapshot_content(owner, setup, pos_catalogue):
    document = snapshot(owner.organization)
    premises, outlet, unit = setup["betriebsstaette"], setup["outlet"], setup["units"][0]
    register = setup["clients"][0].cash_register
    assert document["betriebsstaetten"] == [{
        "id": str(premises.public_id), "reference": "main", "name": "Hauptsitz", **ADDRESS, "country": "DE",
        "remarks": "", "closed_on": None}]
    [outlet_doc] = document["outlets"]
    assert {key: value for key, value in outlet_doc.items() if key != "signing_units"} == {
        "id": str(outlet.public_id), "number": 1, "name": "Filiale Mitte", **ADDRESS, "country": "DE",
        "betriebsstaette": "main", "closed_on": None}
    unit.refresh_from_db()
    assert outlet_doc["signing_units"] == [{
        "id": str(unit.public_id), "reference": "tse-1", "backend": "software", "description": "TSE 1",
        "mode": "test", "curve": "P-256", "max_clients": 199, "connection": None, "initialize": True,
        "entitlement": None, "state": "initialized", "serial_number": unit.serial_number,
        "clients": [{"client_id": "KASSE-01", "state": "registered", "cash_register": {
            "id": str(register.public_id), "pos_system_version": str(pos_catalogue["new"].public_id),
            "pos_system": "Kassenbau Kasse K1 · KassenSoft 3.1", "outlet": 1, "base_currency": "EUR",
            "no_vat_assignment": False, "decommissioned_at": None}}],
    }]
    assert document["signing_units"] == []


def test_snapshot_names_a_premises_without_reference_by_id_and_formats_dates(owner):
    from tenants.services.premises import create_betriebsstaette, create_outlet

    premises = create_betriebsstaette(actor=None, organization=owner.organization, data={"name": "B", **ADDRESS})
    outlet = create_outlet(actor=None, organization=owner.organization,
                           data={"number": 3, "name": "O", "betriebsstaette": premises, **ADDRESS})
    close_outlet(actor=None, outlet=outlet)
    document = snapshot(owner.organization)
    assert document["betriebsstaetten"][0]["reference"] is None
    assert document["outlets"][0]["betriebsstaette"] == str(premises.public_id)
    closed_on = document["outlets"][0]["closed_on"]
    assert len(closed_on) == 10 and closed_on[4] == "-"


def test_units_without_outlet_sorted_and_uninitialized(owner):
    from tse.services.signing_units import create_signing_unit

    create_signing_unit(actor=None, organization=owner.organization, reference="b")
    create_signing_unit(actor=None, organization=owner.organization, reference="a")
    plain = create_signing_unit(actor=None, organization=owner.organization)
    units = snapshot(owner.organization)["signing_units"]
    assert [unit["reference"] for unit in units] == [None, "a", "b"]
    assert units[0]["id"] == str(plain.public_id)
    assert units[0]["outlet"] is None and units[0]["initialize"] is False and units[0]["state"] == "uninitialized"
    assert units[0]["clients"] == []


def test_lan_unit_exports_connection_never_the_token(owner):
    unit = make_lan(owner.organization, reference="lan-1", description="Theke")
    assert lan_token(unit.lan_connection) == TOKEN
    [unit_doc] = snapshot(owner.organization)["signing_units"]
    assert unit_doc["connection"] == {"host": "tse.kasse.local", "port": 4433,
                                      "tse_serial_number": unit.serial_number}
    assert unit_doc["curve"] is None and unit_doc["backend"] == "lan"
    text = json.dumps(snapshot(owner.organization))
    assert TOKEN not in text and "token" not in text


def test_active_entitlement_product(owner, setup, configure_partner, dealer_stock):
    from portal.tenancy import actor_for_user
    from tenants.services.entitlements import activate

    [entitlement] = dealer_stock(1)
    activate(actor=actor_for_user(configure_partner.user), entitlement=entitlement, signing_unit=setup["units"][0])
    unit_doc = snapshot(owner.organization)["outlets"][0]["signing_units"][0]
    assert unit_doc["entitlement"] == {"product": entitlement.product.code}


def test_snapshot_is_deterministic_and_digest_stable(owner, pos_catalogue):
    make_setup(owner.organization, pos_catalogue["new"], units=3)
    first, second = snapshot(owner.organization), snapshot(owner.organization)
    assert first == second
    assert json.dumps(first) == json.dumps(second)
    assert digest(first) == digest(second)
    assert len(digest(first)) == 64
    # the operator key does not count; every other change does
    renamed = {**first, "operator": {"id": "x", "name": "other"}}
    assert digest(renamed) == digest(first)
    changed = json.loads(json.dumps(first))
    changed["outlets"][0]["name"] = "Neu"
    assert digest(changed) != digest(first)
    assert [unit["reference"] for unit in first["outlets"][0]["signing_units"]] == ["tse-1", "tse-2", "tse-3"]


def test_snapshot_works_inside_a_scope_of_another_organization(owner, stranger, setup):
    with scope(organization=[stranger.organization.pk], membership=[stranger.organization.pk]):
        document = snapshot(owner.organization)
    assert document["outlets"][0]["signing_units"][0]["clients"][0]["client_id"] == "KASSE-01"


def _queries(organization) -> int:
    with CaptureQueriesContext(connection) as captured:
        snapshot(organization)
    return len(captured.captured_queries)


def test_constant_number_of_queries(owner, stranger, pos_catalogue):
    make_setup(owner.organization, pos_catalogue["new"], units=1)
    make_setup(stranger.organization, pos_catalogue["new"], units=6)
    one, six = _queries(owner.organization), _queries(stranger.organization)
    assert one == six <= 5
    assert len(snapshot(stranger.organization)["outlets"][0]["signing_units"]) == 6


def test_query_count_pinned(owner, pos_catalogue, django_assert_num_queries):
    make_setup(owner.organization, pos_catalogue["new"], units=6)
    with django_assert_num_queries(5):
        snapshot(owner.organization)
