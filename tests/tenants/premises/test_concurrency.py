"""Concurrent outlet creation in one organization never hands out a number twice (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections
from django_scopes import scopes_disabled

from tenants.models import Outlet
from tenants.services.premises import create_outlet
from tests.factories import make_organization
from tests.tenants.premises.helpers import outlet_data

WORKERS = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_consecutive_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test needs PostgreSQL")
    organization = make_organization()
    barrier = threading.Barrier(WORKERS)
    numbers, errors = [], []

    def work(n):
        try:
            with scopes_disabled():
                barrier.wait(timeout=20)
                outlet = create_outlet(actor=None, organization=organization, data=outlet_data(name=f"Kasse {n}"))
                numbers.append(outlet.number)
        except BaseException as exc:  # surface errors of the thread in the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sorted(numbers) == list(range(1, WORKERS + 1))
    assert Outlet.unscoped.filter(organization=organization).count() == WORKERS
