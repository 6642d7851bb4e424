"""The warning of missing monthly TAR exports: every Berlin month since a TSE's initialization up to last month
that no completed, unfiltered TAR export covers."""

import datetime as dt

import pytest
import time_machine

from compliance.services.archive import missing_monthly_tar_exports
from tests.compliance_archive.conftest import run_tar_export
from tse.models import ExportState, SigningUnitState, TarExport
from tse.services.tar_jobs import previous_month

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MONTHS = [dt.date(2026, month, 1) for month in (7, 8, 9, 10, 11)]


def months(organization) -> list[dt.date]:
    return [month for _unit, month in missing_monthly_tar_exports(organization)]


def test_every_month_since_initialization_without_an_export_is_missing(owner, signed, stranger_unit):
    with time_machine.travel(dt.datetime(2026, 12, 10, 9, 0, tzinfo=UTC), tick=False):
        missing = missing_monthly_tar_exports(owner.organization)
        assert [(unit, month) for unit, month in missing] == [(signed, month) for month in MONTHS]
        # the stranger's TSE was initialized today (December): nothing is due yet, and it is not ours
        assert missing_monthly_tar_exports(stranger_unit.organization) == []
    # on 1 December Berlin time (23:30 UTC on 30 November) November is already last month
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False):
        assert months(owner.organization) == MONTHS
    with time_machine.travel(dt.datetime(2026, 11, 30, 22, 30, tzinfo=UTC), tick=False):
        assert months(owner.organization) == MONTHS[:-1]
    assert months(owner.organization) != []  # today=None uses the current Berlin day


def test_scheduled_and_on_demand_exports_cover_their_months(owner, signed):
    july_start, july_end = previous_month(dt.datetime(2026, 8, 3, tzinfo=UTC))
    run_tar_export(signed, at=dt.datetime(2026, 8, 2, 1, 0, tzinfo=UTC), start_time=july_start, end_time=july_end,
                   scheduled=True)
    # everything up to when it ran (1 November, 00:30 Berlin): August, September, October
    run_tar_export(signed, at=dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    # neither a filtered nor a failed export of November counts, nor one that ends before the month does
    november_start, november_end = previous_month(dt.datetime(2026, 12, 3, tzinfo=UTC))
    run_tar_export(signed, at=dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC), start_time=november_start,
                   end_time=november_end, client_id="KASSE-01")
    run_tar_export(signed, at=dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC), start_time=november_start,
                   end_time=november_end - dt.timedelta(days=1))
    TarExport.unscoped.create(organization=signed.organization, signing_unit=signed, state=ExportState.FAILED,
                              start_time=november_start, end_time=november_end)
    assert missing_monthly_tar_exports(owner.organization, today=dt.date(2026, 12, 10)) == [
        (signed, dt.date(2026, 11, 1))]
    run_tar_export(signed, at=dt.datetime(2026, 12, 2, 1, 0, tzinfo=UTC), start_time=november_start,
                   end_time=november_end, scheduled=True)
    assert missing_monthly_tar_exports(owner.organization, today=dt.date(2026, 12, 10)) == []


def test_a_disabled_tse_needs_exports_only_until_it_was_disabled(owner, signed):
    from tse.services.signing_units import get_backend

    with time_machine.travel(dt.datetime(2026, 11, 15, 10, 0, tzinfo=UTC), tick=False):
        get_backend(signed).disable()
    signed.refresh_from_db()
    assert signed.state == SigningUnitState.DISABLED
    missing = missing_monthly_tar_exports(owner.organization, today=dt.date(2027, 3, 1))
    assert [month for _unit, month in missing] == MONTHS  # not December to February
    run_tar_export(signed, at=dt.datetime(2026, 11, 16, 10, 0, tzinfo=UTC))  # everything: its last log included
    assert missing_monthly_tar_exports(owner.organization, today=dt.date(2027, 3, 1)) == []


def test_an_uninitialized_tse_needs_no_export(owner, new_unit):
    assert missing_monthly_tar_exports(owner.organization, today=dt.date(2027, 3, 1)) == []
