"""Acceptance under load: 32 POS tills finish 5,000 transactions on ONE TSE through the HTTP API.

The API runs in pytest-django's ``live_server``; signing happens in a REAL Celery worker process
(``tests.integration.worker_process``, prefork, 2 processes) on the queue ``signing``. Each till is
a thread with its own API key, its own registered client and its own keep-alive HTTP connection.
Afterwards the TAR export of the unit must hold every log message, with gapless signature
counters and transaction numbers and signatures that verify with the certificate's key.
"""

import base64
import contextlib
import io
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from django.conf import settings
from django.db import connection, connections

from portal.celery import app
from tests.factories import make_api_key, make_organization
from tests.helpers import api_client
from tests.integration.worker_process import WorkerProcess
from tests.tse import verifier
from tests.tse_api.conftest import RECEIPT, put, setup_tss
from tse.models import ApiTransactionRevision, LogMessage, RevisionStatus, SigningUnit, TseTransaction
from tse.receipts.qr_code import verify_qr_code
from tse.services.tar_export import write_tar_export

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker process and row locks need PostgreSQL"),
]

TILLS = 32
TRANSACTIONS = 5000


@dataclass
class Till:
    """One POS: its API key, its client id at the TSS and its own keep-alive HTTP connection."""

    index: int
    client_id: str
    key: str
    base_url: str
    tss_id: str
    timeout: float = 120.0
    http: httpx.Client = field(init=False)

    def __post_init__(self):
        self.http = httpx.Client(base_url=self.base_url, timeout=self.timeout,
                                 headers={"Authorization": f"Bearer {self.key}"},
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))

    def body(self, revision: int) -> dict:
        if revision == 1:
            return {"state": "ACTIVE", "client_id": self.client_id}
        return {"state": "FINISHED", "client_id": self.client_id, "schema": RECEIPT}

    def put_revision(self, tx_id: str, revision: int) -> tuple[int, dict]:
        response = self.http.put(f"/api/v1/tss/{self.tss_id}/tx/{tx_id}", params={"tx_revision": revision},
                                 json=self.body(revision))
        return response.status_code, response.json()

    def connect(self) -> None:
        """Open the keep-alive connection now (one till after the other: the test server's listen
        backlog is small, 32 simultaneous connects get reset)."""
        response = self.http.get(f"/api/v1/tss/{self.tss_id}")
        assert response.status_code == 200, response.content

    def close(self):
        self.http.close()


@dataclass
class Setup:
    unit: SigningUnit
    tills: list[Till]
    setup_logs: int  # initialize, updateTime, one registerClient per till


def setup_tills(count: int, base_url: str) -> Setup:
    """One initialized TSS with ``count`` registered clients, each with its own write API key."""
    operator = make_organization()
    _key, plaintext = make_api_key(operator, can_write=True, name="set-up key")
    tss = setup_tss(api_client(plaintext))
    client_ids = [tss.client_id]
    for index in range(2, count + 1):
        client_id = str(uuid.uuid4())
        response = put(tss.client, f"{tss.url}/client/{client_id}", {"serial_number": f"KASSE-{index:02d}"})
        assert response.status_code == 201, response.content
        client_ids.append(client_id)
    tills = []
    for index, client_id in enumerate(client_ids):
        _key, till_key = make_api_key(operator, can_write=True, name=f"till {index + 1}")
        tills.append(Till(index=index, client_id=client_id, key=till_key, base_url=base_url, tss_id=tss.tss_id))
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    return Setup(unit=unit, tills=tills, setup_logs=2 + count)


def run_tills(tills: list[Till], work, *, join_timeout: float) -> list[Exception]:
    """Run ``work(till)`` in one thread per till, all released at once; the exceptions raised."""
    errors = []
    barrier = threading.Barrier(len(tills))
    for till in tills:
        till.connect()

    def body(till):
        try:
            barrier.wait()
            work(till)
        except Exception as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(till,), name=f"till-{till.index}") for till in tills]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a till did not finish"
    return errors


def export_and_check(unit: SigningUnit) -> verifier.TarCheck:
    """TAR export of ``unit``: every stored log message inside, each one valid, counters gapless."""
    sink = io.BytesIO()
    result = write_tar_export(unit, sink)
    check = verifier.check_tar(sink.getvalue())  # structure + signature of every log message
    stored = list(LogMessage.unscoped.filter(signing_unit=unit).values_list("file_name", flat=True))
    assert sorted(check.logs) == sorted(stored)
    assert result.log_count == len(stored) == unit.signature_counter
    assert list(check.certificates) == [unit.serial_number]
    verifier.check_sequence(list(check.logs.values()))  # signature counters 1..N, start numbers +1
    assert (result.first_signature_counter, result.last_signature_counter) == (1, unit.signature_counter)
    return check


