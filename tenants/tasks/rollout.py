"""Celery tasks of rollout jobs (no route: queue ``default``).

``tenants.rollout.run_job`` starts a job (runs it, or splits it into ``tenants.rollout.run_chunk`` tasks of
``jobs.CHUNK_SIZE`` operators that any number of workers share); ``tenants.rollout.deliver_webhook`` posts
the signed result to the job's webhook, three attempts with backoff (in-process, when tasks run eagerly:
one after the other). All take ids, run in the runner's
tenant scope (``TenantTask``; each operator's item opens the creator's scope), are acknowledged late and
safe to run twice: finished items are skipped, a delivered webhook is not sent again.
"""

from portal.celery import TenantTask, app

__all__ = ["deliver_webhook_task", "run_chunk_task", "run_job_task"]

# seconds to wait before the 2nd and the 3rd webhook attempt
WEBHOOK_BACKOFF = (30, 300)


@app.task(base=TenantTask, name="tenants.rollout.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job_task(*, organization_id: int, job_id: int) -> str:
    """Run (or split into chunks) rollout job ``job_id``; returns its state."""
    from tenants.services.rollout.jobs import dispatch_job

    return dispatch_job(job_id)


@app.task(base=TenantTask, name="tenants.rollout.run_chunk", acks_late=True, reject_on_worker_lost=True)
def run_chunk_task(*, organization_id: int, job_id: int, first: int, last: int) -> str:
    """Process the items ``first``..``last`` (positions) of rollout job ``job_id``; returns the job's state."""
    from tenants.services.rollout.jobs import run_chunk

    return run_chunk(job_id, first, last).state


@app.task(base=TenantTask, bind=True, name="tenants.rollout.deliver_webhook", acks_late=True,
          max_retries=len(WEBHOOK_BACKOFF))
def deliver_webhook_task(self, *, organization_id: int, job_id: int) -> str:
    """One delivery attempt of the job's webhook; retried with backoff while it is still pending."""
    from tenants.models import WebhookState
    from tenants.services.rollout.webhooks import deliver

    state = deliver(job_id)
    if self.request.is_eager:
        # in-process (embedded mode): no broker to schedule a retry on, so the attempts follow at once
        while state == WebhookState.PENDING:
            state = deliver(job_id)
        return state
    if state == WebhookState.PENDING:
        retries = self.request.retries or 0
        raise self.retry(countdown=WEBHOOK_BACKOFF[min(retries, len(WEBHOOK_BACKOFF) - 1)])
    return state
