"""Pricing of signing units: the plan of a period, the monthly fee, discounts, rounding, VAT.

Price rule (reference/domain.md §10.1), per billable signing unit and calendar month in
Europe/Berlin, with ``n`` = the unit's TSE transactions whose ``time_start`` lies in the month
(test and training transactions count)::

    extra  = ceil(max(0, n - included_transactions) / block_size)   (0 when block_size is 0)
    blocks = min(max_blocks, 1 + extra)
    fee    = base_fee + (blocks - 1) * block_price

With the default plan (included = block size = 10,000, 9.00 EUR base and per block, 5 blocks at
most) this is ``blocks = min(5, max(1, ceil(n / 10000)))``: 0 → 9.00, 10,000 → 9.00,
10,001 → 18.00, 40,001 and above → 45.00 EUR. The plan of a period is the one valid on its first
day (latest ``valid_from`` on or before it), so a plan change never prices an earlier month.

Rounding rule (the only place it is defined; the billing run's SQL does the same in integer
cents, see ``tenants.services.billing.run``), all ``Decimal``, never float:

- line net = ROUND_HALF_UP(list amount × (100 − discount percent) / 100, 2 places);
- per VAT rate: VAT = ROUND_HALF_UP(Σ line nets of that rate × rate / 100, 2 places);
- net total = Σ line nets; VAT total = Σ VAT per rate; gross total = net total + VAT total.

Discounts: a dealer billed for signing units gets the tier of its framework contract in force on
the period's first day (countersigned, ``starts_on <= day <= ends_on``; the one that started last)
with the highest ``min_units <= units`` billed to it in that period; operators get none.
"""

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from tenants.models import FrameworkContract, PricePlan
from tenants.services import framework_contracts

__all__ = [
    "BERLIN",
    "CENT",
    "Fee",
    "VatTotals",
    "discount_percent",
    "discount_tiers",
    "line_net",
    "money",
    "period_bounds",
    "plan_for",
    "tier_percent",
    "unit_fee",
    "vat_breakdown",
]

BERLIN = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Fee:
    """The monthly fee of one signing unit: blocks charged (base included) and the list amount."""

    blocks: int
    amount: Decimal


class VatTotals(NamedTuple):
    """``vat_breakdown``'s answer: rows per rate (strings, for ``Invoice.vat_breakdown``) and totals."""

    breakdown: list[dict]
    net: Decimal
    vat: Decimal
    gross: Decimal


def money(value) -> Decimal:
    """``value`` as a Decimal rounded half up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def period_bounds(period_start: dt.date) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The Berlin calendar month starting on ``period_start`` (must be a 1st): its last day and the
    half-open UTC interval ``[start_utc, end_utc)`` of its local midnights (DST-aware)."""
    if period_start.day != 1:
        raise ValueError(f"a billing period starts on the first day of a month, not {period_start}")
    last_day = period_start.replace(day=calendar.monthrange(period_start.year, period_start.month)[1])
    start_utc = dt.datetime.combine(period_start, dt.time(), BERLIN).astimezone(dt.UTC)
    end_utc = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), BERLIN).astimezone(dt.UTC)
    return last_day, start_utc, end_utc


def plan_for(product, day: dt.date) -> PricePlan:
    """The plan of ``product`` valid on ``day``: the latest ``valid_from <= day``.

    Raises ``PricePlan.DoesNotExist`` when the product has no plan yet on that day."""
    plan = PricePlan.objects.filter(product=product, valid_from__lte=day).order_by("-valid_from").first()
    if plan is None:
        raise PricePlan.DoesNotExist(f"no price plan of {product} is valid on {day}")
    return plan


def unit_fee(plan: PricePlan, transactions: int) -> Fee:
    """Blocks and list amount (net, before discount) of one signing unit with ``transactions``."""
    if transactions < 0:
        raise ValueError("transactions cannot be negative")
    over = max(0, transactions - plan.included_transactions)
    extra = -(-over // plan.block_size) if plan.block_size else 0
    blocks = min(plan.max_blocks, 1 + extra)
    return Fee(blocks=blocks, amount=money(plan.base_fee + (blocks - 1) * plan.block_price))


def discount_tiers(day: dt.date, dealer_ids=None) -> dict[int, list[tuple[int, Decimal]]]:
    """The tiers ``[(min_units, percent), …]`` (highest ``min_units`` first) of the framework contract
    in force on ``day`` per dealer id, in one query; dealers without a contract in force (or whose
    contract has no tiers) are absent. Same choice of contract as ``framework_contracts.framework_terms``."""
    rows = FrameworkContract.unscoped.filter(countersigned_at__isnull=False, starts_on__lte=day, ends_on__gte=day)
    if dealer_ids is not None:
        rows = rows.filter(organization_id__in=list(dealer_ids))
    rows = rows.order_by("organization_id", "-starts_on", "-countersigned_at", "-pk").values_list(
        "organization_id", "pk", "tiers__min_units", "tiers__percent")
    chosen: dict[int, int] = {}
    tiers: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for dealer_id, contract_id, min_units, percent in rows:
        if chosen.setdefault(dealer_id, contract_id) != contract_id or min_units is None:
            continue  # an older contract of the same dealer, or a contract without tiers
        tiers[dealer_id].append((min_units, money(percent)))
    return {dealer_id: sorted(found, reverse=True) for dealer_id, found in tiers.items()}


def tier_percent(tiers: list[tuple[int, Decimal]], units: int) -> Decimal:
    """The percent of the tier with the highest ``min_units <= units``; 0.00 if none applies."""
    return max(((m, p) for m, p in tiers if m <= units), default=(0, ZERO))[1]


def discount_percent(dealer, units: int, day: dt.date) -> Decimal:
    """The discount (percent) of ``dealer`` (organization or id) for ``units`` billed signing units
    in the period starting ``day``; 0.00 without a framework contract in force or a matching tier."""
    return money(framework_contracts.discount_percent(dealer, units, day))


def line_net(list_amount: Decimal, percent: Decimal) -> Decimal:
    """The net amount of a line: ROUND_HALF_UP(list × (100 − percent) / 100, 2)."""
    return money(Decimal(list_amount) * (100 - Decimal(percent)) / 100)


def vat_breakdown(lines) -> VatTotals:
    """Net and VAT per rate of ``lines`` (iterable of ``(net, rate)``), rates ascending, plus totals.

    ``breakdown`` rows are ``{"rate": "19.00", "net": "45.00", "vat": "8.55"}`` (strings, as stored
    in ``Invoice.vat_breakdown``); VAT is rounded once per rate, never per line."""
    nets: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for net, rate in lines:
        nets[money(rate)] += money(net)
    breakdown = []
    net_total = vat_total = ZERO
    for rate in sorted(nets):
        net = nets[rate]
        vat = money(net * rate / 100)
        breakdown.append({"rate": str(rate), "net": str(net), "vat": str(vat)})
        net_total += net
        vat_total += vat
    return VatTotals(breakdown=breakdown, net=net_total, vat=vat_total, gross=net_total + vat_total)
