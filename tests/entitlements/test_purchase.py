"""Purchase: discount tiers, commitment, credit limit (also under concurrency), framework contract, role."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django_scopes import scopes_disabled

from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import Entitlement, EntitlementOrder, EntitlementState, OrganizationRole, RoleKind, RoleStatus
from tenants.services.entitlements import EntitlementError, exposure, purchase
from tests.entitlements.conftest import default_product, make_framework_contract

pytestmark = pytest.mark.django_db


def _buy(actors, product, quantity):
    return purchase(actor=actor_for_user(actors.partner.user), dealer=actors.partner.organization, product=product,
                    quantity=quantity)


def _refused(actors, product, quantity) -> EntitlementError:
    with pytest.raises(EntitlementError) as info:
        _buy(actors, product, quantity)
    return info.value


@pytest.mark.parametrize(("quantity", "percent", "commitment"), [
    (1, "0.00", "108.00"),  # 1 × 9.00 × 12
    (4, "0.00", "432.00"),
    (5, "10.00", "486.00"),  # from 5 units 10 %
    (9, "10.00", "874.80"),
])
def test_discount_tier_by_units_after_the_purchase(actors, shop, quantity, percent, commitment):
    order = _buy(actors, shop, quantity)
    assert (order.quantity, order.list_unit_price, order.discount_percent, order.commitment) == (
        quantity, Decimal("9.00"), Decimal(percent), Decimal(commitment))
    assert Entitlement.unscoped.filter(order=order, state=EntitlementState.STOCK,
                                       dealer=actors.partner.organization).count() == quantity
    entry = LogEntry.unscoped.get(action="tenants.entitlements.purchased", organization=actors.partner.organization)
    assert entry.data["commitment"] == commitment and entry.data["quantity"] == quantity


def test_units_held_count_towards_the_tier(actors, shop):
    _buy(actors, shop, 4)  # 432.00
    second = _buy(actors, shop, 1)  # 5 units now: 10 % → 97.20
    assert (second.discount_percent, second.commitment) == (Decimal("10.00"), Decimal("97.20"))
    assert exposure(actors.partner.organization) == Decimal("529.20")


def test_exposure_above_the_limit_is_refused(actors, shop):
    first = _buy(actors, shop, 9)  # 874.80
    orders, rows, entries = EntitlementOrder.unscoped.count(), Entitlement.unscoped.count(), LogEntry.unscoped.count()
    error = _refused(actors, shop, 2)  # 11 units: 20 % → 172.80; 1047.60 > 1000.00
    assert (error.status, error.code) == (409, "E_CREDIT_LIMIT_EXCEEDED")
    assert (EntitlementOrder.unscoped.count(), Entitlement.unscoped.count(), LogEntry.unscoped.count()) == (
        orders, rows, entries)
    # exactly up to the limit passes: 1 more unit (10 units: 20 % → 86.40) → 961.20
    assert _buy(actors, shop, 1).commitment == Decimal("86.40")
    assert exposure(actors.partner.organization) == first.commitment + Decimal("86.40")


def test_ended_entitlements_free_the_limit(actors, shop):
    order = _buy(actors, shop, 9)
    assert _refused(actors, shop, 2).code == "E_CREDIT_LIMIT_EXCEEDED"
    ended = list(Entitlement.unscoped.filter(order=order).values_list("pk", flat=True)[:3])
    Entitlement.unscoped.filter(pk__in=ended).update(state=EntitlementState.ENDED)
    assert exposure(actors.partner.organization) == Decimal("583.20")  # 6 × 97.20
    assert _buy(actors, shop, 2).commitment == Decimal("194.40")  # 8 units: 10 %


@pytest.mark.parametrize("contract", ["missing", "not_countersigned", "ended", "future"])
def test_a_framework_contract_in_force_is_needed(actors, product, contract):
    import datetime as dt

    from django.utils import timezone

    today = timezone.localdate()
    if contract == "not_countersigned":
        make_framework_contract(actors.partner.organization, actors.partner.user, countersigned=False)
    elif contract == "ended":
        make_framework_contract(actors.partner.organization, actors.partner.user,
                                starts_on=today - dt.timedelta(days=400), ends_on=today - dt.timedelta(days=1))
    elif contract == "future":
        make_framework_contract(actors.partner.organization, actors.partner.user,
                                starts_on=today + dt.timedelta(days=1), ends_on=today + dt.timedelta(days=400))
    error = _refused(actors, product, 1)
    assert (error.status, error.code) == (409, "E_NO_FRAMEWORK_CONTRACT")
    assert not EntitlementOrder.unscoped.exists()


def test_refusals(actors, shop):
    assert _refused(actors, shop, 0).code == "E_VALIDATION"
    shop.active = False
    shop.save()
    assert _refused(actors, shop, 1).code == "E_PRODUCT_NOT_ON_SALE"
    shop.active = True
    shop.save()
    OrganizationRole.unscoped.filter(organization=actors.partner.organization, kind=RoleKind.DEALER).update(
        status=RoleStatus.PENDING)
    assert _refused(actors, shop, 1).code == "E_ROLE_INACTIVE"
    # a member-role user may not buy; neither may the operator for the dealer
    with pytest.raises(EntitlementError) as info:
        purchase(actor=actor_for_user(actors.partner.member), dealer=actors.partner.organization, product=shop,
                 quantity=1)
    assert (info.value.status, info.value.code) == (403, "E_PERMISSION_DENIED")
    with pytest.raises(EntitlementError) as info:
        purchase(actor=actor_for_user(actors.owner.user), dealer=actors.partner.organization, product=shop,
                 quantity=1)
    assert info.value.code == "E_PERMISSION_DENIED"
    assert not EntitlementOrder.unscoped.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_purchases_cannot_both_pass_the_limit(actors):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test needs PostgreSQL")
    product = default_product()
    make_framework_contract(actors.partner.organization, actors.partner.user, tiers=())
    barrier = threading.Barrier(2)
    results, errors = [], []

    def work():
        try:
            with scopes_disabled():
                barrier.wait(timeout=20)
                results.append(_buy(actors, product, 5))  # 540.00 each; both together 1080.00 > 1000.00
        except EntitlementError as exc:
            results.append(exc.code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(r if isinstance(r, str) else "order" for r in results) == ["E_CREDIT_LIMIT_EXCEEDED", "order"]
    assert Entitlement.unscoped.filter(dealer=actors.partner.organization).count() == 5
    assert exposure(actors.partner.organization) == Decimal("540.00")
