"""TAR export jobs (queue ``exports``) and the monthly export schedule."""

from django_scopes import scopes_disabled

from portal.celery import TenantTask, app
from tse.services import tar_jobs

__all__ = ["export_tar_task", "schedule_monthly_exports_task"]


@app.task(base=TenantTask, name="tse.export_tar", acks_late=True)
def export_tar_task(*, organization_id: int, export_id: int) -> str:
    """Write one requested TAR export; a finished export is left as it is (safe to run twice)."""
    return tar_jobs.run_export(export_id).state


@app.task(name="tse.schedule_monthly_exports")
def schedule_monthly_exports_task() -> int:
    """Daily (beat): the previous month's export of every unit that lacks one; sends one job per export."""
    with scopes_disabled():
        return tar_jobs.schedule_monthly_exports()
