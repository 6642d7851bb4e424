"""Processing of submitted cash point closings (queue ``exports``)."""

from portal.celery import TenantTask, app

__all__ = ["process_closing_task"]


@app.task(base=TenantTask, name="exports.process_closing", acks_late=True)
def process_closing_task(*, organization_id: int, closing_pk: int) -> str:
    """Check one PENDING closing and accept or reject it; a processed closing is left alone (safe to run twice)."""
    from exports.services.closings import process_closing

    return process_closing(closing_pk).state
