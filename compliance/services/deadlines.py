"""Reminders of notification deadlines: a week before an open event's deadline, one mail per operator.

``send_reminders(today)`` (daily, task ``compliance.send_notification_reminders``) collects the open
events (not covered by a confirmed notification) whose deadline is at most ``REMINDER_DAYS`` days away
and that no reminder mentioned yet, mails their operator's active owners and administrators one list,
each in their language, and marks the events (``reminder_sent_at``): every event is reminded of once.
Runs across tenants (unscoped).
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from compliance.models import NotificationEvent

__all__ = ["REMINDER_DAYS", "due_reminders", "send_reminders"]

REMINDER_DAYS = 7


def due_reminders(today: dt.date):
    """Open, not yet reminded events whose deadline is within ``REMINDER_DAYS`` days of ``today``."""
    return (NotificationEvent.unscoped
            .filter(covered_by__isnull=True, reminder_sent_at__isnull=True,
                    deadline__lte=today + dt.timedelta(days=REMINDER_DAYS))
            .select_related("organization", "betriebsstaette", "cash_register__client")
            .order_by("organization_id", "deadline", "occurred_on", "pk"))


def _link(organization) -> str:
    try:
        path = reverse("compliance_deadlines", kwargs={"org_id": organization.public_id})
    except NoReverseMatch:  # the page of the compliance centre is not installed
        path = reverse("dashboard")
    return settings.SITE_URL + path


def _mail_operator(organization, events: list, today: dt.date) -> int:
    from portal.services.mail import queue_mail
    from tenants.models import Membership, MembershipRole

    memberships = (Membership.unscoped.filter(organization_id=organization.pk,
                                              role__in=[MembershipRole.OWNER, MembershipRole.ADMIN],
                                              user__is_active=True).select_related("user").order_by("pk"))
    context = {"organization": organization, "events": events, "today": today, "link": _link(organization),
               "overdue": sum(1 for event in events if event.deadline < today)}
    count = 0
    for membership in memberships:
        user = membership.user
        queue_mail(user.email, "compliance/mail/reminder_subject.txt", "compliance/mail/reminder.txt",
                   {**context, "user": user}, language=user.language if user.language in ("de", "en") else "de")
        count += 1
    return count


def send_reminders(today: dt.date | None = None) -> dict:
    """Mail the due reminders; returns counts for the log (operators, events, mails)."""
    today = today or timezone.localdate()
    by_operator: dict[int, list] = {}
    for event in due_reminders(today):
        by_operator.setdefault(event.organization_id, []).append(event)
    counts = {"operators": 0, "events": 0, "mails": 0}
    for events in by_operator.values():
        with transaction.atomic():
            pks = [event.pk for event in events]
            # claim the events first: a concurrent run finds them reminded and mails nothing
            claimed = NotificationEvent.unscoped.filter(pk__in=pks, reminder_sent_at__isnull=True).update(
                reminder_sent_at=timezone.now())
            if claimed != len(pks):
                transaction.set_rollback(True)
                continue
            counts["mails"] += _mail_operator(events[0].organization, events, today)
        counts["operators"] += 1
        counts["events"] += len(events)
    return counts
