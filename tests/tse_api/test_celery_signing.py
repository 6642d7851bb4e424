"""Signing through a REAL Celery worker (queue ``signing``) on PostgreSQL: 4 tills × 25 receipts."""

import threading
import time
import uuid

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.db import connection, connections

from tests.factories import make_api_key
from tests.helpers import api_client
from tests.tse_api.conftest import RECEIPT, put, setup_tss
from tests.workers import thread_worker
from tse.models import ApiTransactionRevision, LogMessage, RevisionStatus, SigningUnit, TseTransaction
from tse.receipts.qr_code import verify_qr_code

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL"),
]

THREADS = 4
RECEIPTS = 25


@pytest.fixture
def signing_worker(settings):
    settings.TSE_SIGNING_TIMEOUT_SECONDS = 60
    with thread_worker("signing") as running:
        yield running


def test_four_tills_finish_25_transactions_each_through_the_worker(signing_worker):
    from tests.factories import make_organization

    operator = make_organization()
    _key, plaintext = make_api_key(operator, can_write=True)
    tss = setup_tss(api_client(plaintext))
    client_ids = [tss.client_id]
    for index in range(2, THREADS + 1):
        client_id = str(uuid.uuid4())
        assert register(tss, client_id, f"KASSE-0{index}") == 201
        client_ids.append(client_id)
    results, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def till(index: int) -> None:
        try:
            client = api_client(plaintext)
            barrier.wait()
            for _ in range(RECEIPTS):
                tx_id = str(uuid.uuid4())
                url = f"{tss.url}/tx/{tx_id}"
                start = put(client, f"{url}?tx_revision=1", {"state": "ACTIVE", "client_id": client_ids[index]})
                finish = put(client, f"{url}?tx_revision=2",
                             {"state": "FINISHED", "client_id": client_ids[index], "schema": RECEIPT})
                with lock:
                    results.append((start.status_code, start.json(), finish.status_code, finish.json()))
        except Exception as exc:  # reported by the main thread
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    worker_threads = set()

    def on_prerun(sender=None, **kwargs):
        if sender is not None and sender.name == "tse.sign_revision":
            worker_threads.add(threading.current_thread().name)

    task_prerun.connect(on_prerun, weak=False)
    started = time.monotonic()
    threads = [threading.Thread(target=till, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    task_prerun.disconnect(on_prerun)
    assert not errors, errors
    till_threads = {thread.name for thread in threads}
    assert worker_threads and not worker_threads & till_threads  # signed by the worker, not in the request
    assert len(results) == THREADS * RECEIPTS, f"{len(results)} after {time.monotonic() - started:.1f}s"
    for start_status, start, finish_status, finish in results:
        assert (start_status, finish_status) == (200, 200)
        assert start["error"] is None and finish["error"] is None, (start, finish)
        assert finish["number"] == start["number"] and verify_qr_code(finish["qr_code_data"]).valid

    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    setup_logs = 2 + THREADS  # initialize, updateTime, registerClient × 4
    total = setup_logs + 2 * THREADS * RECEIPTS
    returned = sorted(r["signature"]["counter"] for row in results for r in (row[1], row[3]))
    assert returned == list(range(setup_logs + 1, total + 1))
    assert sorted(row[1]["number"] for row in results) == list(range(1, THREADS * RECEIPTS + 1))
    counters = list(LogMessage.unscoped.filter(signing_unit=unit).order_by("signature_counter")
                    .values_list("signature_counter", flat=True))
    assert counters == list(range(1, total + 1))
    assert (unit.signature_counter, unit.transaction_counter) == (total, THREADS * RECEIPTS)
    assert TseTransaction.unscoped.filter(signing_unit=unit, state="FINISHED").count() == THREADS * RECEIPTS
    assert not ApiTransactionRevision.unscoped.exclude(status=RevisionStatus.SIGNED).exists()


def register(tss, client_id: str, serial: str) -> int:
    return put(tss.client, f"{tss.url}/client/{client_id}", {"serial_number": serial}).status_code
