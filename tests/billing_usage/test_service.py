"""The usage service: Berlin day buckets (midnight edges, DST days), forecast arithmetic, billability,
bill-to, dealer sums, and a query count that does not grow with the number of units."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.services.billing.usage import (
    UsageError,
    daily_usage,
    elapsed_days,
    forecast_transactions,
    month_usage,
    operator_sums,
    parse_month,
    usage_totals,
)
from tests.billing_usage.conftest import MARCH, NOW, activate, add_many, add_transactions, make_unit
from tests.factories import make_dealer_with_grant, make_organization

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _by_day(days) -> dict[int, int]:
    return {day.day: count for day, count in days if count}


def test_daily_buckets_at_berlin_midnight_and_the_spring_dst_day(unit):
    add_transactions(unit, [
        dt.datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC),  # 23:59:59 on 28 Feb in Berlin: February
        dt.datetime(2026, 2, 28, 23, 0, 0, tzinfo=UTC),  # 00:00 on 1 March (CET)
        dt.datetime(2026, 3, 28, 23, 0, 0, tzinfo=UTC),  # 00:00 on 29 March, the day clocks go forward
        dt.datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),  # 03:00 CEST on 29 March
        dt.datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC),  # 23:59:59 CEST on 29 March
        dt.datetime(2026, 3, 29, 22, 0, 0, tzinfo=UTC),  # 00:00 on 30 March
        dt.datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC),  # 23:59:59 on 31 March (CEST): still March
        dt.datetime(2026, 3, 31, 22, 0, 0, tzinfo=UTC),  # 00:00 on 1 April
    ])
    days = daily_usage(unit, MARCH)
    assert [day for day, _count in days] == [dt.date(2026, 3, day) for day in range(1, 32)]
    assert _by_day(days) == {1: 1, 29: 3, 30: 1, 31: 1}
    assert _by_day(daily_usage(unit, dt.date(2026, 2, 1))) == {28: 1}
    assert _by_day(daily_usage(unit, dt.date(2026, 4, 1))) == {1: 1}


def test_daily_buckets_on_the_autumn_dst_day(unit):
    add_transactions(unit, [
        dt.datetime(2026, 10, 24, 21, 59, 59, tzinfo=UTC),  # 23:59:59 CEST on 24 October
        dt.datetime(2026, 10, 24, 22, 0, 0, tzinfo=UTC),  # 00:00 CEST on 25 October (a 25-hour day)
        dt.datetime(2026, 10, 25, 0, 30, 0, tzinfo=UTC),  # 02:30 CEST
        dt.datetime(2026, 10, 25, 1, 30, 0, tzinfo=UTC),  # 02:30 CET, the repeated hour
        dt.datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC),  # 23:59:59 CET on 25 October
        dt.datetime(2026, 10, 25, 23, 0, 0, tzinfo=UTC),  # 00:00 on 26 October
    ])
    assert _by_day(daily_usage(unit, dt.date(2026, 10, 1))) == {24: 1, 25: 4, 26: 1}


@pytest.mark.parametrize(("transactions", "elapsed", "days", "expected"), [
    (0, 15, 31, 0),
    (1500, 15, 31, 3100),
    (10, 3, 31, 103),  # 103.33 → 103
    (5, 2, 31, 78),  # 77.5 → 78 (half up)
    (23000, 15, 31, 47533),  # 47533.33
    (999, 1, 28, 27972),
    (23000, 31, 31, 23000),  # a finished month forecasts what it counted
    (0, 0, 30, 0),  # a month not yet begun
])
def test_forecast_arithmetic(transactions, elapsed, days, expected):
    assert forecast_transactions(transactions, elapsed, days) == expected


def test_elapsed_days_follow_the_berlin_calendar():
    april_first = dt.datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Berlin
    assert elapsed_days(MARCH, april_first) == 31
    assert elapsed_days(dt.date(2026, 4, 1), april_first) == 1
    assert elapsed_days(dt.date(2026, 5, 1), april_first) == 0
    assert elapsed_days(MARCH, NOW) == 15


def test_parse_month():
    assert parse_month(None, NOW) == MARCH
    assert parse_month("2026-01", NOW) == dt.date(2026, 1, 1)
    for bad in ("2026-13", "März", "2026-3-1", "2026-04"):  # the last one lies in the future
        with pytest.raises(UsageError) as caught:
            parse_month(bad, NOW)
        assert caught.value.code == "E_MONTH_INVALID"


def test_a_licensed_unit_so_far_and_forecast(owner, partner, licensed_unit):
    other = make_unit(owner.organization, "Kasse Bar")  # no entitlement: not billable
    add_many(licensed_unit, 23000, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 15)
    add_many(other, 300, dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 3)
    rows = month_usage(owner.organization, MARCH, now=NOW)
    assert [row.signing_unit for row in rows] == [licensed_unit, other]
    licensed, unlicensed = rows
    assert (licensed.transactions, licensed.blocks, licensed.fee) == (23000, 3, Decimal("27.00"))
    assert (licensed.forecast_transactions, licensed.forecast_blocks, licensed.forecast_fee) == (
        47533, 5, Decimal("45.00"))
    assert licensed.billable and licensed.bill_to == partner.organization
    assert licensed.cumulative[14] == 23000 and len(licensed.days) == 31
    assert (unlicensed.transactions, unlicensed.forecast_transactions) == (300, 620)
    assert not unlicensed.billable and (unlicensed.blocks, unlicensed.fee, unlicensed.forecast_fee) == (
        0, Decimal("0.00"), Decimal("0.00"))
    # the operator pays nothing itself: the dealer activated the entitlement
    totals = usage_totals(rows, owner.organization)
    assert totals["transactions"] == 23300 and totals["fee"] == Decimal("0.00") and totals["billed_units"] == 0


def test_billable_when_the_entitlement_was_active_at_any_time_in_the_month(owner, partner):
    march_start = dt.datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    cases = {
        "ended before": dict(ended_at=march_start - dt.timedelta(seconds=1)),
        "ended at the start": dict(ended_at=march_start),
        "ended during": dict(ended_at=march_start + dt.timedelta(days=3)),
        "activated on the last evening": dict(activated_at=dt.datetime(2026, 3, 31, 21, 59, tzinfo=UTC)),
        "activated after": dict(activated_at=dt.datetime(2026, 3, 31, 22, 0, tzinfo=UTC)),
        "activated by the operator": dict(by_dealer=False),
    }
    units = {}
    for name, kwargs in cases.items():
        units[name] = make_unit(owner.organization, name)
        activate(units[name], partner.organization, **kwargs)
    rows = {row.signing_unit.description: row for row in month_usage(owner.organization, MARCH, now=NOW)}
    assert {name: row.billable for name, row in rows.items()} == {
        "ended before": False, "ended at the start": False, "ended during": True,
        "activated on the last evening": True, "activated after": False, "activated by the operator": True,
    }
    assert rows["activated by the operator"].bill_to == owner.organization
    assert rows["ended during"].bill_to == partner.organization
    assert rows["ended during"].fee == Decimal("9.00")  # zero transactions: the base fee
    assert usage_totals(list(rows.values()), owner.organization)["fee"] == Decimal("9.00")


def test_dealer_sums_across_its_operators(owner, partner):
    dealer = partner.organization
    second = make_organization(roles=("operator",), name="Zweiter Betrieb GmbH")
    from tenants.services.grants import grant_right

    grant_right(actor=None, operator=second, dealer=dealer, right="entitlements")
    a = make_unit(owner.organization, "A")
    b1, b2 = make_unit(second, "B1"), make_unit(second, "B2")
    foreign = make_unit(second, "B3")  # activated by another dealer: not the dealer's usage
    rival = make_dealer_with_grant(second, right="entitlements", name="Andere Händler GmbH")
    for unit in (a, b1, b2):
        activate(unit, dealer)
    activate(foreign, rival)
    add_many(a, 5000, dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC), 5)
    add_many(b1, 12000, dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC), 10)
    add_many(foreign, 7000, dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC), 7)

    rows = month_usage(dealer, MARCH, now=NOW)
    assert sorted(row.signing_unit.description for row in rows) == ["A", "B1", "B2"]
    assert {row.signing_unit.description: row.fee for row in rows} == {
        "A": Decimal("9.00"), "B1": Decimal("18.00"), "B2": Decimal("9.00")}
    totals = usage_totals(rows, dealer)
    assert totals == {"units": 3, "billed_units": 3, "transactions": 17000, "forecast_transactions": 35133,
                      "fee": Decimal("36.00"), "forecast_fee": Decimal("54.00")}
    # forecasts: A 5000 → 10333 (18.00), B1 12000 → 24800 (27.00), B2 0 → 0 (9.00)
    sums = {entry["operator"].name: entry for entry in operator_sums(rows, dealer)}
    assert (sums["Owner Betriebs GmbH"]["fee"], sums["Owner Betriebs GmbH"]["forecast_fee"]) == (
        Decimal("9.00"), Decimal("18.00"))
    assert (sums["Zweiter Betrieb GmbH"]["units"], sums["Zweiter Betrieb GmbH"]["fee"],
            sums["Zweiter Betrieb GmbH"]["forecast_fee"]) == (2, Decimal("27.00"), Decimal("36.00"))


def _queries(organization) -> int:
    with CaptureQueriesContext(connection) as captured:
        month_usage(organization, MARCH, now=NOW)
    return len(captured)


def test_query_count_does_not_grow_with_the_units(owner, partner):
    def add_unit():
        unit = make_unit(owner.organization)
        activate(unit, partner.organization)
        add_many(unit, 40, dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC), 4)

    add_unit()
    one = (_queries(owner.organization), _queries(partner.organization))
    for _ in range(4):
        add_unit()
    assert (_queries(owner.organization), _queries(partner.organization)) == one
    assert len(month_usage(partner.organization, MARCH, now=NOW)) == 5


def test_units_created_after_the_month_are_not_listed(owner):
    make_unit(owner.organization, "neu", created_at=dt.datetime(2026, 3, 31, 22, 0, tzinfo=UTC))
    make_unit(owner.organization, "alt", created_at=dt.datetime(2026, 3, 31, 21, 59, tzinfo=UTC))
    assert [row.signing_unit.description for row in month_usage(owner.organization, MARCH, now=NOW)] == ["alt"]
