"""TSE status on the dashboard and the pages, lifecycle monitoring (certificate expiry 90/30/7 days,
time-sync age, capacity) and the failure side of the fiscal protocol (failed signings, outages)."""

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from portal.models import OutgoingMail
from tse.models import ApiTransaction, ApiTransactionRevision, Health, Outage, OutageReason, SigningUnit
from tse.services.monitoring import check_signing_units, signing_unit_notices
from tse.services.outages import record_failure, record_success

pytestmark = pytest.mark.django_db


def _codes(unit, now=None):
    return [notice.code for notice in signing_unit_notices(unit, now)]


def _expire_in(unit, days, now):
    SigningUnit.unscoped.filter(pk=unit.pk).update(certificate_expires_at=now + dt.timedelta(days=days, hours=1))
    unit.refresh_from_db()


def test_certificate_warnings_90_30_7_are_mailed_once_each(ready_unit):
    now = timezone.now()
    OutgoingMail.objects.all().delete()
    sent = []
    for days in (120, 90, 60, 30, 29, 7, 3):
        _expire_in(ready_unit, days, now)
        check_signing_units(now)
        sent.append(OutgoingMail.objects.count())
    # a mail when 90, 30 and 7 days are reached, nothing in between (one owner per mail)
    assert sent == [0, 1, 1, 2, 2, 3, 3]
    subjects = list(OutgoingMail.objects.order_by("pk").values_list("subject", flat=True))
    # in the owner's language (German): "… läuft in 90 Tagen ab"
    assert [re.findall(r"\d+", subject)[-1] for subject in subjects] == ["90", "30", "7"]
    assert all("TSE" in subject for subject in subjects)
    ready_unit.refresh_from_db()
    assert ready_unit.certificate_warning_days == 7


def test_certificate_notices_on_the_unit(ready_unit, in_english):
    now = timezone.now()
    _expire_in(ready_unit, 200, now)
    assert "E_CERTIFICATE_EXPIRES" not in _codes(ready_unit, now)
    _expire_in(ready_unit, 45, now)
    notice = next(n for n in signing_unit_notices(ready_unit, now) if n.code == "E_CERTIFICATE_EXPIRES")
    assert notice.level == "warning" and "45 days" in notice.message
    _expire_in(ready_unit, 5, now)
    assert next(n for n in signing_unit_notices(ready_unit, now) if n.code == "E_CERTIFICATE_EXPIRES").level == "danger"
    _expire_in(ready_unit, -3, now)
    assert "E_CERTIFICATE_EXPIRED" in _codes(ready_unit, now)


def test_time_sync_age_is_watched_and_the_daily_check_synchronises_a_software_tse(ready_unit, settings):
    settings.TSE_TIME_SYNC_MAX_AGE_HOURS = 24
    synced = ready_unit.last_time_sync_at
    later = synced + dt.timedelta(hours=30)
    assert "E_TIME_SYNC_STALE" in _codes(ready_unit, later)
    with time_machine.travel(later, tick=False):
        counts = check_signing_units(later)
    assert counts["time_synchronised"] == 1
    ready_unit.refresh_from_db()
    assert ready_unit.last_time_sync_at == later.replace(microsecond=0)
    assert "E_TIME_SYNC_STALE" not in _codes(ready_unit, later)


def test_low_remaining_capacity_is_a_warning(ready_unit):
    SigningUnit.unscoped.filter(pk=ready_unit.pk).update(remaining_signatures=500)
    ready_unit.refresh_from_db()
    assert "E_CAPACITY_LOW" in _codes(ready_unit)
    SigningUnit.unscoped.filter(pk=ready_unit.pk).update(remaining_signatures=5_000_000)
    ready_unit.refresh_from_db()
    assert "E_CAPACITY_LOW" not in _codes(ready_unit)


def _failed_revision(unit, tx_id="11111111-1111-4111-8111-111111111111"):
    client = unit.clients.first()
    tx = ApiTransaction.unscoped.create(organization_id=unit.organization_id, signing_unit=unit, tx_id=tx_id,
                                        client=client, state="ACTIVE", latest_revision=1)
    return ApiTransactionRevision.unscoped.create(organization_id=unit.organization_id, api_transaction=tx,
                                                  revision=1, state="ACTIVE", body_hash="0" * 64, status="failed",
                                                  error_code="E_TSE_UNAVAILABLE", error_message="down")


