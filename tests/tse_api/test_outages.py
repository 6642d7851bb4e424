"""Outages (AEAO zu § 146a Nr. 1.14/2.7): a failing TSE gives unsigned answers, the outage is
recorded with start, end, reason and affected signings, the status turns yellow with the count of
consecutive failures (red when the TSE cannot be brought into service) and green again on the
next success; owners and admins get a mail when the status turns yellow or red."""

import uuid

import pytest
import time_machine
from django.core import mail

from portal.models import LogEntry, OutgoingMail
from tests.tse_api.conftest import RECEIPT
from tse.backends.base import TseError
from tse.backends.software import SoftwareTse
from tse.models import ApiTransactionRevision, Health, LogMessage, Outage, OutageReason, RevisionStatus, SigningUnit
from tse.services import signing_units

pytestmark = pytest.mark.django_db


def _down(monkeypatch, code="E_TSE_UNAVAILABLE", status=503):
    def fail(self, *args, **kwargs):
        raise TseError(code, "the TSE does not answer", status=status)

    for name in ("start_transaction", "update_transaction", "finish_transaction"):
        monkeypatch.setattr(SoftwareTse, name, fail)


def _unit(tss) -> SigningUnit:
    return SigningUnit.unscoped.get(public_id=tss.tss_id)


def _receipt(tss):
    """Start and finish one receipt; returns both answers."""
    tx_id = str(uuid.uuid4())
    return tss.put_tx(tx_id, 1, "ACTIVE").json(), tss.put_tx(tx_id, 2, "FINISHED", RECEIPT).json()


def test_a_failing_backend_opens_an_outage_yellow_with_the_count_then_green(tss, monkeypatch):
    original = {name: getattr(SoftwareTse, name) for name in ("start_transaction", "finish_transaction")}
    _down(monkeypatch)
    answers = []
    with time_machine.travel("2026-11-30 09:00:00+00:00", tick=False):
        for _receipt_number in range(3):
            tx_id = str(uuid.uuid4())
            answers.append(tss.put_tx(tx_id, 1, "ACTIVE").json())
    # the POS always gets an answer: unsigned, with a machine-readable reason and the system time
    assert [a["signature"] for a in answers] == [None, None, None]
    assert {a["error"]["code"] for a in answers} == {"E_TSE_UNAVAILABLE"}
    assert all(isinstance(a["time_start"], int) for a in answers)
    unit = _unit(tss)
    assert (unit.health, unit.consecutive_failures) == (Health.YELLOW, 3)
    outage = Outage.unscoped.get(signing_unit=unit)
    assert outage.ended_at is None and outage.reason == OutageReason.SIGNING_FAILED
    assert outage.failed_signings == 3 and outage.error_code == "E_TSE_UNAVAILABLE"
    assert outage.started_at.isoformat() == "2026-11-30T09:00:00+00:00"
    assert ApiTransactionRevision.unscoped.filter(outage=outage).count() == 3

    for name, method in original.items():
        monkeypatch.setattr(SoftwareTse, name, method)
    with time_machine.travel("2026-11-30 09:20:00+00:00", tick=False):
        start, finish = _receipt(tss)
    assert start["signature"] is not None and finish["signature"] is not None
    unit.refresh_from_db()
    outage.refresh_from_db()
    assert (unit.health, unit.consecutive_failures) == (Health.GREEN, 0)
    assert outage.ended_at.isoformat() == "2026-11-30T09:20:00+00:00"
    assert not Outage.unscoped.filter(signing_unit=unit, ended_at__isnull=True).exists()
    changes = LogEntry.objects.filter(action="tse.signing_unit.status_changed").order_by("pk")
    assert [(e.data["from"], e.data["to"]) for e in changes] == [("green", "yellow"), ("yellow", "green")]


def test_the_next_success_resets_the_count_and_a_new_failure_starts_a_new_outage(tss, monkeypatch):
    original = SoftwareTse.start_transaction
    _down(monkeypatch)
    tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE")
    tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE")
    monkeypatch.setattr(SoftwareTse, "start_transaction", original)
    assert tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").json()["signature"] is not None
    _down(monkeypatch)
    tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE")
    unit = _unit(tss)
    assert (unit.health, unit.consecutive_failures) == (Health.YELLOW, 1)
    outages = list(Outage.unscoped.filter(signing_unit=unit).order_by("started_at", "pk"))
    assert [o.failed_signings for o in outages] == [2, 1]
    assert outages[0].ended_at is not None and outages[1].ended_at is None


def test_a_refused_request_is_no_outage(tss):
    """A 4xx from the TSE (the request was wrong) leaves the status green."""
    tx_id = str(uuid.uuid4())
    tss.put_tx(tx_id, 1, "ACTIVE")
    unit = _unit(tss)
    response = tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE", client_id=str(uuid.uuid4()))
    assert response.status_code == 400
    unit.refresh_from_db()
    assert unit.health == Health.GREEN and not Outage.unscoped.exists()


