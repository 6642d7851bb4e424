"""The DSFinV-K master-data API: three actors on every endpoint, bodies, codes, revisions, the pending-change flag."""

import pytest

from exports.models import CashRegister, VatDefinition
from exports.services import cash_registers as service
from portal.models import LogEntry
from tests.dsfinvk_master.conftest import DAY_1, DAY_2, client_of, completed_closing, make_outlet, sign
from tests.helpers import api_client, assert_actors, assert_envelope

pytestmark = pytest.mark.django_db

REGISTERS = "/api/v1/cash_registers"
VAT = "/api/v1/vat_definitions"
READS = {"stranger": 404, "partner": 200, "owner": 200}
WRITES = {"stranger": 404, "partner": (403, "E_PERMISSION_DENIED")}


def _body(outlet, version, **extra) -> dict:
    return {"outlet_id": str(outlet.public_id), "pos_system_version_id": str(version.public_id), **extra}


def _ids(response) -> list[str]:
    return [row["client_id"] for row in response.json()["results"]]


def test_list_three_actors(actors, register, stranger_register):
    owner_org = f"{REGISTERS}?organization_id={actors.owner.org_id}"
    responses = assert_actors(actors.api_client, "GET", owner_org, READS)
    assert _ids(responses["owner"]) == _ids(responses["partner"]) == [str(register.client.public_id)]
    row = responses["owner"].json()["results"][0]
    assert "master_data" not in row and row["serial_number"] == "KASSE-01"
    # without organization_id: the key's own organization
    own = assert_actors(actors.api_client, "GET", REGISTERS, {"owner": 200, "partner": 200, "stranger": 200})
    assert _ids(own["owner"]) == [str(register.client.public_id)]
    assert _ids(own["partner"]) == []
    assert _ids(own["stranger"]) == [str(stranger_register.client.public_id)]


def test_list_by_session_uses_the_members_organization(actors, register):
    response = actors.session_client("owner").get(REGISTERS)
    assert _ids(response) == [str(register.client.public_id)]
    assert_envelope(actors.session_client("owner").get(f"{REGISTERS}?organization_id=nope"), 400, "E_VALIDATION")


def test_detail_three_actors_and_body(actors, register, outlets, catalogue):
    url = f"{REGISTERS}/{register.client.public_id}"
    responses = assert_actors(actors.api_client, "GET", url, READS)
    body = responses["partner"].json()
    assert body["client_id"] == str(register.client.public_id)
    assert body["tss_id"] == str(register.client.signing_unit.public_id)
    assert (body["outlet_id"], body["pos_system_version_id"]) == (str(outlets[0].public_id),
                                                                  str(catalogue["new"].public_id))
    assert body["software"] == {"brand": "KassenSoft", "version": "3.1"}
    assert (body["brand"], body["model"], body["state"]) == ("Kassenbau", "K1", "ACTIVE")
    assert body["processing_flags"] == {"UmsatzsteuerNichtErmittelbar": False}
    assert body["revision"] is None and body["master_data_changed_while_closing_due"] is False
    assert body["master_data"]["cashregister"]["KASSE_SERIENNR"] == "KASSE-01"
    assert body["master_data"]["location"]["LOC_NAME"] == "Filiale Mitte"
    assert [problem["code"] for problem in body["master_data_problems"]] == ["E_TAX_ID_MISSING"]


def test_put_creates_three_actors(actors, ready_unit, outlets, catalogue, read_only_key):
    client = client_of(ready_unit, "KASSE-02")
    url = f"{REGISTERS}/{client.public_id}"
    body = _body(outlets[1], catalogue["old"], base_currency_code="EUR",
                 processing_flags={"UmsatzsteuerNichtErmittelbar": True})
    assert_envelope(api_client(read_only_key[1]).put(url, body, content_type="application/json"), 403,
                    "E_API_KEY_READ_ONLY")
    assert_actors(actors.api_client, "PUT", url, WRITES, data=body)
    assert not CashRegister.unscoped.exists()
    response = assert_actors(actors.api_client, "PUT", url, {"owner": 201}, data=body)["owner"]
    data = response.json()
    assert data["serial_number"] == "KASSE-02" and data["processing_flags"]["UmsatzsteuerNichtErmittelbar"] is True
    register = CashRegister.unscoped.get()
    assert (register.client, register.outlet, register.pos_system_version) == (client, outlets[1], catalogue["old"])
    assert LogEntry.unscoped.filter(action="exports.cash_register.created").count() == 1


