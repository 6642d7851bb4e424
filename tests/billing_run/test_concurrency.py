"""Parallel billing runs on real, separately committed transactions (PostgreSQL row locks)."""

import threading
import time

import pytest
import time_machine
from django.db import connection, transaction

from tenants.models import BillingRun, BillingRunState, Invoice, InvoiceLine, InvoiceSequence
from tenants.services.billing import run as run_module
from tenants.services.billing.numbers import allocate_numbers
from tenants.services.billing.run import run_billing
from tests.billing_run.conftest import NOVEMBER, OCTOBER, RUN_TIME

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _parallel(*calls):
    """Run ``calls`` in threads released at the same moment; return their results (or raise)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def work(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def slow_issue(monkeypatch):
    """Make the locked part of a run take a moment, so the other worker really waits for the lock;
    counts how often invoices were actually issued."""
    issued = []
    original = run_module._issue

    def slow(billing_run):
        issued.append(billing_run.period_start)
        time.sleep(0.3)
        return original(billing_run)

    monkeypatch.setattr(run_module, "_issue", slow)
    return issued


def test_two_runs_of_the_same_period_issue_one_set_of_invoices(world, slow_issue):
    with time_machine.travel(RUN_TIME, tick=False):
        first, second = _parallel(lambda: run_billing(NOVEMBER), lambda: run_billing(NOVEMBER))
    assert first.pk == second.pk
    assert first.state == second.state == BillingRunState.COMPLETED
    assert slow_issue == [NOVEMBER]  # the second worker found the run completed once it got the lock
    assert BillingRun.objects.count() == 1
    assert Invoice.unscoped.count() == 2 and InvoiceLine.unscoped.count() == 5
    assert sorted(Invoice.unscoped.values_list("sequence", flat=True)) == [1, 2]
    assert InvoiceSequence.objects.get(year=2026).last_number == 2


def test_runs_of_two_periods_at_once_share_one_gapless_sequence(world, slow_issue):
    with time_machine.travel(RUN_TIME, tick=False):
        october, november = _parallel(lambda: run_billing(OCTOBER), lambda: run_billing(NOVEMBER))
    assert october.state == november.state == BillingRunState.COMPLETED
    assert sorted(slow_issue) == [OCTOBER, NOVEMBER]
    numbers = sorted(Invoice.unscoped.values_list("sequence", flat=True))
    assert numbers == [1, 2, 3, 4]
    for billing_run in (october, november):  # each run holds one consecutive block
        own = sorted(Invoice.unscoped.filter(run=billing_run).values_list("sequence", flat=True))
        assert own == list(range(own[0], own[0] + len(own)))


def test_parallel_allocations_are_gapless(db):
    def allocate_five():
        taken = []
        for _ in range(5):
            with transaction.atomic():
                first = allocate_numbers("KP", 2027, 3)
                taken.extend(range(first, first + 3))
        return taken

    blocks = _parallel(allocate_five, allocate_five, allocate_five)
    everything = sorted(number for taken in blocks for number in taken)
    assert everything == list(range(1, 46))
    assert InvoiceSequence.objects.get(issuer_key="KP", year=2027).last_number == 45
