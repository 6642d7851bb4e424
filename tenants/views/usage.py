"""The usage page (/o/<org>/billing/usage/?month=YYYY-MM): per signing unit a server-rendered SVG chart of
the cumulative transactions with the block thresholds, today marker and forecast, and a table with the
numbers; for a dealer the sums across its operators.

Reading needs ``view`` (members, dealers granted ``read`` on an operator); other organizations do not
exist (404). The chart geometry is computed here (presentation only); the numbers come from
``tenants.services.billing.usage``.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.views.base import organization_page
from tenants.models import RoleKind
from tenants.services.billing.usage import (
    BERLIN,
    UnitUsage,
    UsageError,
    month_usage,
    operator_sums,
    parse_month,
    usage_totals,
)

__all__ = ["Chart", "unit_chart", "usage_view"]

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 60, 96, 12, 26


@dataclass
class Threshold:
    transactions: int
    fee: object  # Decimal: the fee once the threshold is exceeded
    y: str


@dataclass
class Chart:
    width: int
    height: int
    plot_left: str
    plot_right: str
    plot_top: str
    plot_bottom: str
    y_max: int
    area: str
    line: str
    thresholds: list[Threshold]
    forecast: str | None
    today_x: str | None
    x_labels: list[tuple[str, int]]


def _fmt(value: float) -> str:
    return f"{value:.1f}"  # never localized: SVG coordinates need a decimal point


def _y_max(row: UnitUsage, top: int) -> int:
    """The top of the y axis: the next threshold above the data; past the last threshold (where the fee
    stays at the cap) one block more, higher values are clipped at the top edge."""
    plan = row.plan
    if plan is not None and plan.block_size and plan.max_blocks > 1:
        last = plan.block_size * (plan.max_blocks - 1)
        if top < last:
            return plan.block_size * (top // plan.block_size + 1)
        return last + plan.block_size
    return max(10, math.ceil(top * 1.1))


def _clip(start: tuple[float, float], end: tuple[float, float], y_max: int) -> tuple[float, float]:
    """``end`` (day, value) moved back along the segment to where it reaches ``y_max``."""
    (x0, v0), (x1, v1) = start, end
    if v1 <= y_max or v1 == v0:
        return end
    return x0 + (x1 - x0) * (y_max - v0) / (v1 - v0), y_max


def unit_chart(row: UnitUsage, is_current: bool) -> Chart:
    """Geometry of one unit's chart: cumulative area and line, dashed thresholds, dotted forecast."""
    days = len(row.days)
    shown = row.elapsed_days if is_current else days
    top = max(row.transactions, row.forecast_transactions if is_current else 0, 1)
    y_max = _y_max(row, top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: float) -> float:
        return LEFT + plot_w * day / days

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(value, y_max) / y_max)

    points = [(x(0), y(0))] + [(x(index + 1), y(row.cumulative[index])) for index in range(shown)]
    line = " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in points)
    last_x, last_y = points[-1]
    area = f"M{_fmt(x(0))},{_fmt(y(0))} L{line.replace(' ', ' L')} L{_fmt(last_x)},{_fmt(y(0))} Z"
    thresholds = []
    plan = row.plan
    if plan is not None and plan.block_size:
        for blocks in range(1, plan.max_blocks):
            value = plan.block_size * blocks
            if value > y_max:
                break
            fee = plan.base_fee + blocks * plan.block_price
            thresholds.append(Threshold(transactions=value, fee=fee, y=_fmt(y(value))))
    forecast = None
    if is_current and shown < days:
        so_far = row.cumulative[shown - 1] if shown else 0
        end_day, end_value = _clip((shown, so_far), (days, row.forecast_transactions), y_max)
        forecast = f"{_fmt(last_x)},{_fmt(last_y)} {_fmt(x(end_day))},{_fmt(y(end_value))}"
    step = 7 if days > 14 else 1
    x_labels = [(_fmt(x(day - 0.5)), day) for day in range(1, days + 1) if day == 1 or day % step == 0]
    return Chart(
        width=WIDTH, height=HEIGHT, plot_left=_fmt(LEFT), plot_right=_fmt(LEFT + plot_w), plot_top=_fmt(TOP),
        plot_bottom=_fmt(TOP + plot_h), y_max=y_max, area=area, line=line, thresholds=thresholds,
        forecast=forecast, today_x=_fmt(last_x) if is_current else None, x_labels=x_labels,
    )


@require_GET
@organization_page("view")
def usage_view(request, organization):
    now = timezone.now()
    try:
        month = parse_month(request.GET.get("month"), now)
    except UsageError as exc:
        return render(request, "tenants/usage/usage.html", {
            "organization": organization, "error": exc.message, "error_code": exc.code,
        }, status=exc.status)
    rows = month_usage(organization, month, now=now)
    today = timezone.localtime(now, BERLIN).date()
    is_current = (month.year, month.month) == (today.year, today.month)
    is_dealer = organization.has_role(RoleKind.DEALER, active_only=True)
    units = [{"usage": row, "chart": unit_chart(row, is_current)} for row in rows]
    previous = (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return render(request, "tenants/usage/usage.html", {
        "organization": organization,
        "month": month,
        "is_current": is_current,
        "today": today,
        "units": units,
        "totals": usage_totals(rows, organization),
        "operators": operator_sums(rows, organization) if is_dealer else None,
        "previous_month": previous,
        "next_month": following if following <= today.replace(day=1) else None,
    })