def test_put_updates_three_actors(actors, register, outlets, read_only_key):
    url = f"{REGISTERS}/{register.client.public_id}"
    body = {"outlet_id": str(outlets[1].public_id)}
    assert_envelope(api_client(read_only_key[1]).put(url, body, content_type="application/json"), 403,
                    "E_API_KEY_READ_ONLY")
    assert_actors(actors.api_client, "PUT", url, {**WRITES, "owner": 200}, data=body)
    register.refresh_from_db()
    assert register.outlet == outlets[1] and register.base_currency == "EUR"  # left-out fields keep their value


def test_put_validation_errors_by_api_field(actors, ready_unit, register, stranger, catalogue, in_english):
    owner = actors.api_client("owner")
    url = f"{REGISTERS}/{client_of(ready_unit, 'KASSE-02').public_id}"
    body = assert_envelope(owner.put(url, {"base_currency_code": "EUR"}, content_type="application/json"), 400,
                           "E_VALIDATION")
    assert set(body["details"]) == {"outlet_id", "pos_system_version_id"}
    foreign = make_outlet(stranger.organization, 5)
    body = assert_envelope(owner.put(url, _body(foreign, catalogue["retired"], base_currency_code="EURO"),
                                     content_type="application/json"), 400, "E_VALIDATION")
    assert set(body["details"]) == {"outlet_id", "pos_system_version_id", "base_currency_code"}
    body = assert_envelope(owner.put(url, {"outlet": "x"}, content_type="application/json"), 400, "E_VALIDATION")
    assert "outlet" in body["details"]
    assert CashRegister.unscoped.count() == 1
    service.decommission_cash_register(actor=None, cash_register=register)
    assert_envelope(owner.put(f"{REGISTERS}/{register.client.public_id}", {"base_currency_code": "USD"},
                              content_type="application/json"), 409, "E_CASH_REGISTER_DECOMMISSIONED")


def test_unknown_client_is_404(actors, stranger_register):
    owner = actors.api_client("owner")
    for method in ("get", "put"):
        assert_envelope(getattr(owner, method)(f"{REGISTERS}/{stranger_register.client.public_id}",
                                               content_type="application/json"), 404, "E_NOT_FOUND")


def test_revisions_three_actors_and_diff(actors, register, outlets):
    completed_closing(register, 1, DAY_1)
    sign(register, DAY_2)
    register = service.update_cash_register(actor=None, cash_register=register, changes={"outlet": outlets[1]})
    detail = actors.api_client("owner").get(f"{REGISTERS}/{register.client.public_id}").json()
    assert detail["revision"] == 1 and detail["master_data_changed_while_closing_due"] is True
    completed_closing(register, 2, DAY_2.replace(hour=20))
    base = f"{REGISTERS}/{register.client.public_id}/revisions"
    listing = assert_actors(actors.api_client, "GET", base, READS)["partner"].json()
    assert [(row["revision"], row["closing_count"]) for row in listing["results"]] == [(2, 1), (1, 1)]
    second = assert_actors(actors.api_client, "GET", f"{base}/2", READS)["owner"].json()
    assert second["data"]["location"]["LOC_NAME"] == "Filiale Nord"
    assert {"path": "location.LOC_NAME", "old": "Filiale Mitte", "new": "Filiale Nord"} in second["changes"]
    assert actors.api_client("owner").get(f"{base}/1").json()["changes"] == []
    assert_envelope(actors.api_client("owner").get(f"{base}/3"), 404, "E_NOT_FOUND")
    detail = actors.api_client("owner").get(f"{REGISTERS}/{register.client.public_id}").json()
    assert detail["revision"] == 2 and detail["master_data_changed_while_closing_due"] is False


def test_vat_list_three_actors(actors):
    VatDefinition.unscoped.create(organization=actors.owner.organization, key=1000, rate="10.70",
                                  description="Eigen", slot="SPECIAL_RATE_1")
    responses = assert_actors(actors.api_client, "GET", f"{VAT}?organization_id={actors.owner.org_id}", READS)
    rows = responses["partner"].json()["results"]
    assert [row["vat_definition_export_id"] for row in rows][:8] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert rows[-1] == {**rows[-1], "vat_definition_export_id": 1000, "percentage": "10.70", "system": False}
    assert rows[0]["system"] is True and rows[0]["percentage"] == "19.00"
    own = actors.api_client("stranger").get(VAT).json()["results"]
    assert all(row["system"] for row in own)


