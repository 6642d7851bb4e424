"""The export job service: closing selection (Berlin days, DST), requests, running, progress, failures, retention."""

import datetime as dt
import hashlib
import io
import os
import uuid
import zipfile

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from exports.dsfinvk import writer
from exports.dsfinvk.csv_format import DsfinvkValueError
from exports.dsfinvk.schema import table
from exports.models import DsfinvkExport, DsfinvkExportKind, DsfinvkExportState, RetentionError
from exports.services import export_jobs
from exports.services.export_jobs import ExportRequestError
from portal.models import LogEntry
from tests.dsfinvk_documents import make_document, simple_receipts
from tests.dsfinvk_jobs.conftest import NOV_1, stored_files

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _numbers(organization, **filters) -> list[tuple[str, int]]:
    return [(record.z_kasse_id, record.z_nr) for record in export_jobs.closing_records(organization, **filters)]


def _requested(owner, callbacks, **kwargs) -> DsfinvkExport:
    with callbacks(execute=True):
        export = export_jobs.request_export(actor=owner.user, organization=owner.organization, **kwargs)
    return DsfinvkExport.unscoped.get(pk=export.pk)


# --- selecting closings -----------------------------------------------------------------------


def test_records_are_sorted_by_register_and_z_nr_and_carry_master_data(owner, registers, closings):
    one, two = registers
    closings.add(two, 1, NOV_1)
    closings.add(one, 1, NOV_1 + dt.timedelta(minutes=1))
    closings.add(one, 2, NOV_1 + dt.timedelta(minutes=2))
    records = list(export_jobs.closing_records(owner.organization))
    assert [(r.z_kasse_id, r.z_nr) for r in records] == [("KASSE-01", 1), ("KASSE-01", 2), ("KASSE-02", 1)]
    first = records[0]
    assert first.master["cashregister"]["KASSE_SERIENNR"] == "KASSE-01"
    assert first.z_erstellung == "2026-11-01T22:01:00+01:00"
    assert first.document["transactions"][0]["head"]["BON_ID"] == "3"


def test_only_completed_closings_of_the_organization(owner, registers, closings, stranger):
    from exports.models import CashPointClosing, ClosingState

    closings.add(registers[0], 1, NOV_1)
    CashPointClosing.unscoped.create(closing_id=uuid.uuid4(), organization=owner.organization,
                                     cash_register=registers[0], z_nr=2, export_creation_date=NOV_1,
                                     state=ClosingState.ERROR, request_hash="0" * 64, errors=[{"code": "E_X"}])
    assert _numbers(owner.organization) == [("KASSE-01", 1)]
    assert _numbers(stranger.organization) == []


def test_register_and_z_nr_filters(owner, registers, closings):
    one, two = registers
    for z_nr in (1, 2, 3, 4):
        closings.add(one, z_nr, NOV_1 + dt.timedelta(minutes=z_nr))
    closings.add(two, 1, NOV_1)
    assert _numbers(owner.organization, cash_registers=[two]) == [("KASSE-02", 1)]
    assert _numbers(owner.organization, cash_registers=[two.pk, one.pk], z_nr_from=4) == [("KASSE-01", 4)]
    assert _numbers(owner.organization, cash_registers=[one], z_nr_from=2, z_nr_to=3) == [
        ("KASSE-01", 2), ("KASSE-01", 3)]


