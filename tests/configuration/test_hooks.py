"""Every service that changes the configuration records exactly one version with the expected changes."""

import uuid
from contextlib import contextmanager

import pytest

from exports.services.cash_registers import (
    create_cash_register,
    decommission_cash_register,
    update_cash_register,
)
from portal.tenancy import actor_for_api_key, actor_for_user
from tenants.models import ConfigurationVersion
from tenants.services.configuration.versions import latest_version
from tenants.services.premises import (
    PremisesError,
    close_betriebsstaette,
    close_outlet,
    create_betriebsstaette,
    create_outlet,
    update_betriebsstaette,
    update_outlet,
)
from tests.configuration.conftest import ADDRESS
from tests.tse.test_lan_connection import make_lan
from tse.backends.base import TseError
from tse.models import SigningUnit, TseClient
from tse.services import signing
from tse.services.connections import create_fiskaly_signing_unit, update_lan_connection
from tse.services.protocol import register_client
from tse.services.signing_units import create_signing_unit, disable_signing_unit, initialize_signing_unit

pytestmark = pytest.mark.django_db


class Recorded:
    version: ConfigurationVersion | None = None

    @property
    def changes(self) -> list[tuple]:
        return [(c["op"], c["path"]) for c in self.version.changes]

    def fields(self) -> dict:
        return {c["path"]: (c["old"], c["new"]) for c in self.version.changes if c["op"] == "changed"}


@contextmanager
def one_version(organization):
    before = getattr(latest_version(organization), "number", 0)
    recorded = Recorded()
    yield recorded
    versions = list(ConfigurationVersion.unscoped.filter(organization=organization, number__gt=before))
    assert len(versions) == 1, f"{len(versions)} versions recorded"
    recorded.version = versions[0]
    assert recorded.version.number == before + 1


@contextmanager
def no_version(organization):
    before = ConfigurationVersion.unscoped.filter(organization=organization).count()
    yield
    assert ConfigurationVersion.unscoped.filter(organization=organization).count() == before


# --- Betriebsstätten and outlets ------------------------------------------------------------


def test_betriebsstaette_services(owner):
    organization = owner.organization
    with one_version(organization) as created:
        premises = create_betriebsstaette(actor=None, organization=organization,
                                          data={"name": "Hauptsitz", "reference": "main", **ADDRESS})
    assert created.changes == [("added", "betriebsstaetten[main]")]
    assert created.version.changes[0]["new"]["name"] == "Hauptsitz"
    with one_version(organization) as changed:
        update_betriebsstaette(actor=None, betriebsstaette=premises, changes={"name": "Zentrale", "remarks": "x"})
    assert changed.fields() == {"betriebsstaetten[main].name": ("Hauptsitz", "Zentrale"),
                                "betriebsstaetten[main].remarks": ("", "x")}
    with one_version(organization) as closed:
        close_betriebsstaette(actor=None, betriebsstaette=premises)
    assert closed.changes == [("changed", "betriebsstaetten[main].closed_on")]


def test_betriebsstaette_reference_is_validated_and_unique(owner, stranger):
    organization = owner.organization
    create_betriebsstaette(actor=None, organization=organization, data={"name": "A", "reference": "main", **ADDRESS})
    create_betriebsstaette(actor=None, organization=stranger.organization,
                           data={"name": "A", "reference": "main", **ADDRESS})  # another organization: fine
    other = create_betriebsstaette(actor=None, organization=organization, data={"name": "B", **ADDRESS})
    assert other.reference == ""
    with no_version(organization):
        with pytest.raises(PremisesError) as taken:
            create_betriebsstaette(actor=None, organization=organization,
                                   data={"name": "C", "reference": "main", **ADDRESS})
        assert (taken.value.code, taken.value.status, taken.value.field) == ("E_REFERENCE_TAKEN", 409, "reference")
        with pytest.raises(PremisesError):
            update_betriebsstaette(actor=None, betriebsstaette=other, changes={"reference": "main"})
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as invalid:
            update_betriebsstaette(actor=None, betriebsstaette=other, changes={"reference": "no spaces"})
        assert "reference" in invalid.value.message_dict
    with one_version(organization) as renamed:
        update_betriebsstaette(actor=None, betriebsstaette=other, changes={"reference": "lager"})
    assert renamed.version.changes == [{"op": "changed", "path": "betriebsstaetten[lager].reference",
                                        "object": "betriebsstaette", "field": "reference", "old": None,
                                        "new": "lager"}]


