"""A closing processed by a REAL Celery worker consuming the ``exports`` queue (Redis broker)."""

import time
import uuid

import pytest
from django.conf import settings

from exports.models import CashPointClosing, ClosingState
from tests.dsfinvk_closings import put_closing, receipt, signed_closing_payload
from tests.helpers import api_client

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
]


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


def _wait(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


def test_closings_and_their_export_run_on_the_worker(owner, register, exports_worker):
    """POS → two closings → the worker accepts them → an export job on the worker → a validated ZIP."""
    import hashlib
    import io
    import zipfile

    client = api_client(owner.key)
    first = signed_closing_payload(register, [receipt("3.20"), receipt("4.50", vat_key=2, typ="ECKarte")], z_nr=1)
    second = signed_closing_payload(register, [receipt("2.10")], z_nr=2, first_bon=3)
    ids = [uuid.uuid4(), uuid.uuid4()]
    for closing_id, payload in zip(ids, (first, second), strict=True):
        assert put_closing(client, closing_id, payload).status_code == 200
        assert _wait(lambda closing_id=closing_id: CashPointClosing.unscoped.filter(
            closing_id=closing_id, state=ClosingState.COMPLETED).exists()), \
            CashPointClosing.unscoped.get(closing_id=closing_id).errors
    export_id = uuid.uuid4()
    response = client.put(f"/api/v1/exports/{export_id}", data={"client_id": str(register.client.public_id)},
                          content_type="application/json")
    assert response.status_code == 201, response.content
    body = _wait(lambda: (lambda b: b if b["state"] in ("COMPLETED", "ERROR") else None)(
        client.get(f"/api/v1/exports/{export_id}").json()))
    assert body is not None and body["state"] == "COMPLETED", body
    assert body["validation"]["passed"] is True, body["validation"]
    download = client.get(f"/api/v1/exports/{export_id}/download")
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == body["sha256"] == download["X-Content-SHA256"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        transactions = archive.read("transactions.csv").decode("utf-8").split("\r\n")
    assert [line.split(";")[3] for line in transactions[1:-1]] == ["1", "2", "3"]