def test_a_timeout_counts_and_the_late_signature_ends_the_outage(tss, monkeypatch):
    from tse import tasks
    from tse.tasks import sign_revision_task

    class TimedOut:
        def get(self, **kwargs):
            from celery.exceptions import TimeoutError

            raise TimeoutError("timed out")

    monkeypatch.setattr(tasks.sign_revision_task, "apply_async", lambda **kwargs: TimedOut())
    tx_id = str(uuid.uuid4())
    assert tss.put_tx(tx_id, 1, "ACTIVE").json()["error"]["code"] == "E_TSE_TIMEOUT"
    unit = _unit(tss)
    outage = Outage.unscoped.get(signing_unit=unit)
    assert (unit.health, unit.consecutive_failures, outage.reason) == (Health.YELLOW, 1, OutageReason.TIMEOUT)
    row = ApiTransactionRevision.unscoped.get(api_transaction__tx_id=tx_id, revision=1)
    assert row.outage_id == outage.pk and row.status == RevisionStatus.PENDING
    assert sign_revision_task(organization_id=row.organization_id, revision_id=row.pk) == RevisionStatus.SIGNED
    unit.refresh_from_db()
    outage.refresh_from_db()
    assert unit.health == Health.GREEN and outage.ended_at is not None


def test_a_tse_that_cannot_be_brought_into_service_is_red_and_every_signing_retries(tss, monkeypatch):
    original_update_time = SoftwareTse.update_time
    _down(monkeypatch, code="E_BACKEND_UNAVAILABLE")
    monkeypatch.setattr(SoftwareTse, "update_time", lambda self: (_ for _ in ()).throw(
        TseError("E_TSE_INITIALIZATION_FAILED", "self test failed", status=503)))
    first = tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").json()
    assert first["signature"] is None and first["error"]["code"] == "E_BACKEND_UNAVAILABLE"
    unit = _unit(tss)
    assert unit.health == Health.RED
    calls = []

    def counting_update_time(self):
        calls.append(1)
        raise TseError("E_TSE_INITIALIZATION_FAILED", "self test failed", status=503)

    monkeypatch.setattr(SoftwareTse, "update_time", counting_update_time)
    second = tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").json()
    assert calls == [1]  # the signing retried the initialization first
    assert second["error"]["code"] == "E_TSE_INITIALIZATION_FAILED"
    unit.refresh_from_db()
    assert (unit.health, unit.consecutive_failures) == (Health.RED, 2)
    outage = Outage.unscoped.get(signing_unit=unit, ended_at__isnull=True)
    assert outage.reason == OutageReason.INITIALIZATION_FAILED and outage.failed_signings == 2

    monkeypatch.undo()
    monkeypatch.setattr(SoftwareTse, "update_time", original_update_time)
    before = LogMessage.unscoped.filter(signing_unit=unit, operation_type="updateTime").count()
    start, finish = _receipt(tss)
    assert start["signature"] is not None and finish["qr_code_data"]
    unit.refresh_from_db()
    assert unit.health == Health.GREEN and unit.consecutive_failures == 0
    # the successful re-initialization is part of the record: one more updateTime system log
    assert LogMessage.unscoped.filter(signing_unit=unit, operation_type="updateTime").count() == before + 1


def test_a_failed_initialization_is_red_and_recorded(actors, monkeypatch):
    unit = signing_units.create_signing_unit(actor=None, organization=actors.owner.organization)
    monkeypatch.setattr(SoftwareTse, "initialize", lambda self, description="": (_ for _ in ()).throw(
        RuntimeError("HSM not reachable")))
    with pytest.raises(TseError) as raised:
        signing_units.initialize_signing_unit(actor=None, signing_unit=unit)
    assert raised.value.code == "E_TSE_INITIALIZATION_FAILED" and raised.value.status == 503
    unit.refresh_from_db()
    assert unit.health == Health.RED and unit.state == "uninitialized"
    outage = Outage.unscoped.get(signing_unit=unit)
    assert outage.reason == OutageReason.INITIALIZATION_FAILED and outage.failed_signings == 0
    monkeypatch.undo()
    signing_units.initialize_signing_unit(actor=None, signing_unit=unit)
    unit.refresh_from_db()
    outage.refresh_from_db()
    assert unit.health == Health.GREEN and unit.state == "initialized" and outage.ended_at is not None


def test_owners_and_admins_get_one_mail_per_change_to_yellow_or_red(tss, actors, monkeypatch, in_english):
    from tests.factories import add_member, make_user

    admin = make_user("admin@example.com", full_name="Anna Admin")
    add_member(actors.owner.organization, admin, role="admin")
    viewer = make_user("viewer@example.com", full_name="Vera Viewer")
    add_member(actors.owner.organization, viewer, role="viewer")
    mail.outbox.clear()
    OutgoingMail.objects.all().delete()
    _down(monkeypatch)
    for _attempt in range(3):
        tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE")
    sent = OutgoingMail.objects.order_by("to")
    assert sorted(m.to for m in sent) == ["admin@example.com", "owner@example.com"]  # once, not per failure
    body = sent[0].body_text
    assert _unit(tss).serial_number in body and "E_TSE_UNAVAILABLE" in body
    assert f"/tse/{tss.tss_id}/" in body
