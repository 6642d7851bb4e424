"""Live mode: initializing a live signing unit in the live environment needs an active entitlement."""

import pytest

from portal.tenancy import actor_for_user
from tenants.models import Entitlement
from tenants.services.entitlements import activate, cancel, purchase
from tse.backends.base import TseError
from tse.models import BackendType, SigningUnit, SigningUnitMode, SigningUnitState
from tse.services import signing_units

pytestmark = pytest.mark.django_db


class FakeLanTse:
    """Stands in for the LAN adapter: records the calls, changes the state like a real TSE."""

    calls: list[str] = []

    def __init__(self, signing_unit):
        self.signing_unit = signing_unit

    def initialize(self, description):
        self.calls.append("initialize")
        SigningUnit.unscoped.filter(pk=self.signing_unit.pk).update(state=SigningUnitState.INITIALIZED)

    def update_time(self):
        self.calls.append("update_time")


@pytest.fixture
def live_unit(actors, monkeypatch):
    FakeLanTse.calls = []
    monkeypatch.setitem(signing_units._BACKENDS, BackendType.LAN, FakeLanTse)
    return SigningUnit.unscoped.create(organization=actors.owner.organization, backend=BackendType.LAN,
                                       mode=SigningUnitMode.LIVE, serial_number="ab" * 32)


def _activate(actors, product, unit, outlet, dealer_actor):
    order = purchase(actor=actor_for_user(actors.partner.user), dealer=actors.partner.organization, product=product,
                     quantity=1)
    return activate(actor=dealer_actor, entitlement=Entitlement.unscoped.get(order=order), signing_unit=unit,
                    outlet=outlet)


def test_live_initialization_is_refused_without_an_entitlement(settings, live_unit):
    settings.PORTAL_ENVIRONMENT = "live"
    with pytest.raises(TseError) as info:
        signing_units.initialize_signing_unit(actor=None, signing_unit=live_unit)
    assert (info.value.status, info.value.code) == (409, "E_NO_ENTITLEMENT")
    assert FakeLanTse.calls == []
    assert SigningUnit.unscoped.get(pk=live_unit.pk).state == SigningUnitState.UNINITIALIZED


def test_live_initialization_with_an_active_entitlement(settings, actors, shop, outlet, dealer_actor, live_unit):
    settings.PORTAL_ENVIRONMENT = "live"
    entitlement = _activate(actors, shop, live_unit, outlet, dealer_actor)
    cancel(actor=dealer_actor, entitlement=entitlement)  # cancelled but still in its term: still usable
    signing_units.initialize_signing_unit(actor=None, signing_unit=live_unit)
    assert FakeLanTse.calls == ["initialize", "update_time"]


def test_sandbox_and_test_mode_need_no_entitlement(settings, live_unit, actors):
    settings.PORTAL_ENVIRONMENT = "sandbox"
    signing_units.initialize_signing_unit(actor=None, signing_unit=live_unit)
    settings.PORTAL_ENVIRONMENT = "live"
    test_unit = SigningUnit.unscoped.create(organization=actors.owner.organization, backend=BackendType.LAN,
                                            mode=SigningUnitMode.TEST, serial_number="cd" * 32)
    signing_units.initialize_signing_unit(actor=None, signing_unit=test_unit)
    assert FakeLanTse.calls == ["initialize", "update_time"] * 2


def test_the_tse_page_shows_the_refusal(settings, actors, live_unit, in_english):
    settings.PORTAL_ENVIRONMENT = "live"
    url = f"/o/{actors.owner.org_id}/tse/{live_unit.public_id}/initialize/"
    response = actors.session_client("owner").post(url, follow=True)
    assert response.status_code == 200
    assert "Activate an entitlement for this TSE first." in response.content.decode()
    assert SigningUnit.unscoped.get(pk=live_unit.pk).state == SigningUnitState.UNINITIALIZED
    assert FakeLanTse.calls == []
