"""The compliance centre of an operator: the hub and the deadline list of the § 146a (4) AO notifications.

- **Hub** (``compliance``, ``view``: members and partners the operator granted a right): cards for the open
  notification deadlines (overdue ones first), the notifications per Betriebsstätte (latest file, submitted or
  not), Kassen-Nachschau, the archive, the TSE watch and the procedure documentation. Cards of parts that are
  not installed are left out.
- **Deadlines** (``compliance_deadlines``): every event not covered by a submitted notification yet — kind,
  Betriebsstätte, recording system or TSE, date, deadline (one month), days left; overdue ones in red.

Organizations without the operator role answer 404, like the other operator pages.
"""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from compliance.models import NotificationEvent, TaxOfficeNotification
from portal.views.base import organization_page
from tenants.models import Betriebsstaette, RoleKind

__all__ = ["centre_view", "deadline_rows", "deadlines_view", "require_operator"]

DUE_SOON_DAYS = 7


def require_operator(organization) -> None:
    if not any(role.kind == RoleKind.OPERATOR for role in organization.roles.all()):
        raise Http404


def deadline_rows(organization, today=None) -> list[NotificationEvent]:
    """The open events of ``organization`` by deadline, each with ``days_left``, ``overdue`` and ``due_soon``."""
    from compliance.services.events import open_events

    today = today or timezone.localdate()
    events = open_events(organization)
    if hasattr(events, "select_related"):
        events = events.select_related("betriebsstaette", "cash_register__client", "signing_unit")
    rows = list(events)
    for event in rows:
        event.days_left = (event.deadline - today).days
        event.overdue = event.days_left < 0
        event.overdue_days = max(-event.days_left, 0)
        event.due_soon = 0 <= event.days_left <= DUE_SOON_DAYS
    return rows


def _premises_summary(organization, events) -> list[Betriebsstaette]:
    premises = list(Betriebsstaette.objects.filter(organization=organization).order_by("name", "pk"))
    latest: dict[int, TaxOfficeNotification] = {}
    for notification in (TaxOfficeNotification.objects.filter(organization=organization)
                         .select_related("submission").order_by("betriebsstaette_id", "-number")):
        latest.setdefault(notification.betriebsstaette_id, notification)
    for betriebsstaette in premises:
        betriebsstaette.latest_notification = latest.get(betriebsstaette.pk)
        betriebsstaette.open_events = sum(1 for event in events if event.betriebsstaette_id == betriebsstaette.pk)
    return premises


@organization_page("view")
def centre_view(request, organization):
    require_operator(organization)
    events = deadline_rows(organization)
    return render(request, "compliance/centre/centre.html", {
        "organization": organization,
        "events": events[:5],
        "open_count": len(events),
        "overdue_count": sum(1 for event in events if event.overdue),
        "next_deadline": events[0].deadline if events else None,
        "premises": _premises_summary(organization, events),
        "can_configure": request.actor.can(organization.pk, "configure"),
    })


@organization_page("view")
def deadlines_view(request, organization):
    require_operator(organization)
    events = deadline_rows(organization)
    return render(request, "compliance/centre/deadlines.html", {
        "organization": organization,
        "events": events,
        "overdue_count": sum(1 for event in events if event.overdue),
        "today": timezone.localdate(),
    })
