"""The webhook of a rollout job: a signed POST of the job's result once it completed.

Body (JSON, UTF-8): ``event`` (``rollout.job.completed``), the job (id, state, dry run, totals, progress,
times, API link), the template (id, name, version) and the number of items per state. Header
``X-Kassenportal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>" with the secret>`` —
the receiver recomputes it over the raw body and rejects old timestamps (replays). ``deliver`` makes one
attempt (httpx, 10 s timeout, no redirects); the task retries it with backoff, three attempts in all. A
2xx answer is ``delivered``; after the last failed attempt the state is ``failed``. State, attempts and
the last answer are stored on the job.
"""

import hashlib
import hmac
import json
import logging
import time

import httpx
from django.conf import settings
from django.db.models import Count
from django.urls import reverse

from portal import crypto
from tenants.models import RolloutItemState, RolloutJob, RolloutJobItem, WebhookState

__all__ = ["EVENT", "MAX_ATTEMPTS", "SECRET_PURPOSE", "SIGNATURE_HEADER", "TIMEOUT_SECONDS", "deliver", "sign",
           "webhook_body"]

logger = logging.getLogger("tenants.rollout")

EVENT = "rollout.job.completed"
SIGNATURE_HEADER = "X-Kassenportal-Signature"
MAX_ATTEMPTS = 3
TIMEOUT_SECONDS = 10.0
SECRET_PURPOSE = "rollout-webhook"  # portal.crypto purpose of the stored secret


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def webhook_body(job: RolloutJob) -> dict:
    """What the webhook sends about ``job``."""
    version = job.template_version
    counts = dict(RolloutJobItem.unscoped.filter(job=job).values_list("state").annotate(n=Count("pk")).order_by())
    path = reverse("tenants-api:rollout-job-detail", kwargs={"job_id": job.public_id})
    return {
        "event": EVENT,
        "job": {
            "id": str(job.public_id),
            "organization_id": str(job.organization.public_id),
            "state": job.state,
            "dry_run": job.dry_run,
            "total": job.total,
            "done": job.done,
            "failed": job.failed,
            "progress": job.progress,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "url": f"{settings.SITE_URL}{path}",
        },
        "template": {"id": str(version.template.public_id), "name": version.template.name, "version": version.number},
        "items": {state: counts.get(state, 0) for state in RolloutItemState.values},
    }


def sign(secret: str | bytes, timestamp: int, body: str | bytes) -> str:
    """The signature header value ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    key = secret.encode() if isinstance(secret, str) else secret
    payload = body.encode() if isinstance(body, str) else body
    digest = hmac.new(key, str(int(timestamp)).encode() + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


def deliver(job_id: int, *, transport: httpx.BaseTransport | None = None) -> str:
    """One delivery attempt; returns the webhook state afterwards (``pending``: try again later)."""
    job = RolloutJob.unscoped.select_related("organization", "template_version__template").get(pk=job_id)
    if job.webhook_state != WebhookState.PENDING or not job.webhook_url:
        return job.webhook_state
    body = json.dumps(webhook_body(job), ensure_ascii=False, separators=(",", ":")).encode()
    secret = crypto.decrypt(bytes(job.webhook_secret), SECRET_PURPOSE)
    headers = {"Content-Type": "application/json", "User-Agent": "Kassenportal-Webhook/1",
               "X-Kassenportal-Event": EVENT, "X-Kassenportal-Delivery": f"{job.public_id}:{job.webhook_attempts + 1}",
               SIGNATURE_HEADER: sign(secret, int(time.time()), body)}
    delivered = False
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=transport) as client:
            response = client.post(job.webhook_url, content=body, headers=headers)
        delivered = 200 <= response.status_code < 300
        answer = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    except httpx.HTTPError as exc:
        answer = f"{type(exc).__name__}: {exc}"
    attempts = job.webhook_attempts + 1
    if delivered:
        state = WebhookState.DELIVERED
    else:
        state = WebhookState.FAILED if attempts >= MAX_ATTEMPTS else WebhookState.PENDING
        logger.warning("rollout job %s: webhook attempt %s failed: %s", job.public_id, attempts, answer)
    RolloutJob.unscoped.filter(pk=job.pk, webhook_state=WebhookState.PENDING).update(
        webhook_state=state, webhook_attempts=attempts, webhook_response=answer[:200])
    return state
