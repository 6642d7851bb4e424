"""Applying a configuration document: creating a whole tree, idempotence, dry run, changes, round trip."""

import pytest

from exports.models import CashRegister
from portal.models.audit import LogEntry
from tenants.models import Betriebsstaette, ConfigurationSource, ConfigurationVersion, Outlet
from tenants.services.configuration.apply import apply_configuration
from tenants.services.configuration.document import snapshot
from tenants.services.configuration.plan import plan_configuration
from tests.configuration_apply.conftest import normalized_snapshot, row_counts, shop_document, without_ids
from tests.configuration_fixtures import make_operators
from tse.models import SigningUnit, SigningUnitState, TseClient

pytestmark = pytest.mark.django_db


def test_a_document_creates_the_whole_tree(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    result = apply_configuration(owner_actor, owner.organization, document)

    org = owner.organization
    assert result.changed is True
    assert [(a["action"], a["object"], a["path"]) for a in result.plan] == [
        ("create", "betriebsstaette", "/betriebsstaetten/0"),
        ("create", "outlet", "/outlets/0"),
        ("create", "signing_unit", "/outlets/0/signing_units/0"),
        ("initialize", "signing_unit", "/outlets/0/signing_units/0"),
        ("register", "client", "/outlets/0/signing_units/0/clients/0"),
        ("register", "client", "/outlets/0/signing_units/0/clients/1"),
        ("create", "cash_register", "/outlets/0/signing_units/0/clients/0/cash_register"),
        ("create", "cash_register", "/outlets/0/signing_units/0/clients/1/cash_register"),
    ]
    premises = Betriebsstaette.unscoped.get(organization=org)
    assert premises.reference == "main" and premises.name == "Hauptbetrieb"
    outlet = Outlet.unscoped.get(organization=org, number=1)
    assert outlet.betriebsstaette == premises
    unit = SigningUnit.unscoped.get(organization=org)
    assert unit.reference == "tse-1" and unit.outlet == outlet and unit.description == "TSE Mitte"
    assert unit.state == SigningUnitState.INITIALIZED
    assert sorted(TseClient.unscoped.filter(signing_unit=unit, state="registered")
                  .values_list("client_id", flat=True)) == ["KASSE-01", "KASSE-02"]
    registers = CashRegister.unscoped.filter(organization=org)
    assert registers.count() == 2
    assert {r.pos_system_version_id for r in registers} == {pos_catalogue["new"].pk}
    assert {r.outlet_id for r in registers} == {outlet.pk}
    # one version for the whole change, with the source, and one audit entry
    assert result.version is not None and result.version.number == 1
    assert ConfigurationVersion.unscoped.filter(organization=org).count() == 1
    assert result.version.source == ConfigurationSource.IMPORT
    assert result.version.digest
    entry = LogEntry.objects.get(action="tenants.configuration.applied")
    assert entry.data == {"source": "import", "actions": 8, "version": 1}


def test_plan_values_are_json(owner, owner_actor, pos_catalogue):
    import json

    plan = plan_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    assert json.loads(json.dumps(plan)) == plan
    create = plan[0]
    assert create["changes"]["name"] == {"old": None, "new": "Hauptbetrieb"}
    assert create["label"]


def test_applying_the_same_document_again_changes_nothing(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    apply_configuration(owner_actor, owner.organization, document)
    before = row_counts()

    again = apply_configuration(owner_actor, owner.organization, document)

    assert again.plan == [] and again.changed is False and again.version is None
    assert row_counts() == before
    assert ConfigurationVersion.unscoped.filter(organization=owner.organization).count() == 1


def test_a_dry_run_returns_the_plan_of_the_real_run_and_writes_nothing(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    before = row_counts()

    dry = apply_configuration(owner_actor, owner.organization, document, dry_run=True)

    assert dry.version is None and dry.changed is False
    assert row_counts() == before
    real = apply_configuration(owner_actor, owner.organization, document)
    assert dry.plan == real.plan
    assert len(real.plan) == 8


def test_a_changed_document_gives_exactly_those_actions(owner, owner_actor, pos_catalogue):
    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["old"].public_id))
    changed = shop_document(pos_catalogue["new"].public_id, description="TSE Mitte (Theke)",
                            clients=("KASSE-01", "KASSE-02", "KASSE-03"))
    changed["outlets"][0]["signing_units"][0]["clients"][1]["cash_register"]["pos_system_version"] = str(
        pos_catalogue["old"].public_id)

    dry = apply_configuration(owner_actor, owner.organization, changed, dry_run=True)
    result = apply_configuration(owner_actor, owner.organization, changed)

    assert dry.plan == result.plan
    assert [(a["action"], a["object"], a["path"], a["changes"]) for a in result.plan] == [
        ("update", "signing_unit", "/outlets/0/signing_units/0",
         {"description": {"old": "TSE Mitte", "new": "TSE Mitte (Theke)"}}),
        ("register", "client", "/outlets/0/signing_units/0/clients/2",
         {"client_id": {"old": None, "new": "KASSE-03"}}),
        ("update", "cash_register", "/outlets/0/signing_units/0/clients/0/cash_register",
         {"pos_system_version": {"old": str(pos_catalogue["old"].public_id),
                                 "new": str(pos_catalogue["new"].public_id)}}),
        ("create", "cash_register", "/outlets/0/signing_units/0/clients/2/cash_register",
         {"pos_system_version": {"old": None, "new": str(pos_catalogue["new"].public_id)},
          "base_currency": {"old": None, "new": "EUR"}}),
    ]
    unit = SigningUnit.unscoped.get(organization=owner.organization)
    assert unit.description == "TSE Mitte (Theke)"
    versions = dict(CashRegister.unscoped.filter(organization=owner.organization)
                    .values_list("client__client_id", "pos_system_version_id"))
    assert versions == {"KASSE-01": pos_catalogue["new"].pk, "KASSE-02": pos_catalogue["old"].pk,
                        "KASSE-03": pos_catalogue["new"].pk}
    assert result.version.number == 2
    assert apply_configuration(owner_actor, owner.organization, changed).plan == []


def test_absent_fields_and_objects_are_left_alone(owner, owner_actor, pos_catalogue):
    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    partial = {"format": "kassenportal.configuration/1", "outlets": [{"number": 1, "name": "Filiale Zentrum"}]}

    result = apply_configuration(owner_actor, owner.organization, partial)

    assert [(a["action"], a["changes"]) for a in result.plan] == [
        ("update", {"name": {"old": "Filiale Mitte", "new": "Filiale Zentrum"}})]
    outlet = Outlet.unscoped.get(organization=owner.organization)
    assert outlet.street == "Hauptstraße" and outlet.betriebsstaette is not None
    assert TseClient.unscoped.filter(organization=owner.organization).count() == 2


def test_the_snapshot_applied_back_is_an_empty_plan(owner, owner_actor, pos_catalogue):
    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    document = snapshot(owner.organization)

    assert plan_configuration(owner_actor, owner.organization, document) == []
    assert apply_configuration(owner_actor, owner.organization, document).version is None


def test_a_snapshot_without_ids_sets_up_another_operator_the_same(owner, owner_actor, partner, pos_catalogue,
                                                                 configure_partner):
    from portal.tenancy import actor_for_user

    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    # a Betriebsstätte without reference is named by its id: the copy needs references, the shop has them
    copied = without_ids(snapshot(owner.organization))
    second = make_operators(1, partner.organization, rights=("configure",))[0]
    actor = actor_for_user(partner.user)

    result = apply_configuration(actor, second, copied)

    assert result.changed
    assert normalized_snapshot(second) == normalized_snapshot(owner.organization)
    assert plan_configuration(actor, second, snapshot(second)) == []
    assert result.version.acting_organization_id == partner.organization.pk


def test_a_top_level_unit_and_its_register_name_the_outlet(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id, clients=())
    document["signing_units"] = [{"reference": "lager", "backend": "software", "initialize": True,
                                  "clients": [{"client_id": "LAGER-1", "cash_register": {
                                      "pos_system_version": str(pos_catalogue["new"].public_id), "outlet": 1}}]}]

    apply_configuration(owner_actor, owner.organization, document)

    unit = SigningUnit.unscoped.get(organization=owner.organization, reference="lager")
    assert unit.outlet is None
    register = CashRegister.unscoped.get(client__client_id="LAGER-1")
    assert register.outlet.number == 1
    assert plan_configuration(owner_actor, owner.organization, snapshot(owner.organization)) == []


def test_a_lan_unit_is_created_and_its_connection_changed(owner, owner_actor, pos_catalogue):
    from tse.models import LanTseConnection

    document = shop_document(pos_catalogue["new"].public_id, clients=())
    document["signing_units"] = [{"reference": "lan-1", "backend": "lan", "max_clients": 3, "connection": {
        "host": "10.0.0.5", "port": 8443, "tse_serial_number": "cd" * 32, "token": "geheim"}}]
    apply_configuration(owner_actor, owner.organization, document)
    unit = SigningUnit.unscoped.get(organization=owner.organization, reference="lan-1")
    assert unit.backend == "lan" and unit.serial_number == "cd" * 32
    current = snapshot(owner.organization)
    assert "token" not in str(current["signing_units"][0]["connection"])
    assert plan_configuration(owner_actor, owner.organization, current) == []

    current["signing_units"][0]["connection"]["host"] = "10.0.0.6"
    current["signing_units"][0]["max_clients"] = 5
    result = apply_configuration(owner_actor, owner.organization, current)

    assert [(a["action"], a["changes"]) for a in result.plan] == [
        ("update", {"max_clients": {"old": 3, "new": 5},
                    "connection": {"old": {"host": "10.0.0.5"}, "new": {"host": "10.0.0.6"}}})]
    assert LanTseConnection.unscoped.get(signing_unit=unit).host == "10.0.0.6"
    assert SigningUnit.unscoped.get(pk=unit.pk).max_clients == 5


def test_a_betriebsstaette_without_reference_is_named_by_its_id(owner, pos_catalogue):
    from tenants.services.premises import create_betriebsstaette, create_outlet
    from tests.configuration_apply.conftest import ADDRESS

    premises = create_betriebsstaette(actor=None, organization=owner.organization,
                                      data={"name": "Ohne Schlüssel", **ADDRESS})
    create_outlet(actor=None, organization=owner.organization,
                  data={"number": 1, "name": "Filiale", **ADDRESS, "betriebsstaette": premises})
    document = snapshot(owner.organization)
    assert document["outlets"][0]["betriebsstaette"] == str(premises.public_id)

    # a plain user is accepted as the actor, too
    assert plan_configuration(owner.user, owner.organization, document) == []
    document["betriebsstaetten"][0]["reference"] = "haupt"
    result = apply_configuration(owner.user, owner.organization, document)
    assert [(a["action"], a["changes"]) for a in result.plan] == [
        ("update", {"reference": {"old": None, "new": "haupt"}})]
    premises.refresh_from_db()
    assert premises.reference == "haupt"
