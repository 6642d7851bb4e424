"""Assign, activate, cancel, renew; terms at month ends; who is billed; active_entitlement."""

import datetime as dt

import pytest
import time_machine

from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import Entitlement
from tenants.services.entitlements import (
    EntitlementError,
    activate,
    active_entitlement,
    add_months,
    assign,
    cancel,
    purchase,
    renew_subscriptions,
    term_end_for,
)
from tests.entitlements.conftest import make_outlet
from tse.services.signing_units import create_signing_unit

pytestmark = pytest.mark.django_db

# 31 January 2027, 10:00 in Berlin (CET)
JAN_31 = dt.datetime(2027, 1, 31, 9, 0, tzinfo=dt.UTC)


def _stock(actors, product, quantity=1) -> list[Entitlement]:
    order = purchase(actor=actor_for_user(actors.partner.user), dealer=actors.partner.organization, product=product,
                     quantity=quantity)
    return list(Entitlement.unscoped.filter(order=order).order_by("pk"))


def _fresh(entitlement) -> Entitlement:
    return Entitlement.unscoped.get(pk=entitlement.pk)


@pytest.mark.parametrize(("start", "months", "end"), [
    (dt.date(2027, 1, 1), 1, dt.date(2027, 1, 31)),
    (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),  # February has no 31st: the term ends on its last day
    (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year: its last day, 29 February
    (dt.date(2027, 3, 31), 1, dt.date(2027, 4, 30)),
    (dt.date(2027, 3, 1), 12, dt.date(2028, 2, 29)),
    (dt.date(2027, 12, 15), 1, dt.date(2028, 1, 14)),
    (dt.date(2027, 2, 28), 12, dt.date(2028, 2, 27)),
    (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),  # February 2028 has no 30th: its last day
])
def test_term_end(start, months, end):
    assert term_end_for(start, months) == end


def test_add_months_clamps_the_day():
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 8, 31), 13) == dt.date(2028, 9, 30)
    assert add_months(dt.date(2027, 5, 15), 0) == dt.date(2027, 5, 15)


def test_assign_without_the_right_is_refused_and_changes_nothing(actors, shop, outlet):
    entitlement = _stock(actors, shop)[0]
    entries = LogEntry.unscoped.count()
    with pytest.raises(EntitlementError) as info:  # the owner granted `read` only
        assign(actor=actor_for_user(actors.partner.user), entitlement=entitlement, operator=actors.owner.organization,
               outlet=outlet)
    assert (info.value.status, info.value.code) == (403, "E_RIGHT_MISSING")
    fresh = _fresh(entitlement)
    assert (fresh.state, fresh.operator_id, fresh.outlet_id, fresh.assigned_at) == ("stock", None, None, None)
    assert LogEntry.unscoped.count() == entries


def test_assign(actors, shop, outlet, dealer_actor):
    entitlement = _stock(actors, shop)[0]
    assigned = assign(actor=dealer_actor, entitlement=entitlement, operator=actors.owner.organization, outlet=outlet)
    assert (assigned.state, assigned.operator, assigned.outlet) == ("assigned", actors.owner.organization, outlet)
    entry = LogEntry.unscoped.get(action="tenants.entitlements.assigned", organization=actors.owner.organization)
    assert entry.acting_organization == actors.partner.organization and entry.actor_user == actors.partner.user
    assert LogEntry.unscoped.filter(action="tenants.entitlements.assigned",
                                    organization=actors.partner.organization).exists()
    with pytest.raises(EntitlementError) as info:  # not in stock any more
        assign(actor=dealer_actor, entitlement=entitlement, operator=actors.owner.organization, outlet=outlet)
    assert info.value.code == "E_ENTITLEMENT_STATE"


