"""Two closings of one register processed at the same time never both get the same Z_NR."""

import threading
import time
import uuid

import pytest
from django.db import connection

from exports.models import CashPointClosing, ClosingTransaction
from exports.services import closing_document, closings
from tests.dsfinvk_closings import receipt, signed_closing_payload

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_closings_with_the_same_z_nr(owner, register, monkeypatch):
    monkeypatch.setattr(closings, "_queue", lambda closing: None)  # processed by the threads below
    rows = []
    for first_bon in (1, 10):
        payload = signed_closing_payload(register, [receipt("3.20")], z_nr=1, first_bon=first_bon)
        rows.append(closings.submit_closing(actor=None, organization=owner.organization, closing_id=uuid.uuid4(),
                                            payload=payload)[0])
    inside = threading.Event()
    build = closing_document.build_document

    def slow_build(payload, context):
        inside.set()
        time.sleep(0.5)  # the first closing holds the register while the second one arrives
        return build(payload, context)

    monkeypatch.setattr(closings, "build_document", slow_build)
    results, failures = {}, []

    def run(closing):
        try:
            results[closing.pk] = closings.process_closing(closing.pk).state
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=run, args=(rows[0],))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=run, args=(rows[1],))
    second.start()
    first.join(20)
    second.join(20)
    assert not failures
    assert sorted(results.values()) == ["COMPLETED", "ERROR"]
    rejected = CashPointClosing.unscoped.get(state="ERROR")
    assert [error["code"] for error in rejected.errors] == ["E_Z_NR_SEQUENCE"]
    assert CashPointClosing.unscoped.filter(state="COMPLETED", z_nr=1).count() == 1
    assert ClosingTransaction.unscoped.count() == 1