def test_the_dashboard_shows_status_outages_and_the_export_reminder(actors, ready_unit, in_english):
    owner = actors.session_client("owner")
    page = owner.get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-testid="tse-dashboard"' in page and 'data-health="green"' in page
    assert 'data-testid="tse-export-reminder"' in page  # log messages exist, no export yet
    revision = _failed_revision(ready_unit)
    for _failure in range(2):
        record_failure(ready_unit.pk, code="E_TSE_UNAVAILABLE", message="down", revision_ids=[revision.pk])
    page = owner.get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-health="yellow"' in page and "2 failed signings" in page
    assert 'data-testid="tse-open-outages"' in page
    # the partner with a grant sees the operator's dashboard too; the stranger's does not list it
    partner_page = actors.session_client("partner").get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-health="yellow"' in partner_page
    stranger_page = actors.session_client("stranger").get(f"/o/{actors.stranger.org_id}/").content.decode()
    assert ready_unit.serial_number[:20] not in stranger_page
    assert actors.session_client("stranger").get(f"/o/{actors.owner.org_id}/").status_code == 404
    record_success(ready_unit.pk)
    page = owner.get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-health="green"' in page and 'data-testid="tse-open-outages"' not in page


def test_a_dealer_only_dashboard_has_no_tse_card(actors):
    page = actors.session_client("partner").get(f"/o/{actors.partner.org_id}/").content.decode()
    assert 'data-testid="tse-dashboard"' not in page


def test_the_protocol_lists_failed_signings_and_outages_with_csv(actors, ready_unit, stranger_unit):
    revision = _failed_revision(ready_unit)
    with time_machine.travel("2026-11-30 08:00:00+00:00", tick=False):
        record_failure(ready_unit.pk, code="E_TSE_UNAVAILABLE", message="down", revision_ids=[revision.pk])
    with time_machine.travel("2026-11-30 08:45:30+00:00", tick=False):
        record_success(ready_unit.pk)
    other = _failed_revision(stranger_unit, tx_id="22222222-2222-4222-8222-222222222222")
    record_failure(stranger_unit.pk, code="E_TSE_UNAVAILABLE", message="down", revision_ids=[other.pk])
    url = f"/o/{actors.owner.org_id}/tse/protocol/"
    for name in ("owner", "partner"):
        client = actors.session_client(name)
        failures = client.get(url, {"show": "failures"}).content.decode()
        assert f'data-testid="failure-{revision.pk}"' in failures
        assert f'data-testid="failure-{other.pk}"' not in failures
        outages = client.get(url, {"show": "outages"}).content.decode()
        outage = Outage.unscoped.get(signing_unit=ready_unit)
        assert f'data-testid="outage-{outage.pk}"' in outages
        assert 'data-testid="outage-' + str(Outage.unscoped.get(signing_unit=stranger_unit).pk) not in outages
    assert actors.session_client("stranger").get(url, {"show": "outages"}).status_code == 404
    csv = b"".join(actors.session_client("owner").get(url, {"show": "outages", "format": "csv"}).streaming_content)
    lines = csv.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("tss_serial_number;start;end;duration_seconds;reason")
    assert lines[1].split(";")[1:6] == ["2026-11-30T09:00:00+01:00", "2026-11-30T09:45:30+01:00", "2730",
                                        OutageReason.SIGNING_FAILED, "E_TSE_UNAVAILABLE"]
    assert len(lines) == 2
    failures_csv = b"".join(actors.session_client("owner").get(
        url, {"show": "failures", "format": "csv"}).streaming_content).decode("utf-8-sig").splitlines()
    assert len(failures_csv) == 2 and ";E_TSE_UNAVAILABLE;down;no;" in failures_csv[1]


def test_the_detail_page_shows_the_health_badge(actors, ready_unit):
    record_failure(ready_unit.pk, code="E_TSE_UNAVAILABLE", message="down", reason=OutageReason.INITIALIZATION_FAILED)
    page = actors.session_client("owner").get(
        f"/o/{actors.owner.org_id}/tse/{ready_unit.public_id}/").content.decode()
    assert 'data-health="red"' in page
    assert 'data-testid="tse-outages"' in page and 'data-code="E_TSE_RED"' in page
    assert actors.session_client("partner").get(
        f"/o/{actors.owner.org_id}/tse/{ready_unit.public_id}/").status_code == 200
    assert actors.session_client("stranger").get(
        f"/o/{actors.owner.org_id}/tse/{ready_unit.public_id}/").status_code == 404
    ready_unit.refresh_from_db()
    assert ready_unit.health == Health.RED
