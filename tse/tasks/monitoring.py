"""Lifecycle monitoring of signing units: certificate expiry, time sync, capacity (daily, beat)."""

from django_scopes import scopes_disabled

from portal.celery import app
from tse.services.monitoring import check_signing_units

__all__ = ["check_signing_units_task"]


@app.task(name="tse.check_signing_units")
def check_signing_units_task() -> dict:
    """Every operator's units in one run: it works across tenants, so it runs unscoped."""
    with scopes_disabled():
        return check_signing_units()
