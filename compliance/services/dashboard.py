"""The compliance card of the dashboard.

- Operator (members and partners acting for it): TSEs that reached a warning threshold (90/30/7 days of
  ``settings.TSE_CERTIFICATE_WARNING_DAYS``) with their device certificate or product certification, or
  whose certification was withdrawn or expired; the open notification deadlines (events not yet covered by a
  confirmed notification, ``compliance.services.events.open_events``), the overdue ones apart.
- Dealer (its own members only): how many TSEs of the operators that granted it any right need replacing
  soon (``tse.services.certifications.replacement_rows``), with a link to the replacement list.
"""

from django.utils import timezone

from tenants.models import RoleKind
from tse.services.certifications import replacement_rows, watch_rows

__all__ = ["compliance_dashboard"]


def _operator_card(organization, today) -> dict:
    from compliance.services.events import open_events

    events = list(open_events(organization))
    return {
        "rows": [row for row in watch_rows([organization], today) if row.level],
        "overdue": [event for event in events if event.deadline < today],
        "upcoming": [event for event in events if event.deadline >= today],
    }


def _dealer_card(organization, today) -> dict:
    rows = replacement_rows(organization, today)
    return {"count": len(rows), "danger": sum(1 for row in rows if row.level == "danger")}


def compliance_dashboard(organization, actor, today=None) -> dict | None:
    """``{"operator": {...} | None, "dealer": {...} | None}``, or ``None`` when neither role applies."""
    today = today or timezone.localdate()
    kinds = {role.kind for role in organization.roles.all()}
    operator = _operator_card(organization, today) if RoleKind.OPERATOR in kinds else None
    is_member = actor is not None and organization.pk in actor.member_roles
    dealer = _dealer_card(organization, today) if RoleKind.DEALER in kinds and is_member else None
    if operator is None and dealer is None:
        return None
    return {"operator": operator, "dealer": dealer}
