"""The monthly export schedule (Europe/Berlin month boundaries, no duplicates) and the overdue reminder."""

import datetime as dt

import pytest
import time_machine

from tests.tse_exports.conftest import DAY_0, DAY_1, DAY_2
from tse.models import ExportState, LogMessage, SigningUnitState, TarExport
from tse.services import tar_jobs
from tse.services.signing_units import create_signing_unit, disable_signing_unit, initialize_signing_unit
from tse.tasks.exports import export_tar_task, schedule_monthly_exports_task

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.mark.parametrize(("now", "start", "end"), [
    # 00:30 on 1 August in Berlin is still 31 July in UTC: the previous month is July
    (DAY_1, dt.datetime(2026, 6, 30, 22, 0, tzinfo=UTC), dt.datetime(2026, 7, 31, 21, 59, 59, 999999, tzinfo=UTC)),
    (dt.datetime(2026, 12, 1, 1, 41, tzinfo=UTC), dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
     dt.datetime(2026, 11, 30, 22, 59, 59, 999999, tzinfo=UTC)),
    # March contains the switch to summer time: 31 days minus one hour
    (dt.datetime(2027, 4, 15, 12, 0, tzinfo=UTC), dt.datetime(2027, 2, 28, 23, 0, tzinfo=UTC),
     dt.datetime(2027, 3, 31, 21, 59, 59, 999999, tzinfo=UTC)),
    (dt.datetime(2027, 1, 1, 0, 30, tzinfo=UTC), dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
     dt.datetime(2026, 12, 31, 22, 59, 59, 999999, tzinfo=UTC)),
])
def test_previous_month_in_berlin(now, start, end):
    assert tar_jobs.previous_month(now) == (start, end)


@pytest.fixture
def fresh_unit(owner):
    """Uninitialized: no log messages."""
    return create_signing_unit(actor=None, organization=owner.organization, description="Neue Kasse")


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(export_tar_task, "apply_async", lambda *args, **kwargs: calls.append(kwargs["kwargs"]))
    return calls


def test_schedule_creates_one_export_per_unit_with_logs(actors, signed, fresh_unit, stranger_unit, sent,
                                                       django_capture_on_commit_callbacks):
    disabled = create_signing_unit(actor=None, organization=actors.owner.organization, description="Alt")
    disabled = disable_signing_unit(actor=None, signing_unit=initialize_signing_unit(actor=None,
                                                                                        signing_unit=disabled))
    now = dt.datetime(2026, 8, 1, 0, 41, tzinfo=UTC)  # 02:41 in Berlin
    with django_capture_on_commit_callbacks(execute=True):
        assert tar_jobs.schedule_monthly_exports(now) == 3  # signed, disabled, stranger's; not the new one
    exports = TarExport.unscoped.order_by("signing_unit_id")
    assert {export.signing_unit_id for export in exports} == {signed.pk, disabled.pk, stranger_unit.pk}
    assert fresh_unit.state == SigningUnitState.UNINITIALIZED
    start, end = tar_jobs.previous_month(now)
    for export in exports:
        assert export.scheduled and export.requested_by is None and export.state == ExportState.PENDING
        assert (export.start_time, export.end_time) == (start, end)
        assert export.organization_id == export.signing_unit.organization_id
    assert sorted(call["export_id"] for call in sent) == sorted(export.pk for export in exports)

    with django_capture_on_commit_callbacks(execute=True):
        assert tar_jobs.schedule_monthly_exports(now + dt.timedelta(days=1)) == 0  # no duplicates
    assert TarExport.unscoped.count() == 3 and len(sent) == 3

    # a failed month is tried again; the next month is a new export
    TarExport.unscoped.filter(signing_unit=signed).update(state=ExportState.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        assert tar_jobs.schedule_monthly_exports(now + dt.timedelta(days=2)) == 1
        assert tar_jobs.schedule_monthly_exports(dt.datetime(2026, 9, 1, 0, 41, tzinfo=UTC)) == 3
    assert TarExport.unscoped.count() == 7


def test_a_scheduled_month_contains_the_logs_of_that_berlin_month(signed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the eager task runs each export after commit
        tar_jobs.schedule_monthly_exports(dt.datetime(2026, 8, 3, tzinfo=UTC))  # July
        tar_jobs.schedule_monthly_exports(dt.datetime(2026, 9, 3, tzinfo=UTC))  # August
    july, august = TarExport.unscoped.order_by("start_time")
    assert july.state == august.state == ExportState.COMPLETED
    logs = LogMessage.unscoped.filter(signing_unit=signed)
    assert july.log_count == logs.filter(log_time=DAY_0).count() == 4  # set-up on 1 July
    # DAY_1 (31 July 22:30 UTC) is 1 August in Berlin
    assert august.log_count == logs.filter(log_time=DAY_1).count() == 3


def test_the_beat_task_schedules_across_organizations(signed, stranger_unit, sent,
                                                      django_capture_on_commit_callbacks):
    with time_machine.travel(dt.datetime(2026, 12, 1, 1, 41, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert schedule_monthly_exports_task.apply().get() == 2
    assert len(sent) == 2
    assert {call["organization_id"] for call in sent} == {signed.organization_id, stranger_unit.organization_id}


# --- overdue reminder -------------------------------------------------------------------------


def _completed(unit, finished_at) -> TarExport:
    return TarExport.unscoped.create(organization=unit.organization, signing_unit=unit,
                                     state=ExportState.COMPLETED, finished_at=finished_at, progress=100)


def test_overdue_logic(actors, signed, fresh_unit, stranger_unit, settings):
    now = DAY_2 + dt.timedelta(days=5)
    organization = actors.owner.organization
    assert not tar_jobs.export_overdue(fresh_unit, now)  # nothing to export
    assert tar_jobs.export_overdue(signed, now)  # logs, never exported
    assert list(tar_jobs.overdue_units(organization, now)) == [signed]
    assert tar_jobs.last_completed_export(signed) is None

    TarExport.unscoped.create(organization=organization, signing_unit=signed, state=ExportState.FAILED,
                              finished_at=now)
    TarExport.unscoped.create(organization=organization, signing_unit=signed, state=ExportState.RUNNING)
    assert tar_jobs.export_overdue(signed, now)  # neither a failed nor an unfinished export counts

    old = _completed(signed, now - dt.timedelta(days=31))
    assert tar_jobs.export_overdue(signed, now) and tar_jobs.last_completed_export(signed) == old
    recent = _completed(signed, now - dt.timedelta(days=29))
    assert not tar_jobs.export_overdue(signed, now) and tar_jobs.last_completed_export(signed) == recent
    assert list(tar_jobs.overdue_units(organization, now)) == []
    assert list(tar_jobs.overdue_units(actors.stranger.organization, now)) == [stranger_unit]

    settings.TSE_EXPORT_REMINDER_DAYS = 7
    assert tar_jobs.export_overdue(signed, now)
    assert list(tar_jobs.overdue_units(organization, now)) == [signed]
    assert tar_jobs.export_overdue(signed, now - dt.timedelta(days=23)) is False