def test_assign_needs_an_open_outlet_of_that_operator(actors, shop, dealer_actor):
    entitlement = _stock(actors, shop)[0]
    foreign = make_outlet(actors.stranger.organization)
    closed = make_outlet(actors.owner.organization, number=2, closed_on=dt.date(2020, 1, 1))
    for outlet, code in ((foreign, "E_OUTLET_NOT_FOUND"), (closed, "E_OUTLET_CLOSED"), (None, "E_OUTLET_REQUIRED")):
        with pytest.raises(EntitlementError) as info:
            assign(actor=dealer_actor, entitlement=entitlement, operator=actors.owner.organization, outlet=outlet)
        assert info.value.code == code
    assert _fresh(entitlement).state == "stock"


def test_the_dealer_activates_in_one_step_and_is_billed(actors, shop, outlet, dealer_actor, new_unit):
    entitlement = _stock(actors, shop)[0]
    with time_machine.travel(JAN_31, tick=False):
        active = activate(actor=dealer_actor, entitlement=entitlement, signing_unit=new_unit, outlet=outlet)
    assert (active.state, active.signing_unit, active.outlet, active.activated_by_dealer) == (
        "active", new_unit, outlet, True)
    assert (active.activated_at, active.term_start, active.term_end) == (
        JAN_31, dt.date(2027, 1, 31), dt.date(2028, 1, 30))
    assert active_entitlement(new_unit) == active
    assert active_entitlement(new_unit, JAN_31 - dt.timedelta(seconds=1)) is None
    entry = LogEntry.unscoped.get(action="tenants.entitlements.activated", organization=actors.owner.organization)
    assert entry.acting_organization == actors.partner.organization
    assert entry.data["billed_to"] == "dealer" and entry.data["signing_unit"] == str(new_unit.public_id)
    # a second entitlement for the same unit is refused
    second = _stock(actors, shop)[0]
    with pytest.raises(EntitlementError) as info:
        activate(actor=dealer_actor, entitlement=second, signing_unit=new_unit, outlet=outlet)
    assert (info.value.status, info.value.code) == (409, "E_SIGNING_UNIT_LICENSED")
    assert _fresh(second).state == "stock"  # the one-step transfer was rolled back too


def test_the_operator_activates_its_own_and_pays(actors, shop, outlet, dealer_actor, operator_actor, new_unit):
    entitlement = assign(actor=dealer_actor, entitlement=_stock(actors, shop)[0],
                         operator=actors.owner.organization, outlet=outlet)
    with pytest.raises(EntitlementError) as info:  # a member-role user may not
        activate(actor=actor_for_user(actors.owner.member), entitlement=entitlement, signing_unit=new_unit)
    assert info.value.code == "E_PERMISSION_DENIED"
    with pytest.raises(EntitlementError) as info:  # a signing-unit product needs a unit
        activate(actor=operator_actor, entitlement=entitlement)
    assert info.value.code == "E_SIGNING_UNIT_REQUIRED"
    foreign = create_signing_unit(actor=None, organization=actors.stranger.organization)
    with pytest.raises(EntitlementError) as info:
        activate(actor=operator_actor, entitlement=entitlement, signing_unit=foreign)
    assert info.value.code == "E_SIGNING_UNIT_NOT_FOUND"
    active = activate(actor=operator_actor, entitlement=entitlement, signing_unit=new_unit)
    assert (active.state, active.activated_by_dealer) == ("active", False)
    entry = LogEntry.unscoped.get(action="tenants.entitlements.activated", organization=actors.owner.organization)
    assert entry.acting_organization is None and entry.data["billed_to"] == "operator"
    with pytest.raises(EntitlementError) as info:
        activate(actor=operator_actor, entitlement=entitlement, signing_unit=new_unit)
    assert info.value.code == "E_ENTITLEMENT_STATE"


def test_the_dealer_needs_the_right_still_when_activating(actors, shop, outlet, dealer_actor, new_unit):
    from tenants.services.grants import revoke_right

    entitlement = assign(actor=dealer_actor, entitlement=_stock(actors, shop)[0],
                         operator=actors.owner.organization, outlet=outlet)
    revoke_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                 right="entitlements")
    with pytest.raises(EntitlementError) as info:
        activate(actor=actor_for_user(actors.partner.user), entitlement=entitlement, signing_unit=new_unit)
    assert (info.value.status, info.value.code) == (403, "E_RIGHT_MISSING")
    assert _fresh(entitlement).state == "assigned"


