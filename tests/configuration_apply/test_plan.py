"""Planning: schema and semantic findings with their paths, collected before anything is written."""

import uuid

import pytest
from django.utils import timezone

from tenants.services.configuration.apply import apply_configuration
from tenants.services.configuration.document import snapshot
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.plan import plan_configuration
from tests.configuration_apply.conftest import ADDRESS, shop_document
from tse.models import SigningUnit
from tse.services.signing_units import get_backend

pytestmark = pytest.mark.django_db


def findings(actor, organization, document) -> set[tuple[str, str]]:
    with pytest.raises(ConfigurationError) as caught:
        plan_configuration(actor, organization, document)
    assert caught.value.status == 400 and caught.value.code == "E_VALIDATION"
    return {(error["path"], error["code"]) for error in caught.value.errors}


def test_schema_errors_come_with_paths(owner, owner_actor):
    document = {"format": "kassenportal.configuration/1", "outlets": [{"name": "ohne Nummer"}],
                "unknown": 1}
    assert findings(owner_actor, owner.organization, document) == {
        ("/outlets/0/number", "E_REQUIRED"), ("/unknown", "E_UNKNOWN_FIELD")}


def test_required_fields_for_creation(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    del document["betriebsstaetten"][0]["name"]
    del document["outlets"][0]["city"]
    del document["outlets"][0]["signing_units"][0]["clients"][0]["cash_register"]["pos_system_version"]
    document["signing_units"] = [{"reference": "lan-1", "backend": "lan"}]
    assert findings(owner_actor, owner.organization, document) == {
        ("/betriebsstaetten/0/name", "E_REQUIRED"),
        ("/outlets/0/city", "E_REQUIRED"),
        ("/outlets/0/signing_units/0/clients/0/cash_register/pos_system_version", "E_REQUIRED"),
        ("/signing_units/0/connection", "E_REQUIRED"),
    }


def test_duplicates_in_the_input(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id, clients=("KASSE-01", "KASSE-01"))
    document["betriebsstaetten"].append(dict(document["betriebsstaetten"][0]))
    document["outlets"].append({"number": 1, "name": "Doppelt", **ADDRESS})
    document["signing_units"] = [{"reference": "tse-1", "backend": "software"}]
    assert findings(owner_actor, owner.organization, document) == {
        ("/betriebsstaetten/1/reference", "E_DUPLICATE"),
        ("/outlets/1/number", "E_DUPLICATE"),
        ("/outlets/0/signing_units/0/clients/1/client_id", "E_DUPLICATE"),
        ("/signing_units/0/reference", "E_DUPLICATE"),
    }


def test_an_outlet_naming_an_unknown_betriebsstaette(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    document["outlets"][0]["betriebsstaette"] = "nirgends"
    assert findings(owner_actor, owner.organization, document) == {
        ("/outlets/0/betriebsstaette", "E_UNKNOWN_BETRIEBSSTAETTE")}


def test_an_outlet_may_name_an_existing_betriebsstaette_by_reference_or_id(owner, owner_actor, pos_catalogue):
    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    premises_id = snapshot(owner.organization)["betriebsstaetten"][0]["id"]
    for key in ("main", premises_id):
        document = {"format": "kassenportal.configuration/1",
                    "outlets": [{"number": 2, "name": "Filiale Nord", **ADDRESS, "betriebsstaette": key}]}
        plan = plan_configuration(owner_actor, owner.organization, document)
        assert [(a["action"], a["object"]) for a in plan] == [("create", "outlet")]


def test_unknown_and_retired_pos_system_versions(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    registers = [c["cash_register"] for c in document["outlets"][0]["signing_units"][0]["clients"]]
    registers[0]["pos_system_version"] = str(uuid.uuid4())
    registers[1]["pos_system_version"] = {"pos_system": str(pos_catalogue["system"].public_id),
                                          "software_version": "9.9"}
    path = "/outlets/0/signing_units/0/clients/{}/cash_register/pos_system_version"
    assert findings(owner_actor, owner.organization, document) == {
        (path.format(0), "E_POS_SYSTEM_VERSION_NOT_FOUND"), (path.format(1), "E_POS_SYSTEM_VERSION_NOT_FOUND")}

    registers[1]["pos_system_version"] = {"pos_system": str(pos_catalogue["system"].public_id),
                                          "software_version": "3.0"}
    registers[0]["pos_system_version"] = str(pos_catalogue["new"].public_id)
    plan = plan_configuration(owner_actor, owner.organization, document)
    assert plan[-1]["changes"]["pos_system_version"]["new"] == str(pos_catalogue["old"].public_id)

    apply_configuration(owner_actor, owner.organization, document)
    pos_catalogue["system"].retired_at = timezone.now()
    pos_catalogue["system"].save(update_fields=["retired_at"])
    # existing registers keep their retired version; no register may get one newly (KASSE-02 runs 3.0)
    assert plan_configuration(owner_actor, owner.organization, snapshot(owner.organization)) == []
    more = shop_document(pos_catalogue["new"].public_id, clients=("KASSE-01", "KASSE-02", "KASSE-03"))
    assert findings(owner_actor, owner.organization, more) == {
        (path.format(1), "E_POS_SYSTEM_VERSION_NOT_FOUND"), (path.format(2), "E_POS_SYSTEM_VERSION_NOT_FOUND")}


def test_more_clients_than_the_unit_takes(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id, clients=("A-1", "A-2", "A-3"))
    document["outlets"][0]["signing_units"][0]["max_clients"] = 2
    assert findings(owner_actor, owner.organization, document) == {
        ("/outlets/0/signing_units/0/clients", "E_CLIENT_LIMIT")}


def test_a_deregistered_client_is_not_registered_again(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id, clients=("KASSE-01",))
    document["outlets"][0]["signing_units"][0]["clients"][0].pop("cash_register")
    apply_configuration(owner_actor, owner.organization, document)
    get_backend(SigningUnit.unscoped.get(organization=owner.organization)).deregister_client("KASSE-01")
    assert findings(owner_actor, owner.organization, document) == {
        ("/outlets/0/signing_units/0/clients/0/client_id", "E_CLIENT_DEREGISTERED")}


def test_clients_of_a_unit_that_is_not_initialized(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id, clients=("KASSE-01",))
    document["outlets"][0]["signing_units"][0]["initialize"] = False
    assert findings(owner_actor, owner.organization, document) == {
        ("/outlets/0/signing_units/0/clients/0/client_id", "E_NOT_INITIALIZED")}


def test_all_findings_are_reported_at_once(owner, owner_actor, pos_catalogue):
    document = shop_document(str(uuid.uuid4()))
    document["outlets"][0]["betriebsstaette"] = "nirgends"
    document["outlets"].append({"id": str(uuid.uuid4()), "number": 5})
    assert findings(owner_actor, owner.organization, document) == {
        ("/outlets/0/betriebsstaette", "E_UNKNOWN_BETRIEBSSTAETTE"), ("/outlets/1/id", "E_NOT_FOUND")}


def test_a_changed_betriebsstaette_and_a_moved_register(owner, owner_actor, pos_catalogue):
    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    document = snapshot(owner.organization)
    document["betriebsstaetten"][0]["remarks"] = "Hinterhof"
    document["outlets"].append({"number": 2, "name": "Filiale Nord", **ADDRESS, "betriebsstaette": "main"})
    document["outlets"][0]["signing_units"][0]["clients"][0]["cash_register"]["outlet"] = 2

    result = apply_configuration(owner_actor, owner.organization, document)

    assert [(a["action"], a["object"], a["changes"]) for a in result.plan] == [
        ("update", "betriebsstaette", {"remarks": {"old": "", "new": "Hinterhof"}}),
        ("create", "outlet", {"number": {"old": None, "new": 2}, "name": {"old": None, "new": "Filiale Nord"},
                              **{name: {"old": None, "new": value} for name, value in ADDRESS.items()},
                              "betriebsstaette": {"old": None, "new": "main"}}),
        ("update", "cash_register", {"outlet": {"old": 1, "new": 2}}),
    ]
    assert snapshot(owner.organization)["outlets"][0]["signing_units"][0]["clients"][0]["cash_register"][
        "outlet"] == 2
    assert apply_configuration(owner_actor, owner.organization, snapshot(owner.organization)).plan == []