@pytest.mark.parametrize(("day", "before", "first", "last", "after"), [
    # CET (+01:00): an ordinary day
    (dt.date(2026, 11, 2), dt.datetime(2026, 11, 1, 22, 59, 59, tzinfo=UTC), dt.datetime(2026, 11, 1, 23, tzinfo=UTC),
     dt.datetime(2026, 11, 2, 22, 59, 59, tzinfo=UTC), dt.datetime(2026, 11, 2, 23, tzinfo=UTC)),
    # 29 March 2026: clocks go forward, the day has 23 hours (23:00Z … 22:00Z)
    (dt.date(2026, 3, 29), dt.datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC), dt.datetime(2026, 3, 28, 23, tzinfo=UTC),
     dt.datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC), dt.datetime(2026, 3, 29, 22, tzinfo=UTC)),
    # 25 October 2026: clocks go back, the day has 25 hours (22:00Z … 23:00Z)
    (dt.date(2026, 10, 25), dt.datetime(2026, 10, 24, 21, 59, 59, tzinfo=UTC),
     dt.datetime(2026, 10, 24, 22, tzinfo=UTC), dt.datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC),
     dt.datetime(2026, 10, 25, 23, tzinfo=UTC)),
])
def test_days_are_berlin_calendar_days_across_dst(owner, registers, closings, day, before, first, last, after):
    register = registers[0]
    for z_nr, when in enumerate((before, first, last, after), start=1):
        closings.add(register, z_nr, when)
    assert _numbers(owner.organization, date_from=day, date_to=day) == [("KASSE-01", 2), ("KASSE-01", 3)]
    assert _numbers(owner.organization, date_from=day) == [("KASSE-01", 2), ("KASSE-01", 3), ("KASSE-01", 4)]
    assert _numbers(owner.organization, date_to=day) == [("KASSE-01", 1), ("KASSE-01", 2), ("KASSE-01", 3)]


def test_records_are_streamed_from_a_server_side_cursor(owner, registers, closings, monkeypatch):
    for z_nr in range(1, 6):
        closings.add(registers[0], z_nr, NOV_1 + dt.timedelta(minutes=z_nr))
    monkeypatch.setattr(export_jobs, "CHUNK_SIZE", 2)
    records = export_jobs.closing_records(owner.organization)
    assert next(records).z_nr == 1  # a generator: nothing is materialised up front
    assert [record.z_nr for record in records] == [2, 3, 4, 5]


# --- requesting -------------------------------------------------------------------------------


@pytest.mark.parametrize(("filters", "code"), [
    ({"date_from": dt.date(2026, 11, 1), "z_nr_from": 1}, "E_VALIDATION"),
    ({"date_from": dt.date(2026, 11, 2), "date_to": dt.date(2026, 11, 1)}, "E_VALIDATION"),
    ({"z_nr_from": 1}, "E_VALIDATION"),  # no cash register
    ({"z_nr_from": -1}, "E_VALIDATION"),
    ({"date_from": dt.datetime(2026, 11, 1, tzinfo=UTC)}, "E_VALIDATION"),
    ({"date_from": dt.date(2026, 12, 1)}, "E_CASH_POINT_CLOSING_NOT_FOUND"),
])
def test_request_validation(owner, closed, filters, code, in_english):
    with pytest.raises(ExportRequestError) as exc:
        export_jobs.request_export(actor=None, organization=owner.organization, **filters)
    assert exc.value.code == code
    assert DsfinvkExport.unscoped.count() == 0


def test_z_nr_ranges_need_one_register(owner, registers, closed, django_capture_on_commit_callbacks):
    with pytest.raises(ExportRequestError) as exc:
        export_jobs.request_export(actor=None, organization=owner.organization, cash_registers=registers,
                                   z_nr_from=1, z_nr_to=3)
    assert exc.value.code == "E_VALIDATION"
    with pytest.raises(ExportRequestError) as exc:  # a Z_NR range after the last closing
        export_jobs.request_export(actor=None, organization=owner.organization, cash_registers=[registers[1]],
                                   z_nr_from=2)
    assert (exc.value.code, exc.value.status) == ("E_CASH_POINT_CLOSING_NOT_FOUND", 404)
    export = _requested(owner, django_capture_on_commit_callbacks, cash_registers=[registers[0]], z_nr_from=2,
                        z_nr_to=2)
    assert (export.state, export.closing_count) == (DsfinvkExportState.COMPLETED, 1)


def test_foreign_cash_registers_are_not_found(owner, stranger, closed):
    with pytest.raises(ExportRequestError) as exc:
        export_jobs.request_export(actor=None, organization=stranger.organization, cash_registers=[closed[0]
                                   .cash_register])
    assert (exc.value.code, exc.value.status) == ("E_CASH_REGISTER_NOT_FOUND", 404)


