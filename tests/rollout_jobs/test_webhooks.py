"""The webhook of a rollout job: delivered to a real local HTTP server, signed, retried on 500."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tenants.models import RolloutJob, WebhookState
from tenants.services.rollout.webhooks import SIGNATURE_HEADER, deliver, sign, webhook_body
from tests.rollout_jobs.conftest import targets_for

pytestmark = pytest.mark.django_db

SECRET = "whsec-0123456789abcdef"


class Receiver:
    """A local HTTP server answering with the given statuses in turn (the last one from then on)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rollout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def verify(request, secret=SECRET) -> int:
    parts = dict(part.split("=", 1) for part in request["headers"][SIGNATURE_HEADER].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    return int(parts["t"])


def test_the_completed_job_is_posted_signed(run, template, operators):
    with Receiver([200]) as receiver:
        job = run(template.versions.get(), targets_for(operators), webhook_url=receiver.url, webhook_secret=SECRET)
    job = RolloutJob.unscoped.get(pk=job.pk)
    assert (job.webhook_state, job.webhook_attempts) == (WebhookState.DELIVERED, 1)
    assert job.webhook_response.startswith("HTTP 200")
    (request,) = receiver.requests
    assert request["path"] == "/hooks/rollout"
    assert abs(verify(request) - time.time()) < 60
    body = json.loads(request["body"])
    assert body["event"] == "rollout.job.completed"
    assert body["job"]["id"] == str(job.public_id) and body["job"]["state"] == "COMPLETED"
    assert (body["job"]["total"], body["job"]["done"], body["job"]["failed"]) == (3, 3, 0)
    assert body["job"]["dry_run"] is False and body["job"]["finished_at"].endswith("Z")
    assert body["job"]["url"].endswith(f"/api/v1/rollout-jobs/{job.public_id}")
    assert body["template"] == {"id": str(template.public_id), "name": template.name, "version": 1}
    assert body["items"]["APPLIED"] == 3 and body["items"]["FAILED"] == 0
    # the secret is stored encrypted, never as given
    assert SECRET.encode() not in bytes(job.webhook_secret)


def test_a_500_is_retried(run, template, operators):
    with Receiver([500, 200]) as receiver:
        job = run(template.versions.get(), targets_for(operators[:1]), webhook_url=receiver.url,
                  webhook_secret=SECRET)
    job = RolloutJob.unscoped.get(pk=job.pk)
    assert (job.webhook_state, job.webhook_attempts) == (WebhookState.DELIVERED, 2)
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        verify(request)


def test_three_failed_attempts_give_up(run, template, operators):
    with Receiver([500]) as receiver:
        job = run(template.versions.get(), targets_for(operators[:1]), webhook_url=receiver.url,
                  webhook_secret=SECRET)
    job = RolloutJob.unscoped.get(pk=job.pk)
    assert (job.webhook_state, job.webhook_attempts) == (WebhookState.FAILED, 3)
    assert job.webhook_response.startswith("HTTP 500")
    assert len(receiver.requests) == 3
    assert deliver(job.pk) == WebhookState.FAILED  # nothing more is sent
    assert len(receiver.requests) == 3


def test_an_unreachable_receiver_counts_as_a_failed_attempt(run, template, operators):
    with Receiver([200]) as receiver:
        url = receiver.url
    job = run(template.versions.get(), targets_for(operators[:1]), webhook_url=url, webhook_secret=SECRET)
    job = RolloutJob.unscoped.get(pk=job.pk)
    assert (job.webhook_state, job.webhook_attempts) == (WebhookState.FAILED, 3)
    assert "ConnectError" in job.webhook_response


def test_the_signature_is_hmac_sha256_over_timestamp_and_body():
    expected = hmac.new(b"key-key-key-key-key", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("key-key-key-key-key", 1700000000, b"{}") == f"t=1700000000,v1={expected}"


def test_the_body_of_a_dry_run(run, template, operators):
    job = run(template.versions.get(), targets_for(operators), dry_run=True)
    body = webhook_body(RolloutJob.unscoped.get(pk=job.pk))
    assert body["job"]["dry_run"] is True and body["items"]["PLANNED"] == 3
