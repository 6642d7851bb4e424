"""A real Celery worker in a thread of the test process, consuming named queues from the Redis broker.

Loaded as a pytest plugin (tests/conftest.py): ``exports_worker`` serves the ``exports`` queue.
"""

from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from portal.celery import app

__all__ = ["exports_worker", "thread_worker"]


@contextmanager
def thread_worker(*queues: str):
    """Run a solo worker on ``queues`` (tasks reach it through their routes) and turn eager mode off meanwhile."""
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, queues=list(queues),
                          shutdown_timeout=10) as running:
            yield running
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture
def exports_worker():
    """A worker on the ``exports`` queue (TAR and DSFinV-K exports, closing intake reach it by their routes)."""
    with thread_worker("exports") as running:
        yield running
