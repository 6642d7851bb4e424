"""Export jobs in the service: validation, the stored archive equals ``write_tar_export``, failures, idempotency,
progress."""

import datetime as dt
import hashlib
import io
import tarfile

import pytest
from django.core.files.storage import FileSystemStorage

from portal.models import LogEntry
from tests.tse import verifier
from tests.tse_exports.conftest import DAY_1, DAY_2, stored_files
from tse.backends.base import TseError
from tse.backends.software import SoftwareTse
from tse.models import ExportState, LogMessage, LogMessageKind, TarExport
from tse.services import tar_jobs
from tse.services.signing_units import disable_signing_unit, get_backend
from tse.services.tar_export import write_tar_export
from tse.tasks.exports import export_tar_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The ``tse.export_tar`` messages sent (instead of running them)."""
    calls = []
    monkeypatch.setattr(export_tar_task, "apply_async", lambda *args, **kwargs: calls.append(kwargs["kwargs"]))
    return calls


def _expected(unit, export) -> bytes:
    buffer = io.BytesIO()
    write_tar_export(unit, buffer, export_time=export.started_at, **export.filters)
    return buffer.getvalue()


def _stored(export) -> bytes:
    with tar_jobs.open_export_file(export) as fileobj:
        return fileobj.read()


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "code", "message"), [
    ({"start_time": DAY_2, "end_time": DAY_1}, "E_VALIDATION", "must not be after its end"),
    ({"start_transaction_number": 3, "end_transaction_number": 2}, "E_VALIDATION", "must not be greater"),
    ({"start_transaction_number": -1}, "E_VALIDATION", "at least 0"),
    ({"start_time": dt.datetime(2026, 7, 1, 8, 0)}, "E_VALIDATION", "time zone"),
    ({"client_id": "KASSE-99"}, "E_CLIENT_NOT_FOUND", "KASSE-99 is not known"),
])
def test_invalid_requests_store_nothing(signed, sent, kwargs, code, message, in_english,
                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(TseError) as caught:
        tar_jobs.request_export(actor=None, signing_unit=signed, **kwargs)
    assert caught.value.code == code and message in caught.value.message
    assert not TarExport.unscoped.exists() and not sent
    assert not LogEntry.unscoped.filter(action="tse.export.requested").exists()


def test_an_uninitialized_unit_cannot_be_exported(new_unit, sent, in_english):
    with pytest.raises(TseError) as caught:
        tar_jobs.request_export(actor=None, signing_unit=new_unit)
    assert (caught.value.code, caught.value.status) == ("E_TSS_NOT_INITIALIZED", 409)
    assert not TarExport.unscoped.exists()


def test_a_deregistered_but_known_client_and_equal_bounds_are_accepted(signed, sent,
                                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = tar_jobs.request_export(actor=None, signing_unit=signed, client_id="KASSE-02",
                                         start_time=DAY_1, end_time=DAY_1, start_transaction_number=2,
                                         end_transaction_number=2)
    assert export.state == ExportState.PENDING and export.client_id == "KASSE-02"


def test_request_stores_a_pending_export_audits_and_sends_after_commit(actors, signed, sent,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = tar_jobs.request_export(actor=actors.owner.user, signing_unit=signed, start_time=DAY_1)
        assert not sent  # not before the commit
    for callback in callbacks:
        callback()
    assert sent == [{"organization_id": signed.organization_id, "export_id": export.pk}]
    export.refresh_from_db()
    assert (export.state, export.progress, export.requested_by, export.scheduled) == (
        ExportState.PENDING, 0, actors.owner.user, False)
    assert export.organization == signed.organization and not export.file
    entry = LogEntry.unscoped.get(action="tse.export.requested")
    assert entry.object_id == str(export.public_id) and entry.organization == signed.organization
    assert entry.data["start_time"] == DAY_1.isoformat() and entry.actor_user == actors.owner.user


def test_the_same_public_id_is_idempotent_and_other_filters_conflict(signed, sent, stranger_unit,
                                                                       django_capture_on_commit_callbacks):
    public_id = "0b5b2c47-5b1e-4b6e-9a3c-2f4f3f7e0a11"
    with django_capture_on_commit_callbacks(execute=True):
        first = tar_jobs.request_export(actor=None, signing_unit=signed, public_id=public_id,
                                        start_transaction_number=1)
        again = tar_jobs.request_export(actor=None, signing_unit=signed, public_id=public_id,
                                        start_transaction_number=1)
    assert again.pk == first.pk and len(sent) == 1
    for other in ({"signing_unit": signed, "start_transaction_number": 2},
                  {"signing_unit": signed},
                  {"signing_unit": stranger_unit, "start_transaction_number": 1}):
        with pytest.raises(TseError) as caught:
            tar_jobs.request_export(actor=None, public_id=public_id, **other)
        assert (caught.value.code, caught.value.status) == ("E_EXPORT_CONFLICT", 409)
    assert TarExport.unscoped.count() == 1


# --- running ----------------------------------------------------------------------------------


def _pending(unit, **filters) -> TarExport:
    return TarExport.unscoped.create(organization=unit.organization, signing_unit=unit, **filters)


def test_run_stores_the_same_archive_as_write_tar_export(signed, media_root):
    export = tar_jobs.run_export(_pending(signed).pk)
    export.refresh_from_db()
    data = _stored(export)
    assert data == _expected(signed, export)
    assert export.state == ExportState.COMPLETED and export.progress == 100 and not export.error_message
    assert export.sha256 == hashlib.sha256(data).hexdigest() and export.size == len(data)
    logs = LogMessage.unscoped.filter(signing_unit=signed).order_by("signature_counter")
    assert export.log_count == logs.count() == 9
    assert (export.first_signature_counter, export.last_signature_counter) == (
        logs.first().signature_counter, logs.last().signature_counter)
    assert export.started_at <= export.finished_at
    assert stored_files(media_root) == [media_root / export.file.name]
    assert export.file.name == f"tse-exports/{signed.organization.public_id}/{export.public_id}.tar"
    check = verifier.check_tar(data)
    verifier.check_sequence(list(check.logs.values()))


def test_run_with_filters(signed):
    export = tar_jobs.run_export(_pending(signed, start_transaction_number=3, end_transaction_number=3,
                                          client_id="KASSE-01").pk)
    data = _stored(export)
    assert data == _expected(signed, export)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        logs = [name for name in archive.getnames() if name.endswith(".log")]
    expected = LogMessage.unscoped.filter(signing_unit=signed, transaction_number=3,
                                          kind=LogMessageKind.TRANSACTION).order_by("signature_counter")
    assert logs == [row.file_name for row in expected] and export.log_count == 2


def test_a_disabled_unit_is_still_exported(signed, django_capture_on_commit_callbacks):
    disabled = disable_signing_unit(actor=None, signing_unit=signed)
    with django_capture_on_commit_callbacks(execute=True):
        export = tar_jobs.request_export(actor=None, signing_unit=disabled)
    export.refresh_from_db()
    assert export.state == ExportState.COMPLETED  # the eager task ran after the commit
    assert _stored(export) == _expected(disabled, export)


def test_a_failing_backend_leaves_a_failed_export_without_file(signed, media_root, monkeypatch):
    def broken(self, fileobj, **filters):
        fileobj.write(b"half an archive")
        raise TseError("E_TSE_UNREACHABLE", "The TSE does not answer.", status=503)

    monkeypatch.setattr(SoftwareTse, "export", broken)
    export = tar_jobs.run_export(_pending(signed).pk)
    export.refresh_from_db()
    assert export.state == ExportState.FAILED and export.finished_at is not None
    assert export.error_message == "E_TSE_UNREACHABLE: The TSE does not answer."
    assert not export.file and not export.sha256 and export.size == 0
    assert stored_files(media_root) == []
    with pytest.raises(TseError) as caught:
        tar_jobs.open_export_file(export)
    assert caught.value.code == "E_EXPORT_NOT_READY"


def test_an_unexpected_error_is_stored_without_its_details(signed, monkeypatch, in_english):
    def broken(self, fileobj, **filters):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SoftwareTse, "export", broken)
    export = tar_jobs.run_export(_pending(signed).pk)
    assert export.state == ExportState.FAILED
    assert export.error_message == "E_EXPORT_FAILED: The export failed unexpectedly (RuntimeError)."


def test_a_wrong_checksum_of_the_backend_fails_the_export(signed, media_root, monkeypatch):
    original = SoftwareTse.export

    def lying(self, fileobj, **filters):
        result = original(self, fileobj, **filters)
        return type(result)(**{**result.__dict__, "sha256": "0" * 64})

    monkeypatch.setattr(SoftwareTse, "export", lying)
    export = tar_jobs.run_export(_pending(signed).pk)
    assert export.state == ExportState.FAILED and export.error_message.startswith("E_EXPORT_CHECKSUM")
    assert stored_files(media_root) == []


def test_a_storage_failure_removes_the_partial_file(signed, media_root, monkeypatch):
    original = FileSystemStorage._save

    def partial(self, name, content):
        original(self, name, type(content)(io.BytesIO(b"partial"), name=name))
        raise OSError("no space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", partial)
    export = tar_jobs.run_export(_pending(signed).pk)
    assert export.state == ExportState.FAILED and "(OSError)" in export.error_message
    assert stored_files(media_root) == [] and not export.file


def test_a_database_failure_after_storing_removes_the_file(signed, media_root, monkeypatch):
    original = TarExport.save

    def failing(self, *args, **kwargs):
        if self.state == ExportState.COMPLETED:
            raise RuntimeError("database gone")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TarExport, "save", failing)
    export = tar_jobs.run_export(_pending(signed).pk)
    assert export.state == ExportState.FAILED and stored_files(media_root) == []


def test_run_is_idempotent(signed, media_root, monkeypatch):
    export = tar_jobs.run_export(_pending(signed).pk)
    first = (export.file.name, export.sha256, export.finished_at, export.started_at)
    calls = []
    monkeypatch.setattr(SoftwareTse, "export", lambda self, fileobj, **filters: calls.append(1))
    again = export_tar_task(organization_id=signed.organization_id, export_id=export.pk)
    export.refresh_from_db()
    assert again == ExportState.COMPLETED and not calls
    assert (export.file.name, export.sha256, export.finished_at, export.started_at) == first
    assert len(stored_files(media_root)) == 1

    failed = _pending(signed, state=ExportState.FAILED, error_message="E_X: earlier failure")
    assert tar_jobs.run_export(failed.pk).state == ExportState.FAILED and not calls
    failed.refresh_from_db()
    assert failed.error_message == "E_X: earlier failure" and not failed.file


def test_an_interrupted_running_export_runs_again(signed):
    export = _pending(signed, state=ExportState.RUNNING, progress=40)
    export = tar_jobs.run_export(export.pk)
    assert export.state == ExportState.COMPLETED and _stored(export) == _expected(signed, export)


# --- progress ---------------------------------------------------------------------------------


@pytest.fixture
def busy_unit(ready_unit):
    """60 transactions (120 log messages) plus the set-up logs."""
    backend = get_backend(ready_unit)
    for _index in range(60):
        tx = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", tx.number, "Kassenbeleg-V1", b"Beleg^1.00_0.00_0.00_0.00_0.00^1.00:Bar")
    return backend.signing_unit


def test_write_tar_export_reports_progress_without_changing_the_bytes(busy_unit):
    when = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    plain, with_progress, values = io.BytesIO(), io.BytesIO(), []
    write_tar_export(busy_unit, plain, export_time=when)
    write_tar_export(busy_unit, with_progress, export_time=when, progress=values.append)
    assert plain.getvalue() == with_progress.getvalue()
    assert values[0] == 0 and values[-1] == 100
    assert values == sorted(set(values)) and len(values) > 50  # every percent once, ascending


def test_progress_is_stored_at_most_every_five_percent_while_running(busy_unit, monkeypatch):
    export = _pending(busy_unit)
    seen = []
    original = tar_jobs._ProgressRecorder.__call__

    def recording(self, percent):
        original(self, percent)
        row = TarExport.unscoped.get(pk=export.pk)
        assert row.state == ExportState.RUNNING and row.started_at is not None
        if not seen or seen[-1] != row.progress:
            seen.append(row.progress)

    monkeypatch.setattr(tar_jobs._ProgressRecorder, "__call__", recording)
    export = tar_jobs.run_export(export.pk)
    assert export.progress == 100 and export.state == ExportState.COMPLETED
    assert seen[0] == 0 and len(seen) >= 10
    assert all(later - earlier >= 5 for earlier, later in zip(seen, seen[1:], strict=False))
    assert seen[-1] < 100  # 100 only with the stored result
