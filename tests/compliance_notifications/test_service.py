"""Generating notification files (numbering, gross list, snapshot, validation) and confirming their submission
(once, dates, covered events)."""

import datetime as dt
import hashlib

import pytest
import time_machine

from compliance.models import NotificationEvent, NotificationSubmission, TaxOfficeNotification
from compliance.services.events import open_events
from compliance.services.notifications import NotificationError, confirm_submission, notifications_of
from portal.models import LogEntry
from tenants.models import Organization
from tenants.services.premises import create_betriebsstaette
from tests.compliance_notifications.conftest import moment

pytestmark = pytest.mark.django_db

TICKET = "et2a7b9c4d1e8f3a5b6c0d"


def confirm(notification, day, ticket=TICKET, *, actor=None, submitted_on=None):
    with time_machine.travel(moment(day, dt.time(12, 0, tzinfo=dt.UTC)), tick=False):
        return confirm_submission(actor, notification, submitted_on or day, ticket)


def test_numbers_count_per_betriebsstaette(generate_on, notified, owner):
    first, second = generate_on(), generate_on(dt.date(2026, 8, 16))
    assert (first.number, second.number) == (1, 2)
    other = create_betriebsstaette(actor=notified["actor"], organization=owner.organization, data={
        "name": "Lager", "reference": "store", "street": "Nebenweg", "house_number": "2", "postal_code": "10117",
        "city": "Berlin"})
    with time_machine.travel(moment(dt.date(2026, 8, 16)), tick=False):
        from compliance.services.notifications import generate_notification

        assert generate_notification(notified["actor"], other).number == 1
    assert [n.number for n in notifications_of(notified["main"])] == [2, 1]


def test_the_file_is_stored_with_its_snapshot_and_hash(generate_on, notified, owner):
    notification = generate_on()
    assert notification.as_of == dt.date(2026, 8, 15)
    assert notification.sha256 == hashlib.sha256(notification.xml.encode()).hexdigest()
    assert notification.created_by == owner.user
    assert [system["serial_number"] for system in notification.content["systems"]] == ["KASSE-01", "KASSE-02"]
    assert notification.content["system_count"] == 1
    assert any(p["path"].endswith("/tse/bsi_id") for p in notification.content["problems"])  # software TSE
    entry = LogEntry.unscoped.get(action="compliance.notification.generated")
    assert entry.object_id == str(notification.public_id) and entry.data["number"] == 1


def test_a_later_change_leaves_the_snapshot_alone(generate_on, owner):
    first = generate_on()
    Organization.unscoped.filter(pk=owner.organization.pk).update(name="Bäckerei Neu GmbH")
    second = generate_on(dt.date(2026, 8, 20))
    first.refresh_from_db()
    assert first.content["taxpayer"]["name"] == "Bäckerei Beispiel GmbH"
    assert "Bäckerei Beispiel GmbH" in first.xml and "Bäckerei Neu GmbH" in second.xml
    assert first.sha256 != second.sha256


def test_as_of_an_earlier_day_lists_the_system_as_in_use(generate_on):
    notification = generate_on(as_of=dt.date(2026, 8, 1))
    kasse_02 = notification.content["systems"][1]
    assert kasse_02["decommissioned_on"] is None and notification.content["system_count"] == 2
    assert "AusserbetriebnahmeAS" not in notification.xml


def test_a_date_in_the_future_is_refused(generate_on):
    with pytest.raises(NotificationError) as caught:
        generate_on(dt.date(2026, 8, 15), as_of=dt.date(2026, 8, 16))
    assert caught.value.code == "E_AS_OF_IN_FUTURE"
    assert not TaxOfficeNotification.unscoped.exists()


def test_an_invalid_file_is_not_stored(generate_on, owner):
    Organization.unscoped.filter(pk=owner.organization.pk).update(w_idnr="DE12-1")
    with pytest.raises(NotificationError) as caught:
        generate_on()
    assert caught.value.code == "E_NOTIFICATION_INVALID" and "WIdNr" in caught.value.message
    assert not TaxOfficeNotification.unscoped.exists()
    assert not LogEntry.unscoped.filter(action="compliance.notification.generated").exists()


def test_confirming_covers_the_events_up_to_the_as_of_day(generate_on, notified, owner):
    events = list(open_events(owner.organization))
    assert {event.kind for event in events} >= {"commissioned", "tse_replaced", "decommissioned"}
    notification = generate_on(as_of=dt.date(2026, 8, 1))
    submission = confirm(notification, dt.date(2026, 8, 17))
    assert submission.submitted_on == dt.date(2026, 8, 17) and submission.transfer_ticket == TICKET
    still_open = list(open_events(owner.organization))
    assert still_open and all(event.occurred_on > dt.date(2026, 8, 1) for event in still_open)
    assert {event.kind for event in still_open} == {"decommissioned"}
    assert NotificationEvent.unscoped.filter(covered_by=notification).count() == len(events) - len(still_open)
    entry = LogEntry.unscoped.get(action="compliance.notification.submitted")
    assert entry.data["transfer_ticket"] == TICKET and entry.data["covered_events"] == len(events) - len(still_open)


def test_a_submission_is_confirmed_once(generate_on):
    notification = generate_on()
    confirm(notification, dt.date(2026, 8, 15))
    with pytest.raises(NotificationError) as caught:
        confirm(notification, dt.date(2026, 8, 16), "another-ticket")
    assert caught.value.code == "E_ALREADY_SUBMITTED" and caught.value.status == 409
    assert NotificationSubmission.unscoped.get().transfer_ticket == TICKET


@pytest.mark.parametrize(("submitted_on", "ticket", "code"), [
    (dt.date(2026, 8, 14), TICKET, "E_SUBMITTED_BEFORE_GENERATION"),
    (dt.date(2026, 8, 18), TICKET, "E_SUBMITTED_IN_FUTURE"),
    (dt.date(2026, 8, 16), "  ", "E_TRANSFER_TICKET_MISSING"),
    (dt.date(2026, 8, 16), "ticket with spaces", "E_TRANSFER_TICKET_INVALID"),
])
def test_confirmation_dates_and_ticket_are_checked(generate_on, submitted_on, ticket, code):
    notification = generate_on()
    with pytest.raises(NotificationError) as caught:
        confirm(notification, dt.date(2026, 8, 17), ticket, submitted_on=submitted_on)
    assert caught.value.code == code
    assert not NotificationSubmission.unscoped.exists()
    assert not NotificationEvent.unscoped.filter(covered_by__isnull=False).exists()