def check_transactions(check: verifier.TarCheck, count: int) -> dict[int, verifier.ParsedLog]:
    """Transaction numbers 1..count, each with exactly one start and one finish log; logs by counter."""
    operations = Counter((log.transaction_number, log.operation_type) for log in check.logs.values()
                         if log.kind == "transaction")
    expected = {(number, operation): 1 for number in range(1, count + 1)
                for operation in ("StartTransaction", "FinishTransaction")}
    assert dict(operations) == expected
    return {log.signature_counter: log for log in check.logs.values()}


def check_signed_answer(answer: dict, logs_by_counter: dict[int, verifier.ParsedLog], operation: str) -> None:
    """A signed answer carries the signature of the log message with its counter."""
    assert answer["error"] is None and answer["signature"] is not None, answer
    log = logs_by_counter[answer["signature"]["counter"]]
    assert log.operation_type == operation and log.transaction_number == answer["number"]
    assert base64.b64decode(answer["signature"]["value"]) == log.signature
    if operation == "FinishTransaction":
        assert answer["state"] == "FINISHED" and verify_qr_code(answer["qr_code_data"]).valid, answer


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1]


@pytest.fixture
def worker_process(settings):
    settings.TSE_SIGNING_TIMEOUT_SECONDS = 60  # generous: under load every answer must be signed
    with real_worker() as worker:
        yield worker


@contextlib.contextmanager
def real_worker(**kwargs):
    """The worker process, with this process (the live server) sending tasks instead of running them."""
    app.conf.task_always_eager = False
    try:
        with WorkerProcess.for_test_database(**kwargs) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


def test_32_tills_finish_5000_transactions_on_one_tse(worker_process, live_server):
    setup = setup_tills(TILLS, live_server.url)
    plan = iter(range(TRANSACTIONS))  # the tills take transactions from one shared plan
    plan_lock = threading.Lock()
    answers: list[tuple[str, int, dict, int, dict]] = []
    latencies: list[float] = []

    def work(till: Till):
        try:
            while True:
                with plan_lock:
                    if next(plan, None) is None:
                        return
                tx_id = str(uuid.uuid4())
                t0 = time.perf_counter()
                start_status, start = till.put_revision(tx_id, 1)
                t1 = time.perf_counter()
                finish_status, finish = till.put_revision(tx_id, 2)
                t2 = time.perf_counter()
                answers.append((tx_id, start_status, start, finish_status, finish))
                latencies.extend((t1 - t0, t2 - t1))
        finally:
            till.close()

    started = time.monotonic()
    errors = run_tills(setup.tills, work, join_timeout=900)
    load_seconds = time.monotonic() - started
    assert not errors, errors[:3]
    assert len(answers) == TRANSACTIONS

    unit = SigningUnit.unscoped.get(pk=setup.unit.pk)
    total = setup.setup_logs + 2 * TRANSACTIONS
    assert (unit.signature_counter, unit.transaction_counter) == (total, TRANSACTIONS)
    check_started = time.monotonic()
    check = export_and_check(unit)
    logs_by_counter = check_transactions(check, TRANSACTIONS)
    assert sorted(logs_by_counter) == list(range(1, total + 1))

    returned = []
    for _tx_id, start_status, start, finish_status, finish in answers:
        assert (start_status, finish_status) == (200, 200), (start, finish)
        check_signed_answer(start, logs_by_counter, "StartTransaction")
        check_signed_answer(finish, logs_by_counter, "FinishTransaction")
        assert finish["number"] == start["number"]
        returned += [start["signature"]["counter"], finish["signature"]["counter"]]
    assert sorted(returned) == list(range(setup.setup_logs + 1, total + 1))  # each log answered once
    assert sorted(answer[2]["number"] for answer in answers) == list(range(1, TRANSACTIONS + 1))
    assert TseTransaction.unscoped.filter(signing_unit=unit, state="FINISHED").count() == TRANSACTIONS
    revisions = ApiTransactionRevision.unscoped.filter(api_transaction__signing_unit=unit)
    assert revisions.count() == 2 * TRANSACTIONS
    assert not revisions.exclude(status=RevisionStatus.SIGNED).exists()
    assert set(revisions.values_list("attempts", flat=True)) == {1}
    check_seconds = time.monotonic() - check_started

    p50, p95, p99 = (percentile(latencies, pct) * 1000 for pct in (50, 95, 99))
    sys.stderr.write(
        f"\n{TILLS} tills, {TRANSACTIONS} transactions ({2 * TRANSACTIONS} signed requests) in {load_seconds:.1f} s: "
        f"{TRANSACTIONS / load_seconds:.1f} tx/s, latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; "
        f"export + checks {check_seconds:.1f} s\n")
