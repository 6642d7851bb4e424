"""Usage of signing units in one month (Europe/Berlin): transactions per day, blocks and fee so far, forecast.

``daily_usage(signing_unit, month_start)`` lists every Berlin day of the month with its transaction
count. ``month_usage(organization, month_start)`` gives one ``UnitUsage`` row per signing unit the
organization sees in its usage:

- as an operator: each of its own signing units (existing before the month's end);
- as a dealer: each signing unit it is billed for, i.e. whose entitlement of the dealer was
  activated by the dealer (``activated_by_dealer``) and active at some time in the month — across
  all its operators.

Counting follows the billing run (reference/domain.md §10.1): every ``TseTransaction`` whose
``time_start`` lies in the Berlin month, test and training transactions included, priced by the plan
valid on the month's first day (``pricing.plan_for`` / ``pricing.unit_fee``). A unit is billable when
one of its signing-unit entitlements was active at any time in the month (activated before the
month's end, not ended before its start); the bill-to is the entitlement's dealer when the dealer
activated it, else the operator. Units that are not billable show no blocks and no fee. Fees are list
prices (framework-contract discounts are applied on the invoice).

Forecast: transactions so far / elapsed Berlin days × days of the month, rounded half up; a past month
forecasts what it counted, a future month nothing.

Queries: a constant number per call, whatever the number of units — the units, their entitlements,
one grouped count (unit × Berlin day) and one plan per distinct product. The units are found through
the caller's scoped managers; the transaction count is then restricted to exactly those unit ids
(a dealer is billed for units of operators that may since have revoked its access rights, exactly
as the billing run bills them).
"""

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Entitlement, Organization, PricePlan, Product, ProductKind
from tenants.services.billing.pricing import BERLIN, period_bounds, plan_for, unit_fee
from tse.models import SigningUnit, TseTransaction

__all__ = [
    "BERLIN",
    "DEFAULT_PRODUCT_CODE",
    "UnitUsage",
    "UsageError",
    "current_month",
    "daily_usage",
    "elapsed_days",
    "forecast_transactions",
    "month_usage",
    "operator_sums",
    "parse_month",
    "usage_totals",
]

DEFAULT_PRODUCT_CODE = "TSE-SUB"  # the signing-unit subscription of migration tenants 0008
ZERO = Decimal("0.00")


class UsageError(Exception):
    def __init__(self, status: int, code: str, message):
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = message


@dataclass
class UnitUsage:
    """The usage of one signing unit in one month."""

    signing_unit: SigningUnit
    operator: Organization
    plan: PricePlan | None
    days: list[tuple[dt.date, int]]
    transactions: int
    blocks: int
    fee: Decimal
    forecast_transactions: int
    forecast_blocks: int
    forecast_fee: Decimal
    billable: bool
    bill_to: Organization | None
    entitlement: Entitlement | None = None
    elapsed_days: int = 0
    cumulative: list[int] = field(default_factory=list)


def current_month(now=None) -> dt.date:
    """The first day of the current Berlin month."""
    today = timezone.localtime(now or timezone.now(), BERLIN).date()
    return today.replace(day=1)


def parse_month(value: str | None, now=None) -> dt.date:
    """``YYYY-MM`` → its first day; empty → the current Berlin month. Future months do not exist yet."""
    current = current_month(now)
    if not value:
        return current
    try:
        month = dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise UsageError(400, "E_MONTH_INVALID", _("The month must be given as YYYY-MM.")) from None
    if month > current:
        raise UsageError(400, "E_MONTH_INVALID", _("There is no usage of a future month yet."))
    return month


def elapsed_days(month_start: dt.date, now=None) -> int:
    """Berlin days of the month begun so far (today included): 0 for a future month, all for a past one."""
    today = timezone.localtime(now or timezone.now(), BERLIN).date()
    days = calendar.monthrange(month_start.year, month_start.month)[1]
    if today < month_start:
        return 0
    if (today.year, today.month) == (month_start.year, month_start.month):
        return today.day
    return days


def forecast_transactions(transactions: int, elapsed: int, days: int) -> int:
    """Transactions so far / elapsed days × days of the month, rounded half up (Decimal arithmetic)."""
    if elapsed <= 0:
        return 0
    if elapsed >= days:
        return transactions
    return int((Decimal(transactions) * days / elapsed).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _month_days(month_start: dt.date) -> list[dt.date]:
    days = calendar.monthrange(month_start.year, month_start.month)[1]
    return [month_start.replace(day=day) for day in range(1, days + 1)]


def _daily_counts(unit_ids, month_start: dt.date) -> dict[int, dict[dt.date, int]]:
    """One grouped query: transactions per unit and Berlin day of ``time_start`` in the month."""
    _end, start_utc, end_utc = period_bounds(month_start)
    rows = (TseTransaction.unscoped.filter(signing_unit_id__in=list(unit_ids), time_start__gte=start_utc,
                                           time_start__lt=end_utc)
            .annotate(day=TruncDate("time_start", tzinfo=BERLIN))
            .values("signing_unit_id", "day").annotate(count=Count("pk")).order_by())
    counts: dict[int, dict[dt.date, int]] = {}
    for row in rows:
        counts.setdefault(row["signing_unit_id"], {})[row["day"]] = row["count"]
    return counts


def daily_usage(signing_unit: SigningUnit, month_start: dt.date) -> list[tuple[dt.date, int]]:
    """Every Berlin day of the month with the unit's transaction count (zero days included)."""
    counts = _daily_counts([signing_unit.pk], month_start).get(signing_unit.pk, {})
    return [(day, counts.get(day, 0)) for day in _month_days(month_start)]


def _entitlements(organization: Organization, month_start: dt.date, unit_ids: list[int]) -> list[Entitlement]:
    """Signing-unit entitlements active at some time in the month, of the organization's units or billed
    to it as a dealer; the latest activation first per unit."""
    _end, start_utc, end_utc = period_bounds(month_start)
    return list(
        Entitlement.objects.filter(product__kind=ProductKind.SIGNING_UNIT, signing_unit__isnull=False,
                                   activated_at__isnull=False, activated_at__lt=end_utc)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start_utc))
        .filter(Q(signing_unit_id__in=unit_ids) | Q(dealer=organization, activated_by_dealer=True))
        .select_related("signing_unit", "signing_unit__organization", "dealer", "product")
        .order_by("signing_unit_id", "-activated_at", "-pk")
    )


