"""The signing task (queue ``signing``, or the TSE's own queue ``tse.<public_id>`` for a LAN TSE)."""

from portal.celery import TenantTask, app
from tse.services.signing import sign_revision

__all__ = ["sign_revision_task"]


@app.task(base=TenantTask, name="tse.sign_revision", acks_late=True)
def sign_revision_task(*, organization_id: int, revision_id: int) -> str:
    """Sign one stored API transaction revision (and unsigned earlier ones); safe to run twice."""
    return sign_revision(revision_id)
