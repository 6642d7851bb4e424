"""The price rule, plans by month, discount tiers, rounding and Berlin month bounds (pricing.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from tenants.models import PricePlan, Product, ProductKind
from tenants.services.billing.pricing import (
    Fee,
    discount_percent,
    discount_tiers,
    line_net,
    period_bounds,
    plan_for,
    tier_percent,
    unit_fee,
    vat_breakdown,
)
from tests.billing_run.conftest import make_contract
from tests.factories import make_organization

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def default_plan(tse_product):
    return plan_for(tse_product, dt.date(2026, 11, 1))


@pytest.mark.parametrize(("transactions", "blocks", "amount"), [
    (0, 1, "9.00"),
    (1, 1, "9.00"),
    (9_999, 1, "9.00"),
    (10_000, 1, "9.00"),
    (10_001, 2, "18.00"),
    (30_000, 3, "27.00"),
    (40_001, 5, "45.00"),
    (49_999, 5, "45.00"),
    (50_000, 5, "45.00"),
    (50_001, 5, "45.00"),
    (1_000_000, 5, "45.00"),
])
def test_default_plan_edges(default_plan, transactions, blocks, amount):
    assert unit_fee(default_plan, transactions) == Fee(blocks=blocks, amount=Decimal(amount))


@pytest.mark.parametrize(("transactions", "blocks", "amount"), [
    (0, 1, "5.00"),
    (1_000, 1, "5.00"),       # the base covers 1,000
    (1_001, 2, "7.50"),       # then blocks of 500 at 2.50
    (1_500, 2, "7.50"),
    (1_501, 3, "10.00"),
    (2_001, 4, "12.50"),
    (2_501, 4, "12.50"),      # capped at 4 blocks
    (1_000_000, 4, "12.50"),
])
def test_custom_plan(tse_product, transactions, blocks, amount):
    plan = PricePlan(product=tse_product, valid_from=dt.date(2027, 1, 1), base_fee=Decimal("5.00"),
                     included_transactions=1_000, block_size=500, block_price=Decimal("2.50"), max_blocks=4)
    assert unit_fee(plan, transactions) == Fee(blocks=blocks, amount=Decimal(amount))


def test_flat_plan_without_blocks(tse_product):
    plan = PricePlan(product=tse_product, valid_from=dt.date(2027, 1, 1), base_fee=Decimal("12.00"),
                     included_transactions=0, block_size=0, block_price=Decimal("0"), max_blocks=1)
    assert unit_fee(plan, 0) == unit_fee(plan, 10**9) == Fee(blocks=1, amount=Decimal("12.00"))


def test_negative_transactions_are_refused(default_plan):
    with pytest.raises(ValueError):
        unit_fee(default_plan, -1)


def test_a_plan_change_applies_from_its_month_only(tse_product):
    old = plan_for(tse_product, dt.date(2026, 11, 1))
    new = PricePlan.objects.create(product=tse_product, valid_from=dt.date(2026, 12, 1), base_fee=Decimal("10.00"),
                                   included_transactions=10_000, block_size=10_000, block_price=Decimal("10.00"),
                                   max_blocks=5)
    assert plan_for(tse_product, dt.date(2026, 11, 1)) == old  # a plan valid from 1 December does not price November
    assert plan_for(tse_product, dt.date(2026, 11, 30)) == old
    assert plan_for(tse_product, dt.date(2026, 12, 1)) == new
    assert plan_for(tse_product, dt.date(2027, 6, 1)) == new
    assert unit_fee(plan_for(tse_product, dt.date(2026, 12, 1)), 10_001) == Fee(2, Decimal("20.00"))


def test_no_plan_yet():
    product = Product.objects.create(code="TSE-NEW", name="New", kind=ProductKind.SIGNING_UNIT)
    PricePlan.objects.create(product=product, valid_from=dt.date(2027, 1, 1), base_fee=Decimal("1.00"))
    with pytest.raises(PricePlan.DoesNotExist):
        plan_for(product, dt.date(2026, 12, 1))


# --- Berlin months ----------------------------------------------------------------------------


@pytest.mark.parametrize(("period", "last_day", "start_utc", "end_utc"), [
    (dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.datetime(2026, 10, 31, 23, tzinfo=UTC),
     dt.datetime(2026, 11, 30, 23, tzinfo=UTC)),
    # DST starts on 29 March: the month begins at UTC+1 and ends at UTC+2
    (dt.date(2026, 3, 1), dt.date(2026, 3, 31), dt.datetime(2026, 2, 28, 23, tzinfo=UTC),
     dt.datetime(2026, 3, 31, 22, tzinfo=UTC)),
    # DST ends on 25 October: the month begins at UTC+2 and ends at UTC+1 (744 hours + 1)
    (dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.datetime(2026, 9, 30, 22, tzinfo=UTC),
     dt.datetime(2026, 10, 31, 23, tzinfo=UTC)),
    (dt.date(2028, 2, 1), dt.date(2028, 2, 29), dt.datetime(2028, 1, 31, 23, tzinfo=UTC),
     dt.datetime(2028, 2, 29, 23, tzinfo=UTC)),
])
def test_period_bounds(period, last_day, start_utc, end_utc):
    assert period_bounds(period) == (last_day, start_utc, end_utc)


def test_period_bounds_need_a_first_day():
    with pytest.raises(ValueError):
        period_bounds(dt.date(2026, 11, 2))


# --- discounts --------------------------------------------------------------------------------


@pytest.fixture
def dealer(db):
    return make_organization(roles=("dealer",), name="Rabatt Handel GmbH")


@pytest.mark.parametrize(("units", "percent"), [
    (0, "0.00"), (1, "0.00"), (2, "5.00"), (3, "5.00"), (9, "5.00"), (10, "7.50"), (11, "7.50"), (1000, "7.50"),
])
def test_tier_boundaries(dealer, units, percent):
    make_contract(dealer, [(2, "5.00"), (10, "7.50")])
    assert discount_percent(dealer, units, dt.date(2026, 11, 1)) == Decimal(percent)
    assert tier_percent(discount_tiers(dt.date(2026, 11, 1))[dealer.pk], units) == Decimal(percent)


def test_no_contract_no_discount(dealer):
    assert discount_percent(dealer, 50, dt.date(2026, 11, 1)) == Decimal("0.00")
    assert dealer.pk not in discount_tiers(dt.date(2026, 11, 1))


def test_a_contract_not_countersigned_gives_no_discount(dealer):
    make_contract(dealer, [(1, "5.00")], countersigned=False)
    assert discount_percent(dealer, 5, dt.date(2026, 11, 1)) == Decimal("0.00")
    assert dealer.pk not in discount_tiers(dt.date(2026, 11, 1))


@pytest.mark.parametrize(("day", "percent"), [
    (dt.date(2026, 3, 31), "0.00"),   # before the term
    (dt.date(2026, 4, 1), "5.00"),    # first day
    (dt.date(2026, 9, 30), "5.00"),   # last day
    (dt.date(2026, 10, 1), "0.00"),   # after the term
])
def test_only_a_contract_in_force_on_the_day_counts(dealer, day, percent):
    make_contract(dealer, [(1, "5.00")], starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 9, 30))
    assert discount_percent(dealer, 5, day) == Decimal(percent)
    assert tier_percent(discount_tiers(day).get(dealer.pk, []), 5) == Decimal(percent)


def test_the_contract_that_started_last_wins(dealer):
    make_contract(dealer, [(1, "5.00")], starts_on=dt.date(2026, 1, 1))
    make_contract(dealer, [], starts_on=dt.date(2026, 6, 1))  # newer, without tiers: no discount
    assert discount_percent(dealer, 5, dt.date(2026, 11, 1)) == Decimal("0.00")
    assert dealer.pk not in discount_tiers(dt.date(2026, 11, 1))
    assert discount_percent(dealer, 5, dt.date(2026, 5, 1)) == Decimal("5.00")
    assert discount_tiers(dt.date(2026, 5, 1))[dealer.pk] == [(1, Decimal("5.00"))]


# --- rounding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("list_amount", "percent", "net"), [
    ("9.00", "0", "9.00"),
    ("9.00", "7.50", "8.33"),     # 8.325 → half up
    ("18.00", "12.25", "15.80"),  # 15.795 → half up
    ("45.00", "33.33", "30.00"),  # 30.0015
    ("9.00", "100", "0.00"),
])
def test_line_net(list_amount, percent, net):
    assert line_net(Decimal(list_amount), Decimal(percent)) == Decimal(net)


def test_vat_is_rounded_once_per_rate():
    totals = vat_breakdown([(Decimal("8.33"), Decimal("19")), (Decimal("8.33"), Decimal("19.00")),
                            (Decimal("8.33"), Decimal("19")), (Decimal("10.00"), Decimal("7"))])
    # 24.99 × 19 % = 4.7481 → 4.75 (per line it would be 3 × 1.58 = 4.74)
    assert totals.breakdown == [{"rate": "7.00", "net": "10.00", "vat": "0.70"},
                                {"rate": "19.00", "net": "24.99", "vat": "4.75"}]
    assert (totals.net, totals.vat, totals.gross) == (Decimal("34.99"), Decimal("5.45"), Decimal("40.44"))
    breakdown, net, vat, gross = totals  # also unpacks as a tuple
    assert gross == net + vat and breakdown == totals.breakdown


def test_vat_half_up():
    assert vat_breakdown([(Decimal("40.50"), Decimal("19.00"))]).vat == Decimal("7.70")  # 7.695
    assert vat_breakdown([]).breakdown == [] and vat_breakdown([]).gross == Decimal("0.00")
