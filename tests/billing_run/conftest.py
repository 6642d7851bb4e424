"""Fixtures of the billing-run tests: organizations, signing units, entitlements and TSE transactions
made directly with the ORM (fast; the entitlement and signing services are tested elsewhere).

``world`` (period November 2026, Europe/Berlin), one dealer with a countersigned framework contract
(2 units → 5 %, 4 units → 10 %) and two operators:

=====  ==========  ====================================  =====================  ==============
unit   operator    entitlement                           transactions in Nov    billed to
=====  ==========  ====================================  =====================  ==============
u1     Alpha       dealer, activated 15 Oct              10,001 → 2 blocks      dealer
u2     Alpha       dealer, activated 15 Nov (mid-month)  0 → base fee           dealer
u3     Beta        dealer, activated 1 Sep               1                      dealer
u4     Beta        operator, activated 1 Sep             3                      Beta
u5     Alpha       dealer, ended 20 Oct                  5 → not billed         –
u6     Beta        dealer, activated 1 Sep               2 (+2 outside, edges)  dealer
u7     Gamma       none                                  4 → not billed         –
=====  ==========  ====================================  =====================  ==============
"""

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from tenants.models import (
    DiscountTier,
    Entitlement,
    EntitlementOrder,
    EntitlementState,
    FrameworkContract,
    PricePlan,
    Product,
    RoleKind,
)
from tests.factories import make_organization
from tse.models import SigningUnit, TseClient, TseTransaction
from tse.models.logs import TransactionState

BERLIN = ZoneInfo("Europe/Berlin")
NOVEMBER = dt.date(2026, 11, 1)
OCTOBER = dt.date(2026, 10, 1)
RUN_TIME = dt.datetime(2026, 12, 1, 4, 10, tzinfo=BERLIN)  # the beat schedule's time on the 1st
_serials = itertools.count(1)


def berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def tse_product(db):
    """The default signing-unit product and plan of migration tenants 0008 (restored after a flush)."""
    if not Product.objects.filter(code="TSE-SUB").exists():
        import_module("tenants.migrations.0008_invoices_final_default_plan").default_plan(apps, None)
    return Product.objects.get(code="TSE-SUB")


def make_unit(operator, *, serial: str | None = None) -> SigningUnit:
    number = next(_serials)
    unit = SigningUnit.unscoped.create(
        organization=operator, backend="software", description=f"Kasse {number}", state="initialized",
        mode="live", serial_number=serial if serial is not None else f"{number:04x}" + "ab" * 30,
    )
    TseClient.unscoped.create(organization=operator, signing_unit=unit, client_id=f"KASSE-{number}")
    return unit


def add_transactions(unit: SigningUnit, times) -> None:
    """TSE transactions of ``unit`` started at ``times`` (numbers continue per unit)."""
    client = TseClient.unscoped.filter(signing_unit=unit).first()
    start = TseTransaction.unscoped.filter(signing_unit=unit).count()
    TseTransaction.unscoped.bulk_create(
        [TseTransaction(organization_id=unit.organization_id, signing_unit=unit, client=client, number=start + i,
                        state=TransactionState.FINISHED, time_start=when, time_end=when)
         for i, when in enumerate(times, 1)],
        batch_size=5000,
    )


def add_month_transactions(unit: SigningUnit, count: int, month: dt.date = NOVEMBER) -> None:
    """``count`` transactions spread over days 1–28 of the Berlin month starting ``month`` (noon);
    on PostgreSQL generated in the database (10,000 rows in milliseconds)."""
    noon = berlin(month.year, month.month, 1, 12)
    if connection.vendor != "postgresql" or count < 100:
        add_transactions(unit, (noon + dt.timedelta(days=i % 28) for i in range(count)))
        return
    client = TseClient.unscoped.filter(signing_unit=unit).first()
    start = TseTransaction.unscoped.filter(signing_unit=unit).count()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tse_tsetransaction (public_id, organization_id, signing_unit_id, client_id, number, state, "
            "process_type, process_data, time_start, time_end, last_revision) "
            "SELECT gen_random_uuid(), %s, %s, %s, %s + g, %s, '', ''::bytea, %s + (g %% 28) * interval '1 day', "
            "%s + (g %% 28) * interval '1 day', 1 FROM generate_series(1, %s) AS g",
            [unit.organization_id, unit.pk, client.pk, start, TransactionState.FINISHED, noon, noon, count],
        )