def test_outlet_services(owner):
    organization = owner.organization
    premises = create_betriebsstaette(actor=None, organization=organization,
                                      data={"name": "Hauptsitz", "reference": "main", **ADDRESS})
    with one_version(organization) as created:
        outlet = create_outlet(actor=None, organization=organization,
                               data={"number": 1, "name": "Mitte", "betriebsstaette": premises, **ADDRESS})
    assert created.changes == [("added", "outlets[1]")]
    with one_version(organization) as changed:
        update_outlet(actor=None, outlet=outlet, changes={"name": "Mitte 2", "city": "Potsdam"})
    assert changed.fields() == {"outlets[1].name": ("Mitte", "Mitte 2"), "outlets[1].city": ("Berlin", "Potsdam")}
    with no_version(organization):
        update_outlet(actor=None, outlet=outlet, changes={"name": "Mitte 2"})
        with pytest.raises(PremisesError):
            update_outlet(actor=None, outlet=outlet, changes={"number": 5})
    with one_version(organization) as closed:
        close_outlet(actor=None, outlet=outlet)
    assert closed.changes == [("changed", "outlets[1].closed_on")]


# --- signing units and clients --------------------------------------------------------------


@pytest.fixture
def outlet(owner):
    return create_outlet(actor=None, organization=owner.organization, data={"number": 1, "name": "Mitte", **ADDRESS})


def test_signing_unit_lifecycle(owner, outlet):
    organization = owner.organization
    actor = actor_for_user(owner.user)
    with one_version(organization) as created:
        unit = create_signing_unit(actor=actor, organization=organization, outlet=outlet, reference="tse-1",
                                   description="Theke")
    assert created.changes == [("added", "outlets[1].signing_units[tse-1]")]
    assert created.version.changes[0]["new"]["description"] == "Theke"
    assert created.version.actor_user == owner.user
    with one_version(organization) as initialized:
        unit = initialize_signing_unit(actor=actor, signing_unit=unit)
    assert initialized.fields() == {"outlets[1].signing_units[tse-1].initialize": (False, True),
                                    "outlets[1].signing_units[tse-1].state": ("uninitialized", "initialized")}
    with one_version(organization) as registered:
        register_client(actor=actor, signing_unit=unit, client_id="KASSE-01")
    assert registered.changes == [("added", "outlets[1].signing_units[tse-1].clients[KASSE-01]")]
    with one_version(organization) as disabled:
        disable_signing_unit(actor=actor, signing_unit=unit)
    assert disabled.fields() == {"outlets[1].signing_units[tse-1].state": ("initialized", "disabled")}


def test_signing_unit_reference_is_unique(owner, stranger):
    create_signing_unit(actor=None, organization=owner.organization, reference="tse-1")
    create_signing_unit(actor=None, organization=stranger.organization, reference="tse-1")
    with no_version(owner.organization):
        with pytest.raises(TseError) as taken:
            create_signing_unit(actor=None, organization=owner.organization, reference="tse-1")
        assert (taken.value.code, taken.value.status) == ("E_REFERENCE_TAKEN", 409)
        with pytest.raises(TseError) as invalid:
            create_signing_unit(actor=None, organization=owner.organization, reference="a/b")
        assert invalid.value.code == "E_VALIDATION"


def test_failed_initialization_records_no_version(owner, monkeypatch):
    from tse.backends.software import SoftwareTse

    unit = create_signing_unit(actor=None, organization=owner.organization, reference="tse-1")

    def broken(self, description=""):
        raise TseError("E_TSE_UNAVAILABLE", "down", status=503)

    monkeypatch.setattr(SoftwareTse, "initialize", broken)
    with no_version(owner.organization), pytest.raises(TseError):
        initialize_signing_unit(actor=None, signing_unit=unit)


def test_lan_units(owner, outlet):
    organization = owner.organization
    with one_version(organization) as created:
        unit = make_lan(organization, outlet=outlet, reference="lan-1", max_clients=3)
    assert created.changes == [("added", "outlets[1].signing_units[lan-1]")]
    new = created.version.changes[0]["new"]
    assert new["connection"]["host"] == "tse.kasse.local" and new["serial_number"] == unit.serial_number
    assert "token" not in str(created.version.document)
    with one_version(organization) as changed:
        update_lan_connection(actor=None, signing_unit=unit, host="10.0.0.9", port=4433, max_clients=2)
    assert changed.fields() == {"outlets[1].signing_units[lan-1].max_clients": (3, 2),
                                "outlets[1].signing_units[lan-1].connection.host": ("tse.kasse.local", "10.0.0.9")}
    with no_version(organization):  # a new token alone is no change of the document
        update_lan_connection(actor=None, signing_unit=unit, host="10.0.0.9", port=4433, max_clients=2,
                              token="another-token-1234")


