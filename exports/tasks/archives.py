"""DSFinV-K export jobs (queue ``exports``) and their monthly schedule."""

from django_scopes import scopes_disabled

from exports.services import export_jobs
from portal.celery import TenantTask, app

__all__ = ["export_dsfinvk_task", "schedule_monthly_dsfinvk_exports_task"]


@app.task(base=TenantTask, name="exports.export_dsfinvk", acks_late=True)
def export_dsfinvk_task(*, organization_id: int, export_id: int) -> str:
    """Write, validate and store one requested export (pk ``export_id``); a finished one is left as it is."""
    return export_jobs.run_export(export_id).state


@app.task(name="exports.schedule_monthly_exports")
def schedule_monthly_dsfinvk_exports_task() -> int:
    """Beat (day 2 of a month): the previous month's export of every operator that closed in it."""
    with scopes_disabled():
        return export_jobs.schedule_monthly_exports()
