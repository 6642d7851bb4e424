"""Rights, entitlements, other tenants' ids, rollback, immutable fields and the query count of applying."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports.models import CashRegister
from portal.tenancy import actor_for_user
from tenants.models import Betriebsstaette, Entitlement, EntitlementState, Outlet
from tenants.services.configuration.apply import apply_configuration
from tenants.services.configuration.document import snapshot
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.plan import plan_configuration
from tenants.services.grants import grant_right
from tests.configuration_apply.conftest import ADDRESS, row_counts, shop_document
from tests.configuration_fixtures import make_operators
from tse.models import SigningUnit
from tse.services.signing_units import create_signing_unit

pytestmark = pytest.mark.django_db


def refused(actor, organization, document, **kwargs) -> ConfigurationError:
    before = row_counts()
    with pytest.raises(ConfigurationError) as caught:
        apply_configuration(actor, organization, document, **kwargs)
    assert row_counts() == before
    return caught.value


# --- rights -------------------------------------------------------------------------------------


def test_a_partner_without_configure_is_refused_and_nothing_is_written(owner, partner, pos_catalogue):
    error = refused(actor_for_user(partner.user), owner.organization, shop_document(pos_catalogue["new"].public_id))
    assert (error.status, error.code) == (403, "E_RIGHT_MISSING")


def test_a_partner_without_configure_may_still_plan_an_empty_change(owner, owner_actor, partner, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    apply_configuration(owner_actor, owner.organization, document)
    assert plan_configuration(actor_for_user(partner.user), owner.organization, snapshot(owner.organization)) == []


def test_the_permitted_partner_applies_and_is_recorded_as_acting(owner, partner, pos_catalogue):
    grant_right(actor=None, operator=owner.organization, dealer=partner.organization, right="configure")
    result = apply_configuration(actor_for_user(partner.user), owner.organization,
                                 shop_document(pos_catalogue["new"].public_id))
    assert result.version.acting_organization_id == partner.organization.pk
    assert result.version.actor_user == partner.user


def test_an_activation_needs_the_entitlements_right(owner, partner, pos_catalogue, dealer_stock):
    grant_right(actor=None, operator=owner.organization, dealer=partner.organization, right="configure")
    dealer_stock(1)
    error = refused(actor_for_user(partner.user), owner.organization,
                    shop_document(pos_catalogue["new"].public_id, entitlement=True))
    assert (error.status, error.code) == (403, "E_RIGHT_MISSING")


def test_an_activation_takes_the_dealers_oldest_stock(owner, partner, pos_catalogue, configure_partner,
                                                      dealer_stock):
    stock = dealer_stock(2)
    document = shop_document(pos_catalogue["new"].public_id, entitlement=True)
    actor = actor_for_user(partner.user)

    dry = apply_configuration(actor, owner.organization, document, dry_run=True)
    result = apply_configuration(actor, owner.organization, document)

    assert dry.plan == result.plan
    assert [(a["action"], a["object"], a["path"]) for a in result.plan][3:5] == [
        ("activate", "entitlement", "/outlets/0/signing_units/0/entitlement"),
        ("initialize", "signing_unit", "/outlets/0/signing_units/0"),
    ]
    unit = SigningUnit.unscoped.get(organization=owner.organization)
    oldest = min(stock, key=lambda e: (e.created_at, e.pk))
    oldest.refresh_from_db()
    assert oldest.state == EntitlementState.ACTIVE and oldest.signing_unit == unit
    assert oldest.operator == owner.organization and oldest.activated_by_dealer is True
    assert Entitlement.unscoped.filter(state=EntitlementState.STOCK).count() == 1
    again = apply_configuration(actor, owner.organization, document)
    assert again.plan == []
    assert snapshot(owner.organization)["outlets"][0]["signing_units"][0]["entitlement"] == {"product": "TSE-SUB"}


def test_an_activation_without_stock_is_refused(owner, partner, pos_catalogue, configure_partner):
    error = refused(actor_for_user(partner.user), owner.organization,
                    shop_document(pos_catalogue["new"].public_id, entitlement=True))
    assert (error.status, error.code) == (409, "E_NO_ENTITLEMENT_STOCK")
    assert [e["path"] for e in error.errors] == ["/outlets/0/signing_units/0/entitlement"]


# --- other tenants ------------------------------------------------------------------------------


def test_ids_of_another_tenant_look_exactly_like_missing_ones(owner, owner_actor, stranger, pos_catalogue):
    org = stranger.organization
    premises = Betriebsstaette.unscoped.create(organization=org, name="Fremd", reference="main", **ADDRESS)
    outlet = Outlet.unscoped.create(organization=org, number=1, name="Fremd", **ADDRESS)
    unit = create_signing_unit(actor=None, organization=org, outlet=outlet)

    def document(premises_id, outlet_id, unit_id):
        doc = shop_document(pos_catalogue["new"].public_id)
        doc["betriebsstaetten"][0]["id"] = premises_id
        doc["outlets"][0]["id"] = outlet_id
        doc["outlets"][0]["signing_units"][0]["id"] = unit_id
        return doc

    foreign = refused(owner_actor, owner.organization,
                      document(str(premises.public_id), str(outlet.public_id), str(unit.public_id)))
    missing = refused(owner_actor, owner.organization, document(str(uuid.uuid4()), str(uuid.uuid4()),
                                                                str(uuid.uuid4())))

    assert (foreign.status, foreign.code) == (400, "E_VALIDATION")
    assert foreign.errors == missing.errors
    assert {(e["path"], e["code"]) for e in foreign.errors} == {
        ("/betriebsstaetten/0/id", "E_NOT_FOUND"), ("/outlets/0/id", "E_NOT_FOUND")}
    top = shop_document(pos_catalogue["new"].public_id, clients=())
    top["signing_units"] = [{"id": str(unit.public_id), "backend": "software"}]
    error = refused(owner_actor, owner.organization, top)
    assert [(e["path"], e["code"]) for e in error.errors] == [("/signing_units/0/id", "E_NOT_FOUND")]


def test_a_version_not_shared_with_the_acting_dealer_is_not_found(owner, partner, pos_catalogue,
                                                                  configure_partner):
    from tenants.models import PosSystem, PosSystemVersion
    from tests.factories import make_organization

    other = make_organization(roles=("creator",), name="Andere Kassen GmbH")
    system = PosSystem.unscoped.create(organization=other, name="X", brand="Y", model="Z", system_type="pc_pos")
    hidden = PosSystemVersion.unscoped.create(pos_system=system, organization=other, software_name="S",
                                              software_version="1")
    error = refused(actor_for_user(partner.user), owner.organization, shop_document(hidden.public_id))
    assert {(e["path"], e["code"]) for e in error.errors} == {
        (f"/outlets/0/signing_units/0/clients/{i}/cash_register/pos_system_version",
         "E_POS_SYSTEM_VERSION_NOT_FOUND") for i in (0, 1)}


# --- all or nothing -----------------------------------------------------------------------------


def test_a_failure_in_the_last_action_rolls_back_everything(owner, owner_actor, pos_catalogue):
    document = shop_document(pos_catalogue["new"].public_id)
    # passes the schema (three capital letters) but is no ISO 4217 currency: refused by the service
    document["outlets"][0]["signing_units"][0]["clients"][1]["cash_register"]["base_currency"] = "ZZZ"

    plan = plan_configuration(owner_actor, owner.organization, document)
    assert plan[-1]["path"] == "/outlets/0/signing_units/0/clients/1/cash_register"
    error = refused(owner_actor, owner.organization, document)

    assert (error.status, error.code) == (400, "E_VALIDATION")
    assert [e["path"] for e in error.errors] == [
        "/outlets/0/signing_units/0/clients/1/cash_register/base_currency"]
    assert not SigningUnit.unscoped.filter(organization=owner.organization).exists()
    assert not CashRegister.unscoped.exists()


def test_a_lan_serial_taken_by_another_unit_rolls_back(owner, owner_actor, stranger, pos_catalogue):
    from tse.services.connections import create_lan_signing_unit

    serial = "ab" * 32
    create_lan_signing_unit(actor=None, organization=stranger.organization, host="10.0.0.9", token="secret",
                            tse_serial_number=serial)
    document = shop_document(pos_catalogue["new"].public_id)
    document["signing_units"] = [{"reference": "lan-1", "backend": "lan", "connection": {
        "host": "10.0.0.5", "tse_serial_number": serial, "token": "geheim"}}]

    error = refused(owner_actor, owner.organization, document)

    assert (error.status, error.code) == (409, "E_SERIAL_TAKEN")
    assert [e["path"] for e in error.errors] == ["/signing_units/0/connection/tse_serial_number"]
    assert not Outlet.unscoped.filter(organization=owner.organization).exists()


# --- immutable fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "path"), [
    (lambda doc: doc["outlets"][0].update(number=2), "/outlets/0/number"),
    (lambda doc: doc["outlets"][0]["signing_units"][0].update(backend="fiskaly"),
     "/outlets/0/signing_units/0/backend"),
    (lambda doc: doc["outlets"][0]["signing_units"][0].update(mode="live"), "/outlets/0/signing_units/0/mode"),
    (lambda doc: doc["outlets"][0]["signing_units"][0].update(curve="P-384"), "/outlets/0/signing_units/0/curve"),
    (lambda doc: doc["outlets"][0]["signing_units"][0].update(max_clients=1),
     "/outlets/0/signing_units/0/max_clients"),
    (lambda doc: doc["outlets"][0]["signing_units"][0].update(reference="tse-2"),
     "/outlets/0/signing_units/0/reference"),
    (lambda doc: doc["betriebsstaetten"][0].update(reference="zweit"), "/betriebsstaetten/0/reference"),
])
def test_immutable_fields_are_refused_at_their_path(owner, owner_actor, pos_catalogue, change, path):
    apply_configuration(owner_actor, owner.organization, shop_document(pos_catalogue["new"].public_id))
    document = snapshot(owner.organization)
    change(document)

    error = refused(owner_actor, owner.organization, document)

    assert (error.status, error.code) == (400, "E_VALIDATION")
    assert [(e["path"], e["code"]) for e in error.errors] == [(path, "E_IMMUTABLE")]


# --- queries ------------------------------------------------------------------------------------


def _queries(function) -> int:
    with CaptureQueriesContext(connection) as context:
        function()
    return len(context.captured_queries)


def test_the_query_count_per_operator_does_not_depend_on_the_operator(partner, pos_catalogue):
    operators = make_operators(2, partner.organization, rights=("configure",))
    actor = actor_for_user(partner.user)
    document = shop_document(pos_catalogue["new"].public_id)

    counts = [_queries(lambda op=op: apply_configuration(actor, op, document)) for op in operators]
    again = [_queries(lambda op=op: apply_configuration(actor, op, document)) for op in operators]

    assert counts[0] == counts[1]
    assert counts[0] < 250
    assert again[0] == again[1]
    assert again[0] <= 15  # re-applying: plan only


def test_planning_reads_a_constant_number_of_queries(owner, owner_actor, pos_catalogue):
    small = shop_document(pos_catalogue["new"].public_id, clients=("A-1",))
    large = shop_document(pos_catalogue["new"].public_id, clients=[f"B-{i}" for i in range(8)])
    apply_configuration(owner_actor, owner.organization, small)
    first = _queries(lambda: plan_configuration(owner_actor, owner.organization, snapshot(owner.organization)))
    apply_configuration(owner_actor, owner.organization, large)
    second = _queries(lambda: plan_configuration(owner_actor, owner.organization, snapshot(owner.organization)))
    assert first == second


def test_a_read_only_api_key_of_the_operator_may_not_change_it(owner, pos_catalogue):
    from portal.tenancy import actor_for_api_key
    from tests.factories import make_api_key

    api_key, _key = make_api_key(owner.organization, can_write=False, name="read only")
    error = refused(actor_for_api_key(api_key), owner.organization, shop_document(pos_catalogue["new"].public_id))
    assert (error.status, error.code) == (403, "E_PERMISSION_DENIED")


def test_the_write_api_key_of_the_operator_applies(owner, pos_catalogue):
    from portal.tenancy import actor_for_api_key

    result = apply_configuration(actor_for_api_key(owner.api_key), owner.organization,
                                 shop_document(pos_catalogue["new"].public_id), source="api")
    assert result.version.actor_api_key == owner.api_key and result.version.source == "api"


def test_the_operator_activates_an_entitlement_transferred_to_it(owner, owner_actor, partner, pos_catalogue,
                                                                 configure_partner, dealer_stock):
    from tenants.services.entitlements import assign
    from tenants.services.premises import create_outlet

    entitlement = dealer_stock(1)[0]
    outlet = create_outlet(actor=None, organization=owner.organization,
                           data={"number": 1, "name": "Filiale Mitte", **ADDRESS})
    assign(actor=None, entitlement=entitlement, operator=owner.organization, outlet=outlet)

    result = apply_configuration(owner_actor, owner.organization,
                                 shop_document(pos_catalogue["new"].public_id, entitlement=True))

    assert ("activate", "entitlement") in [(a["action"], a["object"]) for a in result.plan]
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.ACTIVE and entitlement.activated_by_dealer is False
    assert entitlement.signing_unit == SigningUnit.unscoped.get(organization=owner.organization)