def make_order(dealer, product) -> EntitlementOrder:
    plan = PricePlan.objects.filter(product=product).order_by("valid_from").first()
    return EntitlementOrder.unscoped.create(dealer=dealer, product=product, plan=plan, quantity=100,
                                            list_unit_price=plan.base_fee, commitment=plan.base_fee * 1200)


def entitle(unit, order, *, by_dealer=True, activated_at, ended_at=None, product=None) -> Entitlement:
    state = EntitlementState.ENDED if ended_at is not None else EntitlementState.ACTIVE
    return Entitlement.unscoped.create(
        dealer=order.dealer, order=order, product=product or order.product, state=state,
        operator_id=unit.organization_id, signing_unit=unit, assigned_at=activated_at, activated_at=activated_at,
        activated_by_dealer=by_dealer, term_start=activated_at.date(), ended_at=ended_at,
    )


def make_contract(dealer, tiers, *, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
                  countersigned=True) -> FrameworkContract:
    contract = FrameworkContract.unscoped.create(
        organization=dealer, title="Rahmenvertrag 2026", text="Mengenrabatt.", planned_volume=50,
        starts_on=starts_on, ends_on=ends_on, credit_limit=Decimal("10000.00"),
        countersigned_at=timezone.now() if countersigned else None, countersign_name="Dora Dealer" if countersigned
        else "",
    )
    for min_units, percent in tiers:
        DiscountTier.unscoped.create(contract=contract, organization=dealer, min_units=min_units,
                                     percent=Decimal(percent))
    return contract


@dataclass
class World:
    product: Product
    dealer: object
    alpha: object
    beta: object
    gamma: object
    order: EntitlementOrder
    units: dict = field(default_factory=dict)


@pytest.fixture
def world(tse_product) -> World:
    dealer = make_organization(roles=(RoleKind.DEALER,), name="Kassenhandel Nord GmbH", vat_id="DE811111111",
                               street="Hafenstraße 5", postal_code="20457", city="Hamburg")
    alpha = make_organization(name="Alpha Gastro GmbH", vat_id="DE822222222")
    beta = make_organization(name="Beta Bistro GmbH", tax_number="21/815/08150", street="Marktplatz 2",
                             postal_code="80331", city="München")
    gamma = make_organization(name="Gamma Imbiss GmbH")
    make_contract(dealer, [(2, "5.00"), (4, "10.00")])
    order = make_order(dealer, tse_product)
    w = World(product=tse_product, dealer=dealer, alpha=alpha, beta=beta, gamma=gamma, order=order)
    u = w.units
    u["u1"] = make_unit(alpha)
    entitle(u["u1"], order, activated_at=berlin(2026, 10, 15, 9))
    add_month_transactions(u["u1"], 10_001)
    u["u2"] = make_unit(alpha)
    entitle(u["u2"], order, activated_at=berlin(2026, 11, 15, 9))
    u["u3"] = make_unit(beta)
    entitle(u["u3"], order, activated_at=berlin(2026, 9, 1, 9))
    add_month_transactions(u["u3"], 1)
    u["u4"] = make_unit(beta)
    entitle(u["u4"], order, by_dealer=False, activated_at=berlin(2026, 9, 1, 9))
    add_month_transactions(u["u4"], 3)
    u["u5"] = make_unit(alpha)
    entitle(u["u5"], order, activated_at=berlin(2026, 9, 1, 9), ended_at=berlin(2026, 10, 20, 0))
    add_month_transactions(u["u5"], 5)
    u["u6"] = make_unit(beta)
    entitle(u["u6"], order, activated_at=berlin(2026, 9, 1, 9))
    add_transactions(u["u6"], [berlin(2026, 10, 31, 23, 59, 59), berlin(2026, 11, 1, 0, 0, 0),
                               berlin(2026, 11, 30, 23, 59, 59), berlin(2026, 12, 1, 0, 0, 0)])
    u["u7"] = make_unit(gamma)
    add_month_transactions(u["u7"], 4)
    return w
