"""The compliance hub, the deadline list and the notification pages: three actors on every page, generating
and confirming through the pages, the XML download and what the pages say."""

import datetime as dt

import pytest
from django.urls import reverse

from compliance.models import NotificationSubmission, TaxOfficeNotification
from tests.compliance_notifications.test_service import TICKET, confirm

pytestmark = pytest.mark.django_db

READ_PAGES = ("compliance", "compliance_deadlines", "compliance_notifications")


def _url(name, org_id, **kwargs):
    return reverse(name, kwargs={"org_id": org_id, **kwargs})


def _statuses(actors, method, url, data=None) -> dict:
    result = {}
    for name in ("owner", "partner", "stranger"):
        client = actors.session_client(name)
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        result[name] = response.status_code
    return result


@pytest.mark.parametrize("name", READ_PAGES)
def test_three_actors_on_the_read_pages(actors, notified, name):
    url = _url(name, actors.owner.org_id)
    assert _statuses(actors, "GET", url) == {"owner": 200, "partner": 200, "stranger": 404}
    assert actors.member_client("owner").get(url).status_code == 200
    assert actors.session_client("partner").get(_url(name, actors.stranger.org_id)).status_code == 404


@pytest.mark.parametrize("name", ["compliance_notification", "compliance_notification_xml"])
def test_three_actors_on_a_notification(actors, generate_on, name):
    notification = generate_on()
    url = _url(name, actors.owner.org_id, notification_id=notification.public_id)
    assert _statuses(actors, "GET", url) == {"owner": 200, "partner": 200, "stranger": 404}
    foreign = _url(name, actors.stranger.org_id, notification_id=notification.public_id)
    assert actors.session_client("stranger").get(foreign).status_code == 404


def test_dealer_pages_are_not_compliance_pages(actors):
    assert actors.session_client("partner").get(_url("compliance", actors.partner.org_id)).status_code == 404


def test_generating_needs_configure(actors, notified):
    url = _url("compliance_notifications", actors.owner.org_id)
    data = {"betriebsstaette": str(notified["main"].public_id)}
    assert _statuses(actors, "POST", url, data) == {"owner": 302, "partner": 403, "stranger": 404}
    assert TaxOfficeNotification.unscoped.count() == 1


def test_a_partner_with_configure_generates_on_behalf(actors, notified, configure_partner):
    url = _url("compliance_notifications", actors.owner.org_id)
    response = actors.session_client("partner").post(url, {"betriebsstaette": str(notified["main"].public_id)})
    notification = TaxOfficeNotification.unscoped.get()
    assert response.status_code == 302
    assert response["Location"] == _url("compliance_notification", actors.owner.org_id,
                                        notification_id=notification.public_id)
    assert notification.acting_organization == actors.partner.organization
    assert notification.created_by == actors.partner.user


def test_a_foreign_betriebsstaette_is_not_found(actors, notified, stranger):
    from tenants.services.premises import create_betriebsstaette

    foreign = create_betriebsstaette(actor=None, organization=stranger.organization, data={
        "name": "Fremd", "street": "Weg", "house_number": "1", "postal_code": "10115", "city": "Berlin"})
    response = actors.session_client("owner").post(_url("compliance_notifications", actors.owner.org_id),
                                                   {"betriebsstaette": str(foreign.public_id)})
    assert response.status_code == 404
    assert not TaxOfficeNotification.unscoped.exists()


def test_a_refused_generation_is_shown(actors, notified, in_english):
    url = _url("compliance_notifications", actors.owner.org_id)
    response = actors.session_client("owner").post(url, {"betriebsstaette": str(notified["main"].public_id),
                                                         "as_of": "2099-01-01"})
    assert response.status_code == 400
    assert "cannot be dated in the future" in response.content.decode()


def test_the_notifications_page_shows_preview_problems_and_files(actors, generate_on, in_english):
    notification = generate_on()
    body = actors.session_client("owner").get(_url("compliance_notifications", actors.owner.org_id)).content.decode()
    assert "Hauptbetrieb" in body and "KASSE-01" in body and "KASSE-02" in body
    assert 'data-testid="notification-problems"' in body and "a software TSE is not certified" in body
    assert 'data-testid="generate-notification"' in body
    assert notification.sha256[:16] in body
    assert "ELSTER software manufacturer id" in body and "Mitteilung über elektronische Aufzeichnungssysteme" in body
    partner = actors.session_client("partner").get(_url("compliance_notifications", actors.owner.org_id))
    assert 'data-testid="generate-notification"' not in partner.content.decode()


