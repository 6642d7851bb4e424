"""Celery tasks of the tenants app (queue ``billing`` via the ``tenants.billing.*`` route).

Beat runs ``tenants.billing.run_previous_month`` on the 1st of each month and
``tenants.billing.renew_subscriptions`` daily (``CELERY_BEAT_SCHEDULE``). The billing run works
across all tenants, so the tasks run with tenant scopes disabled; both are safe to run twice.
"""

import datetime as dt

from django_scopes import scopes_disabled

from portal.celery import app

__all__ = ["renew_subscriptions_task", "run_period_task", "run_previous_month_task"]


@app.task(name="tenants.billing.run_previous_month")
def run_previous_month_task() -> str:
    """Bill the previous Berlin month; returns the run's public id."""
    from tenants.services.billing.run import run_previous_month

    with scopes_disabled():
        return str(run_previous_month().public_id)


@app.task(name="tenants.billing.run_period")
def run_period_task(period_start: str) -> str:
    """Bill the month starting ``period_start`` (ISO date, a 1st); returns the run's public id."""
    from tenants.services.billing.run import run_billing

    with scopes_disabled():
        return str(run_billing(dt.date.fromisoformat(period_start)).public_id)


@app.task(name="tenants.billing.renew_subscriptions")
def renew_subscriptions_task() -> int:
    """Renew (or end) the subscriptions due today; returns how many were handled."""
    from tenants.services.entitlements import renew_subscriptions

    with scopes_disabled():
        return renew_subscriptions()
