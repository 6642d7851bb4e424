"""A closing processed by a REAL Celery worker consuming the ``exports`` queue (Redis broker)."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from exports.models import CashPointClosing, ClosingState
from portal.celery import app
from tests.dsfinvk_closings import put_closing, receipt, signed_closing_payload
from tests.helpers import api_client

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
]


@pytest.fixture
def exports_worker():
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False,
                          queues=["exports"], shutdown_timeout=10) as running:
            yield running
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def test_the_worker_accepts_the_closing(owner, register, exports_worker):
    closing_id = uuid.uuid4()
    response = put_closing(api_client(owner.key), closing_id, signed_closing_payload(register, [receipt("3.20")]))
    assert response.status_code == 200 and response.json()["state"] == "PENDING"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        closing = CashPointClosing.unscoped.get(closing_id=closing_id)
        if closing.state != ClosingState.PENDING:
            break
        time.sleep(0.1)
    assert closing.state == ClosingState.COMPLETED, closing.errors
    assert closing.revision.number == 1 and closing.document["transactions"][0]["head"]["BON_ID"] == "1"
    assert api_client(owner.key).get(f"/api/v1/cash_point_closings/{closing_id}").json()["state"] == "COMPLETED"
