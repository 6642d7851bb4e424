"""Deadlines (§ 188 (2), (3) BGB), open and covered events, and the reminder a week before the deadline."""

import datetime as dt

import pytest
import time_machine

from compliance.models import NotificationEvent, TaxOfficeNotification
from compliance.services.deadlines import send_reminders
from compliance.services.events import cover_events, deadline_for, open_events
from compliance.tasks import send_notification_reminders
from portal.models import OutgoingMail
from tests.factories import add_member

D = dt.date


@pytest.mark.parametrize(("day", "deadline"), [
    (D(2026, 1, 31), D(2026, 2, 28)),
    (D(2028, 1, 31), D(2028, 2, 29)),  # leap year
    (D(2028, 1, 29), D(2028, 2, 29)),
    (D(2028, 2, 29), D(2028, 3, 29)),
    (D(2026, 9, 30), D(2026, 10, 30)),
    (D(2026, 3, 31), D(2026, 4, 30)),
    (D(2026, 12, 31), D(2027, 1, 31)),
    (D(2026, 7, 15), D(2026, 8, 15)),
])
def test_deadline_is_one_month_later(day, deadline):
    assert deadline_for(day) == deadline


def _event(premises_, name, day, kind="acquired"):
    betriebsstaette = premises_[name]
    return NotificationEvent.unscoped.create(
        organization=betriebsstaette.organization, betriebsstaette=betriebsstaette, kind=kind, occurred_on=day,
        deadline=deadline_for(day))


def _notification(betriebsstaette, as_of, number=1):
    return TaxOfficeNotification.unscoped.create(
        organization=betriebsstaette.organization, betriebsstaette=betriebsstaette, number=number, as_of=as_of,
        content={}, xml="<x/>", sha256="0" * 64)


def test_cover_events_covers_the_betriebsstaette_up_to_as_of(premises):
    early = _event(premises, "mitte", D(2026, 8, 1))
    same_day = _event(premises, "mitte", D(2026, 8, 10), kind="commissioned")
    later = _event(premises, "mitte", D(2026, 8, 11))
    elsewhere = _event(premises, "nord", D(2026, 8, 1))
    notification = _notification(premises["mitte"], D(2026, 8, 10))
    assert cover_events(notification) == 2
    for event in (early, same_day, later, elsewhere):
        event.refresh_from_db()
    assert early.covered_by == same_day.covered_by == notification
    assert later.covered_by is None and elsewhere.covered_by is None
    assert list(open_events(premises["mitte"].organization)) == [elsewhere, later]
    # a later notification does not take over covered events
    second = _notification(premises["mitte"], D(2026, 8, 31), number=2)
    assert cover_events(second) == 1
    early.refresh_from_db()
    assert early.covered_by == notification


def test_reminder_a_week_before_the_deadline_once(owner, premises):
    admin = add_member(owner.organization, role="admin").user
    add_member(owner.organization, role="member")
    soon = _event(premises, "mitte", D(2026, 7, 20))  # deadline 20 Aug
    also = _event(premises, "nord", D(2026, 7, 22), kind="moved_in")  # deadline 22 Aug
    far = _event(premises, "mitte", D(2026, 8, 1))  # deadline 1 Sep
    covered = _event(premises, "mitte", D(2026, 7, 10))  # deadline 10 Aug, notified
    covered.covered_by = _notification(premises["mitte"], D(2026, 7, 31))
    covered.save()

    assert send_reminders(D(2026, 8, 12)) == {"operators": 0, "events": 0, "mails": 0}
    with time_machine.travel(dt.datetime(2026, 8, 13, 5, 0, tzinfo=dt.UTC), tick=False):
        counts = send_reminders(D(2026, 8, 13))
    assert counts == {"operators": 1, "events": 1, "mails": 2}
    mails = list(OutgoingMail.objects.order_by("to"))
    assert sorted(m.to for m in mails) == sorted([owner.user.email, admin.email])
    assert "Laden Mitte" in mails[0].body_text and owner.organization.name in mails[0].subject
    assert "Laden Nord" not in mails[0].body_text
    soon.refresh_from_db()
    assert soon.reminder_sent_at == dt.datetime(2026, 8, 13, 5, 0, tzinfo=dt.UTC)
    # the same day again: nothing; two days later the next event, in one mail per user
    assert send_reminders(D(2026, 8, 13))["mails"] == 0
    assert send_reminders(D(2026, 8, 15)) == {"operators": 1, "events": 1, "mails": 2}
    assert send_reminders(D(2026, 8, 24))["events"] == 0
    assert send_reminders(D(2026, 8, 25))["events"] == 1  # far: deadline 1 Sep
    for event in (also, far, covered):
        event.refresh_from_db()
    assert also.reminder_sent_at is not None and covered.reminder_sent_at is None


def test_several_due_events_of_an_operator_make_one_mail(owner, premises):
    _event(premises, "mitte", D(2026, 7, 20))
    _event(premises, "nord", D(2026, 7, 21), kind="moved_in")
    assert send_reminders(D(2026, 8, 14)) == {"operators": 1, "events": 2, "mails": 1}
    body = OutgoingMail.objects.get().body_text
    assert "Laden Mitte" in body and "Laden Nord" in body


def test_reminder_task_runs_unscoped(owner, premises):
    _event(premises, "mitte", D(2026, 7, 20))
    with time_machine.travel(dt.datetime(2026, 8, 18, 8, 0, tzinfo=dt.UTC), tick=False):
        result = send_notification_reminders.apply().get()
    assert result["events"] == 1 and OutgoingMail.objects.count() == 1