def test_vat_detail_three_actors(actors):
    VatDefinition.unscoped.create(organization=actors.owner.organization, key=1000, rate="10.70",
                                  description="Eigen", slot="SPECIAL_RATE_1")
    query = f"?organization_id={actors.owner.org_id}"
    assert assert_actors(actors.api_client, "GET", f"{VAT}/1000{query}", READS)["partner"].json()["description"] == (
        "Eigen")
    assert actors.api_client("owner").get(f"{VAT}/2").json()["percentage"] == "7.00"
    assert_envelope(actors.api_client("owner").get(f"{VAT}/1001"), 404, "E_NOT_FOUND")
    assert_envelope(actors.api_client("stranger").get(f"{VAT}/1000"), 404, "E_NOT_FOUND")  # its own: none


def test_vat_put_three_actors(actors, read_only_key):
    url = f"{VAT}/1000?organization_id={actors.owner.org_id}"
    body = {"percentage": 10.7, "description": "Landwirtschaft", "slot": "SPECIAL_RATE_1"}
    assert_envelope(api_client(read_only_key[1]).put(url, body, content_type="application/json"), 403,
                    "E_API_KEY_READ_ONLY")
    assert_actors(actors.api_client, "PUT", url, WRITES, data=body)
    assert not VatDefinition.unscoped.exists()
    created = assert_actors(actors.api_client, "PUT", url, {"owner": 201}, data=body)["owner"].json()
    assert created["percentage"] == "10.70" and created["system"] is False
    changed = actors.api_client("owner").put(url, {**body, "percentage": "9.5"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["percentage"] == "9.50"
    assert VatDefinition.unscoped.get().rate == 9.5


def test_vat_put_codes(actors):
    owner = actors.api_client("owner")
    body = {"percentage": "7", "description": "x", "slot": "REDUCED_1"}
    for key in (1, 8, 999):
        assert_envelope(owner.put(f"{VAT}/{key}", body, content_type="application/json"), 400, "E_VAT_KEY_RESERVED")
    response = owner.put(f"{VAT}/1000", {**body, "percentage": "7.123", "description": "y" * 56},
                         content_type="application/json")
    assert set(assert_envelope(response, 400, "E_VALIDATION")["details"]) == {"percentage", "description"}
    response = owner.put(f"{VAT}/1000", {**body, "rate": 7}, content_type="application/json")
    assert "rate" in assert_envelope(response, 400, "E_VALIDATION")["details"]
    assert not VatDefinition.unscoped.exists()


def test_vat_delete_three_actors(actors, register, read_only_key):
    for key in (1000, 1001):
        VatDefinition.unscoped.create(organization=actors.owner.organization, key=key, rate="10.70",
                                      description="Eigen", slot="SPECIAL_RATE_1")
    completed_closing(register, 1, DAY_1, document={"businesscases": [{"UST_SCHLUESSEL": 1000}]})
    query = f"?organization_id={actors.owner.org_id}"
    assert_envelope(api_client(read_only_key[1]).delete(f"{VAT}/1001"), 403, "E_API_KEY_READ_ONLY")
    assert_actors(actors.api_client, "DELETE", f"{VAT}/1001{query}", {**WRITES, "owner": 204})
    assert_actors(actors.api_client, "DELETE", f"{VAT}/1000{query}", {"owner": (409, "E_VAT_KEY_IN_USE")})
    assert_actors(actors.api_client, "DELETE", f"{VAT}/1{query}", {"owner": (400, "E_VAT_KEY_RESERVED")})
    assert_actors(actors.api_client, "DELETE", f"{VAT}/1001{query}", {"owner": 404})
    assert list(VatDefinition.unscoped.values_list("key", flat=True)) == [1000]


def test_the_schema_documents_the_endpoints(actors):
    response = actors.api_client("owner").get("/api/v1/schema/", {"format": "json"})
    paths = response.json()["paths"]
    register = "/api/v1/cash_registers/{client_id}"
    for path in ("/api/v1/cash_registers", register, f"{register}/revisions", f"{register}/revisions/{{number}}",
                 "/api/v1/vat_definitions", "/api/v1/vat_definitions/{key}"):
        assert path in paths, path
    assert "put" in paths["/api/v1/cash_registers/{client_id}"]
