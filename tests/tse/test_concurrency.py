"""Counters under concurrency: 8 threads × 50 start+finish pairs on one TSE, each with its own connection."""

import threading

import pytest
from cryptography import x509
from django.db import connection, connections

from tests.factories import make_organization
from tests.tse import verifier
from tse.models import LogMessage, SigningUnit, TseTransaction
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

THREADS = 8
PAIRS = 50
CLIENTS = ["KASSE-01", "KASSE-02", "KASSE-03"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_parallel_signing_has_no_gaps_and_no_duplicates():
    operator = make_organization()
    unit = initialize_signing_unit(actor=None, signing_unit=create_signing_unit(actor=None, organization=operator))
    setup = get_backend(unit)
    for client_id in CLIENTS:
        setup.register_client(client_id)
    results, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def work(index: int) -> None:
        try:
            backend = get_backend(SigningUnit.unscoped.get(pk=unit.pk))
            client_id = CLIENTS[index % len(CLIENTS)]
            barrier.wait()
            for _ in range(PAIRS):
                start = backend.start_transaction(client_id)
                finish = backend.finish_transaction(client_id, start.number, "Kassenbeleg-V1", b"Beleg^1.00")
                with lock:
                    results.append((start, finish))
        except Exception as exc:  # reported by the main thread
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(results) == THREADS * PAIRS

    setup_logs = 2 + len(CLIENTS)  # initialize, updateTime, registerClient × 3
    total = setup_logs + 2 * THREADS * PAIRS
    returned = sorted(r.signature.counter for pair in results for r in pair)
    assert returned == list(range(setup_logs + 1, total + 1))
    assert sorted(start.number for start, _finish in results) == list(range(1, THREADS * PAIRS + 1))
    unit.refresh_from_db()
    assert (unit.signature_counter, unit.transaction_counter) == (total, THREADS * PAIRS)
    counters = list(LogMessage.unscoped.filter(signing_unit=unit).order_by("signature_counter")
                    .values_list("signature_counter", flat=True))
    assert counters == list(range(1, total + 1))
    assert TseTransaction.unscoped.filter(signing_unit=unit, state="FINISHED").count() == THREADS * PAIRS
    parsed = [verifier.parse_log(bytes(der)) for der in
              LogMessage.unscoped.filter(signing_unit=unit).values_list("der", flat=True)]
    verifier.check_sequence(parsed)
    certificate = x509.load_pem_x509_certificate(unit.certificate.encode())
    for log in parsed:
        verifier.verify_signature(log, certificate)