def test_the_xml_download_is_the_stored_file(actors, generate_on):
    notification = generate_on()
    response = actors.session_client("partner").get(
        _url("compliance_notification_xml", actors.owner.org_id, notification_id=notification.public_id))
    assert response.content == notification.xml.encode()
    assert response["X-Content-SHA256"] == notification.sha256
    assert response["Content-Type"].startswith("application/xml")
    assert response["Content-Disposition"] == 'attachment; filename="Aufzeichnung146a_main_001_20260815.xml"'


def test_confirming_through_the_page(actors, generate_on, in_english):
    notification = generate_on()
    url = _url("compliance_notification_confirm", actors.owner.org_id, notification_id=notification.public_id)
    data = {"submitted_on": "2026-08-20", "transfer_ticket": TICKET}
    assert _statuses(actors, "POST", url, data) == {"owner": 302, "partner": 403, "stranger": 404}
    submission = NotificationSubmission.unscoped.get()
    assert submission.submitted_on == dt.date(2026, 8, 20) and submission.confirmed_by == actors.owner.user
    detail = actors.session_client("partner").get(
        _url("compliance_notification", actors.owner.org_id, notification_id=notification.public_id))
    body = detail.content.decode()
    assert 'data-testid="notification-submission"' in body and TICKET in body
    assert 'data-testid="covered-events"' in body and 'data-testid="confirm-form"' not in body
    again = actors.session_client("owner").post(url, data)
    assert again.status_code == 302 and NotificationSubmission.unscoped.count() == 1


def test_a_partner_with_configure_confirms(actors, generate_on, configure_partner):
    notification = generate_on()
    url = _url("compliance_notification_confirm", actors.owner.org_id, notification_id=notification.public_id)
    response = actors.session_client("partner").post(url, {"submitted_on": "2026-08-20", "transfer_ticket": TICKET})
    assert response.status_code == 302 and NotificationSubmission.unscoped.get().confirmed_by == actors.partner.user


@pytest.mark.parametrize(("submitted_on", "message"), [
    ("2026-08-01", "it cannot have been submitted before"),
    ("2099-01-01", "lies in the future"),
    ("", "This field is required"),
])
def test_a_wrong_confirmation_is_shown(actors, generate_on, in_english, submitted_on, message):
    notification = generate_on()
    url = _url("compliance_notification_confirm", actors.owner.org_id, notification_id=notification.public_id)
    response = actors.session_client("owner").post(url, {"submitted_on": submitted_on, "transfer_ticket": TICKET})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NotificationSubmission.unscoped.exists()


def test_the_detail_page_shows_the_content_and_the_form(actors, generate_on, in_english):
    notification = generate_on()
    body = actors.session_client("owner").get(
        _url("compliance_notification", actors.owner.org_id, notification_id=notification.public_id)).content.decode()
    assert notification.sha256 in body and "21/815/08150" in body and "Bäckerei Beispiel GmbH" in body
    assert "03.08.2026" in body and "sold" in body
    assert 'data-testid="confirm-form"' in body and 'data-testid="notification-download"' in body
    partner = actors.session_client("partner").get(
        _url("compliance_notification", actors.owner.org_id, notification_id=notification.public_id))
    assert 'data-testid="confirm-form"' not in partner.content.decode()


def test_the_deadline_list_marks_overdue_events(actors, notified, in_english):
    body = actors.session_client("owner").get(_url("compliance_deadlines", actors.owner.org_id)).content.decode()
    assert 'data-testid="deadline-row"' in body
    assert "TSE replaced" in body and "20.08.2026" in body  # 20 July + one month
    assert "table-danger" in body and 'data-testid="deadlines-overdue"' in body  # the machine's today is later


def test_covered_events_leave_the_deadline_list(actors, generate_on, in_english):
    confirm(generate_on(), dt.date(2026, 8, 15))
    body = actors.session_client("owner").get(_url("compliance_deadlines", actors.owner.org_id)).content.decode()
    assert 'data-testid="deadlines-empty"' in body


def test_the_hub_shows_the_cards_and_the_navigation(actors, generate_on, in_english):
    generate_on()
    body = actors.session_client("owner").get(_url("compliance", actors.owner.org_id)).content.decode()
    assert 'data-testid="centre-deadlines"' in body and 'data-testid="centre-notifications"' in body
    assert "No. 1" in body and "not submitted" in body
    assert 'data-testid="nav-compliance"' in body
    dealer = actors.session_client("partner").get(reverse("dashboard", kwargs={"org_id": actors.partner.org_id}))
    assert 'data-testid="nav-compliance"' not in dealer.content.decode()