def _active(actors, shop, outlet, actor, unit, when=JAN_31) -> Entitlement:
    with time_machine.travel(when, tick=False):
        return activate(actor=actor, entitlement=_stock(actors, shop)[0], signing_unit=unit, outlet=outlet)


def test_cancel_by_the_billed_party_only(actors, shop, outlet, dealer_actor, operator_actor, new_unit):
    active = _active(actors, shop, outlet, dealer_actor, new_unit)
    with pytest.raises(EntitlementError) as info:  # the dealer pays: the operator cannot cancel
        cancel(actor=operator_actor, entitlement=active)
    assert (info.value.status, info.value.code) == (403, "E_NOT_BILLED_PARTY")
    cancelled = cancel(actor=dealer_actor, entitlement=active)
    assert cancelled.cancelled_at is not None and cancelled.auto_renew is False and cancelled.state == "active"
    assert active_entitlement(new_unit) == cancelled  # stays active until term_end
    with pytest.raises(EntitlementError) as info:  # irreversible, and only once
        cancel(actor=dealer_actor, entitlement=active)
    assert info.value.code == "E_ENTITLEMENT_STATE"
    assert LogEntry.unscoped.filter(action="tenants.entitlements.cancelled").count() == 2  # dealer and operator log


def test_renew_and_end(actors, shop, outlet, dealer_actor, new_unit):
    other_unit = create_signing_unit(actor=None, organization=actors.owner.organization)
    renewing = _active(actors, shop, outlet, dealer_actor, new_unit)  # 31 Jan 2027 – 30 Jan 2028
    ending = cancel(actor=dealer_actor, entitlement=_active(actors, shop, outlet, dealer_actor, other_unit))
    assert renew_subscriptions(dt.date(2028, 1, 30)) == 0  # the last day of the term: nothing due
    assert renew_subscriptions(dt.date(2028, 1, 31)) == 2
    renewed, ended = _fresh(renewing), _fresh(ending)
    assert (renewed.state, renewed.term_start, renewed.term_end) == ("active", dt.date(2028, 1, 31),
                                                                     dt.date(2029, 1, 30))
    assert ended.state == "ended"
    assert ended.ended_at == dt.datetime(2028, 1, 30, 23, 0, tzinfo=dt.UTC)  # 31 Jan 2028 00:00 in Berlin (CET)
    assert active_entitlement(other_unit) is None
    assert active_entitlement(other_unit, ended.ended_at - dt.timedelta(seconds=1)) == ended
    assert active_entitlement(other_unit, ended.ended_at) is None
    assert renew_subscriptions(dt.date(2028, 1, 31)) == 0  # idempotent
    assert LogEntry.unscoped.filter(action="tenants.entitlements.renewed").count() == 2
    assert LogEntry.unscoped.filter(action="tenants.entitlements.ended").count() == 2


def test_renewal_catches_up_missed_terms_and_ends_in_summer_time(actors, shop, outlet, dealer_actor, new_unit):
    from tenants.models import PricePlan

    PricePlan.objects.filter(product=shop).update(term_months=1)
    active = _active(actors, shop, outlet, dealer_actor, new_unit)  # 31 Jan – 28 Feb 2027
    assert active.term_end == dt.date(2027, 2, 28)
    assert renew_subscriptions(dt.date(2027, 4, 1)) == 1
    renewed = _fresh(active)  # 1 – 31 Mar, 1 – 30 Apr
    assert (renewed.term_start, renewed.term_end) == (dt.date(2027, 4, 1), dt.date(2027, 4, 30))
    cancel(actor=dealer_actor, entitlement=renewed)
    assert renew_subscriptions(dt.date(2027, 5, 1)) == 1
    assert _fresh(active).ended_at == dt.datetime(2027, 4, 30, 22, 0, tzinfo=dt.UTC)  # 1 May 00:00 CEST
