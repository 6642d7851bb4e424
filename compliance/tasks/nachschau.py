"""Kassen-Nachschau bundles (queue ``exports`` by the ``compliance.*`` route)."""

from compliance.services import nachschau
from portal.celery import TenantTask, app

__all__ = ["build_nachschau_bundle_task"]


@app.task(base=TenantTask, name="compliance.build_nachschau_bundle", acks_late=True)
def build_nachschau_bundle_task(*, bundle_id: int, organization_id: int) -> str:
    """Build and store one requested bundle (pk ``bundle_id``); a finished one is left as it is."""
    return nachschau.run_bundle(bundle_id).state
