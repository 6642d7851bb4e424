"""The monthly schedule: one SCHEDULED export of the previous Berlin month per operator that closed in it."""

import datetime as dt

import pytest

from exports.models import DsfinvkExport, DsfinvkExportKind, DsfinvkExportState
from exports.services import export_jobs
from exports.tasks.archives import schedule_monthly_dsfinvk_exports_task
from tests.dsfinvk_jobs.conftest import make_register
from tse.models import TseClient
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOV_2 = dt.date(2026, 11, 2)


@pytest.fixture
def stranger_register(stranger):
    unit = create_signing_unit(actor=None, organization=stranger.organization, description="Fremde Kasse")
    get_backend(initialize_signing_unit(actor=None, signing_unit=unit)).register_client("FREMD-01")
    return make_register(stranger.organization, TseClient.unscoped.get(signing_unit=unit, client_id="FREMD-01"), 1)


def test_previous_month():
    assert export_jobs.previous_month(dt.date(2026, 11, 2)) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert export_jobs.previous_month(dt.date(2027, 1, 1)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert export_jobs.previous_month(dt.date(2028, 3, 31)) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))


def test_one_export_per_operator_and_month_and_running_twice_adds_nothing(
        owner, stranger, registers, closings, stranger_register, django_capture_on_commit_callbacks):
    closings.add(registers[0], 1, dt.datetime(2026, 9, 30, 22, 0, tzinfo=UTC))  # 1 October 00:00 in Berlin
    closings.add(registers[0], 2, dt.datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    # the stranger closed only on 1 November in Berlin (still 31 October in UTC): nothing for October
    closings.add(stranger_register, 1, dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert export_jobs.schedule_monthly_exports(NOV_2) == 1
    assert len(callbacks) == 1
    export = DsfinvkExport.unscoped.get()
    assert export.organization == owner.organization and export.kind == DsfinvkExportKind.SCHEDULED
    assert (export.date_from, export.date_to, export.requested_by) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                                                                       None)
    assert export.state == DsfinvkExportState.COMPLETED and export.closing_count == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert export_jobs.schedule_monthly_exports(NOV_2) == 0
    assert not callbacks and DsfinvkExport.unscoped.count() == 1
    # a failed monthly export is retried
    failed = DsfinvkExport.unscoped.create(organization=stranger.organization, kind=DsfinvkExportKind.SCHEDULED,
                                           date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 10, 31),
                                           state=DsfinvkExportState.ERROR)
    closings.add(stranger_register, 2, dt.datetime(2026, 10, 31, 22, 30, tzinfo=UTC))  # 23:30 on 31 October
    with django_capture_on_commit_callbacks(execute=True):
        assert export_jobs.schedule_monthly_exports(NOV_2) == 1
    retried = DsfinvkExport.unscoped.filter(organization=stranger.organization).exclude(pk=failed.pk).get()
    assert retried.closing_count == 1 and retried.state == DsfinvkExportState.COMPLETED


def test_the_beat_task_runs_for_the_current_previous_month(owner, registers, closings, time_machine,
                                                          django_capture_on_commit_callbacks):
    time_machine.move_to(dt.datetime(2026, 12, 2, 2, 41, tzinfo=UTC), tick=False)
    closings.add(registers[0], 1, dt.datetime(2026, 11, 15, 12, 0, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule_monthly_dsfinvk_exports_task.apply().get() == 1
        assert schedule_monthly_dsfinvk_exports_task.apply().get() == 0
    export = DsfinvkExport.unscoped.get()
    assert (export.date_from, export.date_to) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def test_the_tasks_are_registered_for_beat_and_the_exports_queue(settings):
    from portal.celery import app

    assert {"exports.export_dsfinvk", "exports.schedule_monthly_exports"} <= set(app.tasks)
    assert settings.CELERY_BEAT_SCHEDULE["dsfinvk-monthly-exports"]["task"] == "exports.schedule_monthly_exports"
    assert app.amqp.router.route({}, "exports.export_dsfinvk")["queue"].name == "exports"
