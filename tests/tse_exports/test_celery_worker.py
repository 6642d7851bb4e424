"""A TAR export job through a REAL Celery worker consuming the ``exports`` queue (Redis broker)."""

import hashlib
import threading
import time

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.db import transaction

from tests.factories import make_organization
from tse.models import ExportState, LogMessage, TarExport
from tse.services import tar_jobs
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
]


def _wait_for(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_worker_writes_the_export(exports_worker):
    operator = make_organization()
    unit = create_signing_unit(actor=None, organization=operator, description="Kasse Worker")
    backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
    backend.register_client("KASSE-01")
    for _index in range(5):
        tx = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", tx.number, "Kassenbeleg-V1", b"Beleg^1.00_0.00_0.00_0.00_0.00^1.00:Bar")

    worker_threads = set()

    def on_prerun(sender=None, **kwargs):
        if sender is not None and sender.name == "tse.export_tar":
            worker_threads.add(threading.current_thread().name)

    task_prerun.connect(on_prerun, weak=False)
    try:
        with transaction.atomic():
            export = tar_jobs.request_export(actor=None, signing_unit=backend.signing_unit)
        finished = _wait_for(lambda: TarExport.unscoped.get(pk=export.pk).state in tar_jobs.FINISHED_STATES)
    finally:
        task_prerun.disconnect(on_prerun)
    assert finished, TarExport.unscoped.get(pk=export.pk).state
    export.refresh_from_db()
    assert export.state == ExportState.COMPLETED, export.error_message
    assert worker_threads and threading.current_thread().name not in worker_threads
    assert export.log_count == LogMessage.unscoped.filter(signing_unit=unit).count() == 13
    with tar_jobs.open_export_file(export) as fileobj:
        data = fileobj.read()
    assert hashlib.sha256(data).hexdigest() == export.sha256 and len(data) == export.size
