"""Fixtures of the usage tests: signing units with a POS client, transactions written as ORM rows in bulk
(the count is what matters, not the signatures), entitlements activated through the ORM."""

import datetime as dt
from itertools import count

import pytest
from django.db import connection
from django.db.models import Max

from tenants.models import Entitlement, EntitlementOrder, EntitlementState, PricePlan, Product
from tse.models import SigningUnit, TransactionState, TseClient, TseTransaction
from tse.services.signing_units import create_signing_unit

MARCH = dt.date(2026, 3, 1)
# 15 March 2026, 12:00 in Berlin (CET): 15 days of March have begun
NOW = dt.datetime(2026, 3, 15, 11, 0, tzinfo=dt.UTC)
CREATED = dt.datetime(2026, 1, 2, 9, 0, tzinfo=dt.UTC)  # the units exist since January
_serials = count(1)


def make_unit(organization, description: str = "Kasse", created_at=CREATED):
    unit = create_signing_unit(actor=None, organization=organization, description=description)
    SigningUnit.unscoped.filter(pk=unit.pk).update(serial_number=f"{next(_serials):064x}", created_at=created_at)
    unit.refresh_from_db()
    TseClient.unscoped.create(organization=organization, signing_unit=unit, client_id="KASSE-01")
    return unit


def add_transactions(unit, times) -> None:
    """One finished transaction per start time, numbered on from the unit's last number."""
    client = TseClient.unscoped.filter(signing_unit=unit).first()
    last = TseTransaction.unscoped.filter(signing_unit=unit).order_by("-number").values_list("number", flat=True)
    first = (last.first() or 0) + 1
    TseTransaction.unscoped.bulk_create([
        TseTransaction(organization=unit.organization, signing_unit=unit, client=client, number=first + index,
                       state=TransactionState.FINISHED, time_start=when, time_end=when)
        for index, when in enumerate(times)
    ], batch_size=5000)


def add_many(unit, total: int, start: dt.datetime, days: int) -> None:
    """``total`` transactions spread evenly over ``days`` days from ``start`` (same time of day; the first
    ``total % days`` days get one more). One ``INSERT … SELECT generate_series`` on PostgreSQL."""
    if connection.vendor != "postgresql":
        per_day, rest = divmod(total, days)
        times = []
        for day in range(days):
            times += [start + dt.timedelta(days=day)] * (per_day + (1 if day < rest else 0))
        add_transactions(unit, times)
        return
    client = TseClient.unscoped.filter(signing_unit=unit).first()
    first = (TseTransaction.unscoped.filter(signing_unit=unit).aggregate(last=Max("number"))["last"] or 0) + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TseTransaction._meta.db_table} (public_id, organization_id, signing_unit_id, client_id,"
            " number, state, process_type, process_data, time_start, time_end, last_revision)"
            " SELECT gen_random_uuid(), %s, %s, %s, %s + g, %s, '', ''::bytea,"
            " %s + (g %% %s) * interval '1 day', %s + (g %% %s) * interval '1 day', 1"
            " FROM generate_series(0, %s - 1) AS g",
            [unit.organization_id, unit.pk, client.pk, first, TransactionState.FINISHED, start, days, start, days,
             total],
        )


def default_product() -> Product:
    return Product.objects.get(code="TSE-SUB")


def activate(unit, dealer, *, activated_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC), by_dealer=True, ended_at=None):
    product = default_product()
    plan = PricePlan.objects.filter(product=product).order_by("-valid_from").first()
    order = EntitlementOrder.unscoped.create(dealer=dealer, product=product, plan=plan, quantity=1,
                                             list_unit_price=plan.base_fee, commitment=plan.base_fee * 12)
    return Entitlement.unscoped.create(
        dealer=dealer, order=order, product=product, operator=unit.organization, signing_unit=unit,
        state=EntitlementState.ENDED if ended_at else EntitlementState.ACTIVE, assigned_at=activated_at,
        activated_at=activated_at, activated_by_dealer=by_dealer, ended_at=ended_at,
        term_start=activated_at.date(), term_end=activated_at.date() + dt.timedelta(days=364),
    )


@pytest.fixture
def unit(owner):
    return make_unit(owner.organization, "Kasse Mitte")


@pytest.fixture
def licensed_unit(unit, partner):
    """The owner's unit, activated by the partner dealer (billed to the dealer) in January 2026."""
    activate(unit, partner.organization)
    return unit