def test_fiskaly_unit(owner, settings):
    settings.FISKALY_API_KEY = "test-key"
    with one_version(owner.organization) as created:
        create_fiskaly_signing_unit(actor=None, organization=owner.organization, reference="fy-1",
                                    description="Cloud")
    assert created.changes == [("added", "signing_units[fy-1]")]
    assert created.version.changes[0]["new"]["backend"] == "fiskaly"


def test_signing_api_services(owner):
    organization = owner.organization
    actor = actor_for_api_key(owner.api_key)
    tss_id = uuid.uuid4()
    with one_version(organization) as created:
        unit, puk = signing.create_tss(actor=actor, organization=organization, tss_id=tss_id,
                                       data={"description": "API"})
    assert created.changes == [("added", f"signing_units[{tss_id}]")]
    assert created.version.actor_api_key == owner.api_key
    with no_version(organization):
        signing.create_tss(actor=actor, organization=organization, tss_id=tss_id, data={"description": "API"})
        unit = signing.change_tss_state(actor=actor, unit=unit, state="UNINITIALIZED")
    signing.change_admin_pin(actor=actor, unit=unit, admin_puk=puk, new_admin_pin="123456")
    signing.admin_login(actor=actor, unit=unit, admin_pin="123456")
    with one_version(organization) as initialized:
        unit = signing.change_tss_state(actor=actor, unit=unit, state="INITIALIZED")
    assert initialized.fields()[f"signing_units[{tss_id}].state"] == ("uninitialized", "initialized")
    client_uuid = uuid.uuid4()
    with one_version(organization) as registered:
        signing.register_client(actor=actor, unit=unit, client_id=client_uuid, serial_number="KASSE-07")
    assert registered.changes == [("added", f"signing_units[{tss_id}].clients[KASSE-07]")]
    with no_version(organization):  # replay
        signing.register_client(actor=actor, unit=unit, client_id=client_uuid, serial_number="KASSE-07")
    with one_version(organization) as disabled:
        signing.change_tss_state(actor=actor, unit=SigningUnit.unscoped.get(pk=unit.pk), state="DISABLED")
    assert disabled.fields() == {f"signing_units[{tss_id}].state": ("initialized", "disabled")}


# --- cash registers and entitlements --------------------------------------------------------


@pytest.fixture
def pos(owner, outlet):
    unit = create_signing_unit(actor=None, organization=owner.organization, outlet=outlet, reference="tse-1")
    unit = initialize_signing_unit(actor=None, signing_unit=unit)
    register_client(actor=None, signing_unit=unit, client_id="KASSE-01")
    return {"unit": unit, "client": TseClient.unscoped.get(signing_unit=unit, client_id="KASSE-01")}


def test_cash_register_services(owner, outlet, pos, pos_catalogue):
    organization = owner.organization
    path = "outlets[1].signing_units[tse-1].clients[KASSE-01].cash_register"
    with one_version(organization) as created:
        register = create_cash_register(actor=None, organization=organization, client=pos["client"], outlet=outlet,
                                        pos_system_version=pos_catalogue["old"])
    assert created.changes == [("added", path)]
    assert created.version.changes[0]["object"] == "cash_register"
    with one_version(organization) as changed:
        update_cash_register(actor=None, cash_register=register,
                             changes={"pos_system_version": pos_catalogue["new"], "base_currency": "CHF"})
    assert changed.fields() == {
        f"{path}.pos_system_version": (str(pos_catalogue["old"].public_id), str(pos_catalogue["new"].public_id)),
        f"{path}.pos_system": ("Kassenbau Kasse K1 · KassenSoft 3.0", "Kassenbau Kasse K1 · KassenSoft 3.1"),
        f"{path}.base_currency": ("EUR", "CHF")}
    with one_version(organization) as decommissioned:
        decommission_cash_register(actor=None, cash_register=register)
    assert decommissioned.changes == [("changed", f"{path}.decommissioned_at")]


def test_activating_an_entitlement(owner, partner, pos, configure_partner, dealer_stock):
    from tenants.services.entitlements import activate

    [entitlement] = dealer_stock(1)
    with one_version(owner.organization) as activated:
        activate(actor=actor_for_user(partner.user), entitlement=entitlement, signing_unit=pos["unit"])
    assert activated.changes == [("added", "outlets[1].signing_units[tse-1].entitlement")]
    assert activated.version.acting_organization == partner.organization
    assert activated.version.actor_user == partner.user