def test_request_stores_pending_audits_and_queues_after_commit(owner, registers, closed,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = export_jobs.request_export(actor=owner.user, organization=owner.organization,
                                            cash_registers=[registers[0]], date_from=dt.date(2026, 11, 1))
    assert len(callbacks) == 1
    assert export.state == DsfinvkExportState.PENDING and export.requested_by == owner.user
    assert list(export.cash_registers.all()) == [registers[0]]
    entry = LogEntry.unscoped.get(action="exports.dsfinvk_export.requested")
    assert entry.object_id == str(export.public_id) and entry.organization == owner.organization
    assert entry.data["cash_registers"] == ["KASSE-01"] and entry.data["date_from"] == "2026-11-01"


def test_same_id_same_request_is_the_same_export_other_request_conflicts(owner, registers, closed,
                                                                         django_capture_on_commit_callbacks):
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = export_jobs.request_export(actor=None, organization=owner.organization, export_id=export_id,
                                           cash_registers=[registers[0]], date_from=dt.date(2026, 11, 1))
        again = export_jobs.request_export(actor=None, organization=owner.organization, export_id=export_id,
                                           cash_registers=[registers[0].pk], date_from=dt.date(2026, 11, 1))
    assert again.pk == first.pk and first.public_id == export_id and len(callbacks) == 1
    with pytest.raises(ExportRequestError) as exc:
        export_jobs.request_export(actor=None, organization=owner.organization, export_id=export_id,
                                   date_from=dt.date(2026, 11, 1))
    assert (exc.value.code, exc.value.status) == ("E_EXPORT_CONFLICT", 409)
    assert DsfinvkExport.unscoped.count() == 1


@time_machine.travel(dt.datetime(2027, 2, 10, 9, 0, tzinfo=UTC), tick=False)
def test_nachschau_covers_this_and_last_year_and_goes_first(owner, registers, closings, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    one, two = registers
    closings.add(one, 1, dt.datetime(2025, 12, 31, 22, 59, tzinfo=UTC))  # 23:59 on 31 Dec 2025: too old
    closings.add(one, 2, dt.datetime(2025, 12, 31, 23, 0, tzinfo=UTC))  # 1 January 2026 in Berlin
    closings.add(two, 1, dt.datetime(2027, 2, 9, 12, 0, tzinfo=UTC))
    sent = []
    from exports.tasks import archives

    monkeypatch.setattr(archives.export_dsfinvk_task, "apply_async", lambda **kw: sent.append(kw))
    with pytest.raises(ExportRequestError):
        export_jobs.request_export(actor=None, organization=owner.organization, kind=DsfinvkExportKind.NACHSCHAU,
                                   cash_registers=[one])
    with django_capture_on_commit_callbacks(execute=True):
        export = export_jobs.request_export(actor=None, organization=owner.organization,
                                            kind=DsfinvkExportKind.NACHSCHAU)
        export_jobs.request_export(actor=None, organization=owner.organization)
    assert (export.date_from, export.date_to) == (dt.date(2026, 1, 1), dt.date(2027, 2, 10))
    assert [kw["priority"] for kw in sent] == [0, 3]  # Redis serves 0 first
    assert sent[0]["kwargs"] == {"organization_id": owner.organization.pk, "export_id": export.pk}
    assert _numbers(owner.organization, **export_jobs.export_filters(export)) == [("KASSE-01", 2), ("KASSE-02", 1)]


# --- running ----------------------------------------------------------------------------------


def test_run_writes_validates_and_stores_the_archive(owner, closed, media_root, django_capture_on_commit_callbacks):
    export = _requested(owner, django_capture_on_commit_callbacks)
    assert export.state == DsfinvkExportState.COMPLETED and export.progress == 100
    assert (export.closing_count, export.transaction_count) == (3, 6)
    assert export.validation_passed is True and export.validation_report["passed"] is True
    assert export.validation_report["stats"]["closings"] == 3
    assert export.started_at <= export.finished_at and export.error_code == ""
    [path] = stored_files(media_root)
    data = path.read_bytes()
    assert export.sha256 == hashlib.sha256(data).hexdigest() and export.size == len(data)
    assert export.file.name == f"dsfinvk-exports/{owner.organization.public_id}/{export.public_id}.zip"
    expected = io.BytesIO()
    writer.write_export(export_jobs.closing_records(owner.organization), expected)
    assert data == expected.getvalue()  # the writer's bytes, unchanged
    assert "index.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert LogEntry.unscoped.filter(action="exports.dsfinvk_export.completed", object_id=str(export.public_id)).exists()
    assert export_jobs.run_export(export.pk).sha256 == export.sha256  # a finished export is left alone


def test_retention_is_ten_years_after_the_year_of_the_newest_closing(owner, registers, closings,
                                                                    django_capture_on_commit_callbacks):
    closings.add(registers[0], 1, dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    assert _requested(owner, django_capture_on_commit_callbacks).retain_until == dt.date(2036, 12, 31)
    closings.add(registers[0], 2, dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # 1 January 2027 in Berlin
    assert _requested(owner, django_capture_on_commit_callbacks).retain_until == dt.date(2037, 12, 31)
    assert _requested(owner, django_capture_on_commit_callbacks,
                      date_to=dt.date(2026, 12, 31)).retain_until == dt.date(2036, 12, 31)


def test_progress_is_stored_while_writing(owner, registers, closings, monkeypatch,
                                          django_capture_on_commit_callbacks):
    for z_nr in range(1, 6):
        closings.add(registers[0], z_nr, NOV_1 + dt.timedelta(minutes=z_nr))
    seen, stored = [], []
    real_write, real_set = writer.write_export, export_jobs._set_progress

    def spying_write(records, fileobj, *, progress=None):
        def spy(written):
            progress(written)
            seen.append(DsfinvkExport.unscoped.values_list("state", "progress").get())
        return real_write(records, fileobj, progress=spy)

    monkeypatch.setattr(writer, "write_export", spying_write)
    monkeypatch.setattr(export_jobs, "_set_progress", lambda pk, percent: (stored.append(percent),
                                                                            real_set(pk, percent)))
    export = _requested(owner, django_capture_on_commit_callbacks)
    assert seen == [("WORKING", 18), ("WORKING", 36), ("WORKING", 54), ("WORKING", 72), ("WORKING", 90)]
    assert stored == [18, 36, 54, 72, 90, 90, 99]  # writing, then validation 90 → 99
    assert export.progress == 100


def test_progress_writes_are_throttled_by_step_and_time(monkeypatch):
    stored = []
    monkeypatch.setattr(export_jobs, "_set_progress", lambda pk, percent: stored.append(percent))
    now = [100.0]
    monkeypatch.setattr(export_jobs.clock, "monotonic", lambda: now[0])
    recorder = export_jobs._ProgressRecorder(1, total=1000)
    for written in range(1, 1001):  # fast: only every 2 %
        recorder(written)
    assert stored == list(range(2, 91, 2))
    stored.clear()
    recorder = export_jobs._ProgressRecorder(1, total=1000)
    for written in range(1, 101):  # slow (0.1 s per closing): 1 % steps once 500 ms passed
        now[0] += 0.1
        recorder(written)
    assert stored == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert export_jobs._ProgressRecorder(1, total=0).percent(0) == 90


def test_a_failing_writer_leaves_no_file(owner, closed, media_root, monkeypatch, in_english,
                                         django_capture_on_commit_callbacks):
    temporary = []

    def broken(records, fileobj, *, progress=None):
        temporary.append(fileobj.name)
        fileobj.write(b"PK half an archive")
        next(iter(records))
        raise DsfinvkValueError(table("transactions.csv").by_name["BON_NAME"], "x" * 80, "E_TOO_LONG", "too long")

    monkeypatch.setattr(writer, "write_export", broken)
    export = _requested(owner, django_capture_on_commit_callbacks)
    assert export.state == DsfinvkExportState.ERROR and export.error_code == "E_TOO_LONG"
    assert "BON_NAME" in export.error_message and export.finished_at is not None
    assert not export.file and export.sha256 == "" and export.retain_until is None
    assert stored_files(media_root) == []
    assert temporary and not any(os.path.exists(name) for name in temporary)
    entry = LogEntry.unscoped.get(action="exports.dsfinvk_export.failed")
    assert entry.object_id == str(export.public_id) and entry.data["error_code"] == "E_TOO_LONG"


def test_an_unexpected_error_is_recorded_without_details(owner, closed, monkeypatch, in_english,
                                                         django_capture_on_commit_callbacks):
    def broken(records, fileobj, *, progress=None):
        raise OSError("/srv/secret/path is full")

    monkeypatch.setattr(writer, "write_export", broken)
    export = _requested(owner, django_capture_on_commit_callbacks)
    assert export.state == DsfinvkExportState.ERROR and export.error_code == "E_EXPORT_FAILED"
    assert "secret" not in export.error_message and "OSError" in export.error_message


def test_a_failure_after_storing_removes_the_stored_file(owner, closed, media_root, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    real_log = export_jobs.log_action

    def failing_log(code, *args, **kwargs):
        if code == "exports.dsfinvk_export.completed":
            raise RuntimeError("audit database gone")
        return real_log(code, *args, **kwargs)

    monkeypatch.setattr(export_jobs, "log_action", failing_log)
    export = _requested(owner, django_capture_on_commit_callbacks)
    assert export.state == DsfinvkExportState.ERROR and not export.file
    assert stored_files(media_root) == []


def test_a_failed_validation_stores_and_marks_the_archive(owner, registers, closings, media_root,
                                                          django_capture_on_commit_callbacks):
    document = make_document(simple_receipts(3), start=NOV_1 - dt.timedelta(hours=2))
    document["cashpointclosing"]["Z_SE_ZAHLUNGEN"] = "999.99"  # a broken total, written directly
    closings.add(registers[0], 1, NOV_1, document=document)
    export = _requested(owner, django_capture_on_commit_callbacks)
    assert export.state == DsfinvkExportState.COMPLETED and export.validation_passed is False
    assert export.error_code == "" and export.file and len(stored_files(media_root)) == 1
    codes = {finding["code"] for finding in export.validation_report["findings"]}
    assert any(finding["severity"] == "error" for finding in export.validation_report["findings"]), codes
    summary = export_jobs.validation_summary(export, shown=1)
    assert summary["passed"] is False and len(summary["findings"]) == 1 and summary["finding_count"] >= 1


# --- retention --------------------------------------------------------------------------------


def test_a_kept_archive_cannot_be_deleted_or_changed(owner, closed, django_capture_on_commit_callbacks):
    export = _requested(owner, django_capture_on_commit_callbacks)
    with pytest.raises(RetentionError):
        export.delete()
    if connection.vendor != "postgresql":
        return
    for statement in ("DELETE FROM exports_dsfinvkexport WHERE id = %s",
                      "UPDATE exports_dsfinvkexport SET sha256 = 'x' WHERE id = %s",
                      "UPDATE exports_dsfinvkexport SET retain_until = '2030-01-01' WHERE id = %s"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [export.pk])
    assert DsfinvkExport.unscoped.get(pk=export.pk).sha256 == export.sha256


def test_an_archive_past_its_retention_can_be_deleted(owner):
    # the PostgreSQL trigger compares with the database's current_date, so the row is made old instead
    export = DsfinvkExport.unscoped.create(organization=owner.organization, state=DsfinvkExportState.COMPLETED,
                                           sha256="0" * 64, size=1, retain_until=dt.date(2020, 12, 31))
    export.delete()
    assert not DsfinvkExport.unscoped.filter(pk=export.pk).exists()


def test_the_checksum_is_right_however_the_storage_reads():
    data = os.urandom(3000)
    expected = hashlib.sha256(data).hexdigest()
    reader = export_jobs._HashingReader(io.BytesIO(data), len(data))
    reader.seek(0)
    while reader.read(1000):
        pass
    assert reader.complete and reader.hexdigest() == expected
    reader.seek(0, os.SEEK_END)  # size probing, then the copy from the start
    reader.seek(0)
    reader.read()
    assert reader.complete and reader.hexdigest() == expected
    reader.seek(10)  # a partial read: the file is hashed again
    reader.read()
    assert not reader.complete and reader.hexdigest() == expected


def test_records_read_only_the_needed_columns(owner, closed):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert len(list(export_jobs.closing_records(owner.organization))) == 3
    [select] = [query["sql"] for query in queries.captured_queries if "exports_cashpointclosing" in query["sql"]]
    columns = select.split(" FROM ")[0]
    assert '"document"' in columns and '"data"' in columns and '"z_erstellung"' in columns
    assert '"payload"' not in columns and '"errors"' not in columns and '"request_hash"' not in columns
