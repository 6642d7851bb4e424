"""Archives are kept until their retention date: TAR exports and Nachschau bundles (new), DSFinV-K (still).

The model refuses ``delete()`` before the date; on PostgreSQL a trigger also refuses a raw DELETE and
any change of a stored archive's file, checksum, size, state or retention date.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from compliance.models import BundleState, NachschauBundle
from exports.models import DsfinvkExport, DsfinvkExportState, RetentionError
from tests.compliance_archive.conftest import on_postgresql, run_tar_export
from tse.models import ExportState, TarExport

pytestmark = pytest.mark.django_db


def _raw_statements_refused(table: str, pk: int) -> None:
    if not on_postgresql():
        return
    for statement in (f"DELETE FROM {table} WHERE id = %s",
                      f"UPDATE {table} SET sha256 = 'x' WHERE id = %s",
                      f"UPDATE {table} SET size = size + 1 WHERE id = %s",
                      f"UPDATE {table} SET file = 'elsewhere.bin' WHERE id = %s",
                      f"UPDATE {table} SET retain_until = '2030-01-01' WHERE id = %s",
                      f"UPDATE {table} SET retain_until = NULL WHERE id = %s"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [pk])


def test_a_completed_tar_export_is_kept_ten_years_after_its_data(signed):
    export = run_tar_export(signed)  # no end time: its data end when it ran (20 November 2026)
    assert export.retain_until == dt.date(2036, 12, 31)
    december = run_tar_export(signed, at=dt.datetime(2027, 1, 2, 9, 0, tzinfo=dt.UTC),
                              start_time=dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC),
                              end_time=dt.datetime(2026, 12, 31, 22, 59, 59, tzinfo=dt.UTC))
    assert december.retain_until == dt.date(2036, 12, 31)  # the end time (2026), not the finish (2027)
    future = run_tar_export(signed, at=dt.datetime(2027, 1, 2, 9, 0, tzinfo=dt.UTC),
                            end_time=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert future.retain_until == dt.date(2037, 12, 31)  # an end time after the run: the finish time


def test_a_kept_tar_export_cannot_be_deleted_or_changed(tar_export):
    with pytest.raises(RetentionError):
        tar_export.delete()
    _raw_statements_refused("tse_tarexport", tar_export.pk)
    stored = TarExport.unscoped.get(pk=tar_export.pk)
    assert (stored.sha256, stored.size, stored.retain_until) == (tar_export.sha256, tar_export.size,
                                                                 tar_export.retain_until)


def test_an_unfinished_or_expired_tar_export_can_be_deleted(signed):
    pending = TarExport.unscoped.create(organization=signed.organization, signing_unit=signed)
    pending.delete()
    old = TarExport.unscoped.create(organization=signed.organization, signing_unit=signed,
                                    state=ExportState.COMPLETED, sha256="0" * 64, size=1,
                                    retain_until=dt.date(2020, 12, 31))
    old.delete()
    assert not TarExport.unscoped.filter(pk__in=[pending.pk, old.pk]).exists()


def test_a_kept_bundle_cannot_be_deleted_or_changed(bundle):
    with pytest.raises(RetentionError):
        bundle.delete()
    _raw_statements_refused("compliance_nachschaubundle", bundle.pk)
    if on_postgresql():
        with pytest.raises(IntegrityError), transaction.atomic():
            NachschauBundle.unscoped.filter(pk=bundle.pk).update(state=BundleState.ERROR)
    assert NachschauBundle.unscoped.get(pk=bundle.pk).sha256 == bundle.sha256
    NachschauBundle.unscoped.filter(pk=bundle.pk).update(step="stored")  # other columns stay changeable


def test_an_expired_bundle_can_be_deleted(bundle):
    old = NachschauBundle.unscoped.create(organization=bundle.organization, betriebsstaette=bundle.betriebsstaette,
                                          date_from=dt.date(2010, 1, 1), date_to=dt.date(2010, 1, 31),
                                          state=BundleState.COMPLETED, sha256="0" * 64, size=1,
                                          retain_until=dt.date(2020, 12, 31))
    old.delete()
    assert not NachschauBundle.unscoped.filter(pk=old.pk).exists()


def test_a_kept_dsfinvk_export_still_cannot_be_deleted(dsfinvk_export):
    assert dsfinvk_export.retain_until == dt.date(2036, 12, 31)
    with pytest.raises(RetentionError):
        dsfinvk_export.delete()
    _raw_statements_refused("exports_dsfinvkexport", dsfinvk_export.pk)
    assert DsfinvkExport.unscoped.get(pk=dsfinvk_export.pk).state == DsfinvkExportState.COMPLETED