def _plans(products, month_start: dt.date) -> dict[int, PricePlan | None]:
    plans = {}
    for product in products:
        try:
            plans[product.pk] = plan_for(product, month_start)
        except PricePlan.DoesNotExist:
            plans[product.pk] = None
    return plans


def month_usage(organization: Organization, month_start: dt.date, *, now=None) -> list[UnitUsage]:
    """One row per signing unit of the organization's usage (see the module docstring), by operator and unit."""
    _end, _start_utc, end_utc = period_bounds(month_start)
    own = list(SigningUnit.objects.filter(organization=organization, created_at__lt=end_utc)
               .select_related("organization"))
    entitlements = _entitlements(organization, month_start, [unit.pk for unit in own])
    units = {unit.pk: unit for unit in own}
    by_unit: dict[int, Entitlement] = {}
    for entitlement in entitlements:
        by_unit.setdefault(entitlement.signing_unit_id, entitlement)
        units.setdefault(entitlement.signing_unit_id, entitlement.signing_unit)
    products = {entitlement.product.pk: entitlement.product for entitlement in by_unit.values()}
    default = Product.objects.filter(code=DEFAULT_PRODUCT_CODE).first()
    if default is not None:
        products.setdefault(default.pk, default)
    plans = _plans(products.values(), month_start)
    counts = _daily_counts(units, month_start)
    month_days = _month_days(month_start)
    elapsed = elapsed_days(month_start, now)
    rows = []
    for unit in units.values():
        entitlement = by_unit.get(unit.pk)
        product_id = entitlement.product_id if entitlement else (default.pk if default else None)
        plan = plans.get(product_id)
        unit_counts = counts.get(unit.pk, {})
        days = [(day, unit_counts.get(day, 0)) for day in month_days]
        rows.append(_row(unit, entitlement, plan, days, elapsed))
    rows.sort(key=lambda row: (row.operator.name, row.operator.pk, row.signing_unit.created_at, row.signing_unit.pk))
    return rows


def _row(unit, entitlement, plan, days, elapsed) -> UnitUsage:
    cumulative, total = [], 0
    for _day, count in days:
        total += count
        cumulative.append(total)
    forecast = forecast_transactions(total, elapsed, len(days))
    billable = entitlement is not None and plan is not None
    fee = unit_fee(plan, total) if billable else None
    forecast_fee = unit_fee(plan, forecast) if billable else None
    bill_to = None
    if entitlement is not None:
        bill_to = entitlement.dealer if entitlement.activated_by_dealer else unit.organization
    return UnitUsage(
        signing_unit=unit, operator=unit.organization, plan=plan, days=days, transactions=total,
        blocks=fee.blocks if fee else 0, fee=fee.amount if fee else ZERO,
        forecast_transactions=forecast, forecast_blocks=forecast_fee.blocks if forecast_fee else 0,
        forecast_fee=forecast_fee.amount if forecast_fee else ZERO, billable=billable, bill_to=bill_to,
        entitlement=entitlement, elapsed_days=elapsed, cumulative=cumulative,
    )


def usage_totals(rows: list[UnitUsage], organization: Organization) -> dict:
    """Transactions of all rows; units, fee and forecast of the rows billed to ``organization``."""
    billed = [row for row in rows if row.billable and row.bill_to is not None and row.bill_to.pk == organization.pk]
    return {
        "units": len(rows),
        "billed_units": len(billed),
        "transactions": sum(row.transactions for row in rows),
        "forecast_transactions": sum(row.forecast_transactions for row in rows),
        "fee": sum((row.fee for row in billed), ZERO),
        "forecast_fee": sum((row.forecast_fee for row in billed), ZERO),
    }


def operator_sums(rows: list[UnitUsage], organization: Organization) -> list[dict]:
    """Per operator (for a dealer's view): its units, transactions, and fee and forecast billed to ``organization``."""
    sums: dict[int, dict] = {}
    for row in rows:
        entry = sums.setdefault(row.operator.pk, {
            "operator": row.operator, "units": 0, "transactions": 0, "forecast_transactions": 0,
            "fee": ZERO, "forecast_fee": ZERO,
        })
        entry["units"] += 1
        entry["transactions"] += row.transactions
        entry["forecast_transactions"] += row.forecast_transactions
        if row.billable and row.bill_to is not None and row.bill_to.pk == organization.pk:
            entry["fee"] += row.fee
            entry["forecast_fee"] += row.forecast_fee
    return list(sums.values())
