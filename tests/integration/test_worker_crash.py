"""The signing worker dies mid-load (SIGKILL of its process group) and comes back: nothing is lost.

8 tills × 40 transactions through the HTTP API (``live_server``) with a signing timeout of 2 s.
Once some revisions are signed the worker process group is SIGKILLed; the tills keep going and
get unsigned answers; the worker is restarted and every till replays its unsigned revisions
until they are signed. A message the killed worker had taken stays unacknowledged in Redis until
the visibility timeout (4 h): the replay is what recovers it, and a later redelivery must be
harmless, which the end of the test checks by sending the task again for a signed revision.
"""

import threading
import time
import uuid
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection

from tests.integration.test_signing_load import (
    Till,
    check_signed_answer,
    check_transactions,
    export_and_check,
    real_worker,
    run_tills,
    setup_tills,
)
from tse.models import ApiTransaction, ApiTransactionRevision, LogMessage, RevisionStatus, SigningUnit, TseTransaction
from tse.tasks import sign_revision_task

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker process and row locks need PostgreSQL"),
]

TILLS = 8
PER_TILL = 40
REVISIONS = 2 * TILLS * PER_TILL
KILL_AFTER_SIGNED = REVISIONS // 4


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_worker_loses_no_transaction(settings, live_server):
    settings.TSE_SIGNING_TIMEOUT_SECONDS = 2
    answers: dict[tuple[str, int], list[dict]] = defaultdict(list)  # (tx_id, revision) -> answers in order
    own: dict[int, list[tuple[str, int]]] = defaultdict(list)  # till -> its revisions
    lock = threading.Lock()
    counts = {"signed": 0, "unsigned": 0, "unsigned_after_kill": 0}
    killed, restarted = threading.Event(), threading.Event()
    phase = {}

    def record(till: Till, tx_id: str, revision: int, status: int, answer: dict) -> None:
        assert status == 200, answer
        with lock:
            answers[(tx_id, revision)].append(answer)
            if answer["signature"] is None:
                assert answer["error"]["code"] == "E_TSE_TIMEOUT", answer
                counts["unsigned"] += 1
                counts["unsigned_after_kill"] += killed.is_set()
            else:
                counts["signed"] += 1

    def first_signed(key):
        return next((answer for answer in answers[key] if answer["signature"] is not None), None)

    def work(till: Till):
        try:
            for _ in range(PER_TILL):
                tx_id = str(uuid.uuid4())
                for revision in (1, 2):
                    own[till.index].append((tx_id, revision))
                    record(till, tx_id, revision, *till.put_revision(tx_id, revision))
            assert restarted.wait(timeout=300), "the worker was not restarted"
            pending = [key for key in own[till.index] if first_signed(key) is None]
            deadline = time.monotonic() + 180
            while pending and time.monotonic() < deadline:  # replay unsigned revisions until signed
                for key in list(pending):
                    record(till, *key, *till.put_revision(*key))
                    if first_signed(key) is not None:
                        pending.remove(key)
            assert not pending, f"till {till.index}: {len(pending)} revisions still unsigned"
            for key in own[till.index]:  # one more replay of everything: the stored signed answers
                record(till, *key, *till.put_revision(*key))
        finally:
            till.close()

    with real_worker() as worker:
        setup = setup_tills(TILLS, live_server.url)

        def controller():
            try:
                assert _wait_for(lambda: counts["signed"] >= KILL_AFTER_SIGNED, timeout=300)
                worker.kill()
                killed.set()
                phase["signed_at_kill"] = counts["signed"]
                # the tills keep going: wait until they got a few unsigned answers from the dead worker
                assert _wait_for(lambda: counts["unsigned_after_kill"] >= 2 * TILLS, timeout=120)
                worker.start()
                phase["restarted_at_signed"] = counts["signed"]
            except BaseException as exc:
                phase["error"] = exc
            finally:
                restarted.set()

        control = threading.Thread(target=controller, name="controller")
        control.start()
        errors = run_tills(setup.tills, work, join_timeout=600)
        control.join(timeout=60)
        assert "error" not in phase, phase
        assert not errors, errors[:3]
        assert 0 < phase["signed_at_kill"] < REVISIONS  # killed mid-load ...
        assert counts["unsigned_after_kill"] >= 2 * TILLS  # ... and the tills got unsigned answers

        unit = SigningUnit.unscoped.get(pk=setup.unit.pk)
        transactions = TILLS * PER_TILL
        total = setup.setup_logs + REVISIONS
        assert (unit.signature_counter, unit.transaction_counter) == (total, transactions)

        # every transaction finished, every revision signed exactly once
        assert len(answers) == REVISIONS
        assert ApiTransaction.unscoped.filter(signing_unit=unit, state="FINISHED").count() == transactions
        assert TseTransaction.unscoped.filter(signing_unit=unit, state="FINISHED").count() == transactions
        rows = {(str(row.api_transaction.tx_id), row.revision): row for row in ApiTransactionRevision.unscoped
                .filter(api_transaction__signing_unit=unit).select_related("api_transaction")}
        assert set(rows) == set(answers)
        check = export_and_check(unit)  # every log in the TAR, valid, counters 1..N without gaps
        logs_by_counter = check_transactions(check, transactions)  # one start + one finish log per tx
        counters = []
        for key, replies in answers.items():
            row = rows[key]
            first = first_signed(key)
            assert (row.status, row.attempts) == (RevisionStatus.SIGNED, 1), (key, row.status, row.attempts)
            assert row.response == first
            later = replies[replies.index(first):]
            assert len(later) >= 2 and all(reply == first for reply in later)  # replays: the identical answer
            check_signed_answer(first, logs_by_counter, "StartTransaction" if key[1] == 1 else "FinishTransaction")
            counters.append(first["signature"]["counter"])
        assert sorted(counters) == list(range(setup.setup_logs + 1, total + 1))

        # a redelivery of a task for a signed revision (as Redis would do after the visibility
        # timeout for the message the killed worker held) signs nothing again
        row = next(iter(rows.values()))
        logs_before = LogMessage.unscoped.filter(signing_unit=unit).count()
        result = sign_revision_task.apply_async(kwargs={"organization_id": row.organization_id, "revision_id": row.pk},
                                                queue="signing")
        assert result.get(timeout=30) == RevisionStatus.SIGNED
        assert LogMessage.unscoped.filter(signing_unit=unit).count() == logs_before
        again = ApiTransactionRevision.unscoped.get(pk=row.pk)
        assert (again.response, again.attempts) == (row.response, 1)
        assert SigningUnit.unscoped.get(pk=unit.pk).signature_counter == total
