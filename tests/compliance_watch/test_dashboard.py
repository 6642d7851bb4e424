"""The compliance card of the dashboard: TSE warnings and notification deadlines (operator), TSEs to replace
(dealer)."""

import datetime as dt

import pytest

from compliance.models import NotificationEvent, NotificationEventKind
from compliance.services.dashboard import compliance_dashboard
from portal.tenancy import actor_for_user
from tenants.models import Betriebsstaette

from .conftest import make_tse

pytestmark = pytest.mark.django_db


def _dashboard(actors, name="owner", org=None) -> str:
    org_id = org or actors.owner.org_id
    response = actors.session_client(name).get(f"/o/{org_id}/")
    assert response.status_code == 200
    return response.content.decode()


def _event(organization, occurred_on: dt.date, deadline: dt.date, kind=NotificationEventKind.TSE_COMMISSIONED):
    premises = Betriebsstaette.unscoped.filter(organization=organization).first() or Betriebsstaette.unscoped.create(
        organization=organization, name="Hauptbetrieb", street="Hauptstraße", house_number="5",
        postal_code="10115", city="Berlin")
    return NotificationEvent.unscoped.create(organization=organization, betriebsstaette=premises, kind=kind,
                                             occurred_on=occurred_on, deadline=deadline)


@pytest.mark.parametrize(("days", "shown"), [(91, False), (90, True), (30, True), (7, True), (0, True)])
def test_tses_reaching_a_threshold_are_listed(actors, on_today, in_english, days, shown):
    unit = make_tse(actors.owner.organization, days=days)
    card = compliance_dashboard(actors.owner.organization, actor_for_user(actors.owner.user))
    assert [row.unit for row in card["operator"]["rows"]] == ([unit] if shown else [])
    assert card["dealer"] is None
    body = _dashboard(actors)
    assert 'data-testid="compliance-dashboard"' in body
    assert ('data-testid="compliance-tse-warning"' in body) is shown
    assert ('data-testid="compliance-all-clear"' in body) is not shown


def test_a_withdrawn_product_certification_is_a_warning(actors, on_today, in_english):
    make_tse(actors.owner.organization, days=700, bsi="BSI-K-TR-0491-2021")
    body = _dashboard(actors)
    assert 'data-level="danger"' in body and "certification withdrawn on 07.01.2023" in body


def test_open_and_overdue_notification_deadlines(actors, on_today, in_english):
    organization = actors.owner.organization
    overdue = _event(organization, dt.date(2026, 10, 15), dt.date(2026, 11, 15))
    upcoming = _event(organization, dt.date(2026, 11, 20), dt.date(2026, 12, 20), NotificationEventKind.COMMISSIONED)
    _event(actors.stranger.organization, dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    card = compliance_dashboard(organization, actor_for_user(actors.owner.user))["operator"]
    assert card["overdue"] == [overdue] and card["upcoming"] == [upcoming]
    for name in ("owner", "partner"):
        body = _dashboard(actors, name)
        assert "1 notification to the tax office is overdue." in body and "due on 15.11.2026" in body
        assert "1 event still has to be notified to the tax office." in body and "due on 20.12.2026" in body
    assert 'data-testid="compliance-all-clear"' not in body


def test_the_dealer_sees_how_many_tses_of_its_operators_to_replace(actors, on_today, in_english):
    make_tse(actors.owner.organization, days=5)
    make_tse(actors.owner.organization, days=60)
    make_tse(actors.owner.organization, days=400)
    make_tse(actors.stranger.organization, days=1)
    card = compliance_dashboard(actors.partner.organization, actor_for_user(actors.partner.user))
    assert card == {"operator": None, "dealer": {"count": 2, "danger": 1}}
    body = _dashboard(actors, "partner", actors.partner.org_id)
    assert "2 TSEs of your operators need replacing soon." in body and "1 urgent" in body
    assert f"/o/{actors.partner.org_id}/compliance/replacements/" in body
    # acting in the operator's account the dealer sees the operator's card, not its own count
    body = _dashboard(actors, "partner")
    assert 'data-testid="compliance-tse-warnings"' in body
    assert 'data-testid="compliance-dealer-replacements"' not in body


def test_nothing_for_a_stranger_and_no_card_without_a_role(actors, on_today):
    make_tse(actors.owner.organization, days=5)
    body = _dashboard(actors, "stranger", actors.stranger.org_id)
    assert 'data-testid="compliance-all-clear"' in body and 'data-testid="compliance-tse-warning"' not in body
    assert actors.session_client("stranger").get(f"/o/{actors.owner.org_id}/").status_code == 404
    assert compliance_dashboard(actors.partner.organization, None) is None  # a dealer's card is for its members
