"""Single operator invitations: creation (page and API), validation, duplicates, the dealer role,
expiry and single use of the link, resend, revoke, history, audit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import LogEntry, OutgoingMail
from tenants.models import OperatorInvitation, OrganizationRole, RoleStatus
from tenants.services import partners as svc
from tests.helpers import assert_envelope
from tests.tenants.partners.conftest import invitation_data, last_invitation_token

pytestmark = pytest.mark.django_db


def _api(dealer):
    return f"/api/v1/organizations/{dealer.org_id}/operator-invitations"


def test_a_dealer_invites_an_operator_through_the_api(dealer):
    response = dealer.client.post(_api(dealer), invitation_data(), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["sent_count"] == 1
    assert body["requested_rights"] == ["read", "configure"]
    assert body["contact_email"] == "sina@cafe-sonne.example"
    assert "token" not in body and "token_digest" not in body
    invitation = OperatorInvitation.unscoped.get(public_id=body["id"])
    assert invitation.organization == dealer.organization
    assert invitation.expires_at > timezone.now() + timedelta(days=13)
    mail = OutgoingMail.objects.get(to="sina@cafe-sonne.example")
    assert "Wie besprochen: hier Ihre Einladung." in mail.body_text
    token = last_invitation_token("sina@cafe-sonne.example")
    assert svc.find_invitation(token) == invitation  # the mail carries the only copy of the token
    assert invitation.token_digest != token
    entry = LogEntry.unscoped.get(action="tenants.operator_invitation.created")
    assert entry.organization == dealer.organization and entry.actor_user == dealer.user
    assert entry.data["email"] == "sina@cafe-sonne.example" and entry.data["rights"] == ["read", "configure"]


def test_the_tenant_is_the_dealer_of_the_url_not_the_payload(dealer, actors):
    data = invitation_data(organization=actors.stranger.org_id)
    response = dealer.client.post(_api(dealer), data, content_type="application/json")
    assert response.status_code == 201
    assert OperatorInvitation.unscoped.get().organization == dealer.organization


def test_mandatory_fields_and_formats_are_checked(dealer):
    data = invitation_data(postal_code="1234", country="Germany", contact_email="not-an-address", city="")
    body = assert_envelope(dealer.client.post(_api(dealer), data, content_type="application/json"), 400,
                           "E_VALIDATION")
    assert {"country", "contact_email", "city"} <= set(body["details"])
    body = assert_envelope(dealer.client.post(_api(dealer), invitation_data(postal_code="1234"),
                                              content_type="application/json"), 400, "E_VALIDATION")
    assert set(body["details"]) == {"postal_code"}
    body = assert_envelope(dealer.client.post(_api(dealer), invitation_data(personal_message="x" * 401),
                                              content_type="application/json"), 400, "E_VALIDATION")
    assert "personal_message" in body["details"]
    body = assert_envelope(dealer.client.post(_api(dealer), invitation_data(rights=["read", "root"]),
                                              content_type="application/json"), 400, "E_VALIDATION")
    assert "rights" in body["details"]
    assert not OperatorInvitation.unscoped.exists()


def test_the_same_address_cannot_be_invited_twice(dealer):
    dealer.invite()
    response = dealer.client.post(_api(dealer), invitation_data(contact_email="SINA@cafe-sonne.example"),
                                  content_type="application/json")
    body = assert_envelope(response, 409, "E_ALREADY_INVITED")
    assert body["details"]["status"] == "open"
    assert OperatorInvitation.unscoped.count() == 1


def test_only_an_active_dealer_invites(dealer):
    OrganizationRole.unscoped.filter(organization=dealer.organization).update(status=RoleStatus.PENDING)
    assert_envelope(dealer.client.post(_api(dealer), invitation_data(), content_type="application/json"), 403,
                    "E_ROLE_INACTIVE")
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/invitations/new/", invitation_data())
    assert response.status_code == 403
    assert not OperatorInvitation.unscoped.exists()


def test_an_operator_without_dealer_role_gets_role_inactive(actors):
    from tests.helpers import session_client

    client = session_client(actors.owner.user, actors.owner.device)
    url = f"/api/v1/organizations/{actors.owner.org_id}/operator-invitations"
    assert_envelope(client.post(url, invitation_data(), content_type="application/json"), 403, "E_ROLE_INACTIVE")
    assert_envelope(client.get(url), 403, "E_ROLE_INACTIVE")


def test_a_dealer_invites_through_the_page(dealer):
    data = invitation_data()
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/invitations/new/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/o/{dealer.org_id}/operators/invitations/"
    invitation = OperatorInvitation.unscoped.get()
    assert invitation.requested_rights == ["read", "configure"]
    page = dealer.client.get(response["Location"]).content.decode()
    assert "Café Sonne GmbH" in page and 'data-status="open"' in page


def test_the_page_shows_the_errors_of_the_service(dealer):
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/invitations/new/",
                                  invitation_data(postal_code="1234"))
    assert response.status_code == 200
    assert "five digits" in response.content.decode() or "fünf" in response.content.decode()
    assert not OperatorInvitation.unscoped.exists()


# --- the link: expiry, single use ---------------------------------------------------------------


def test_an_expired_link_is_gone(dealer, client):
    invitation, token = dealer.invite()
    assert client.get(f"/invite/operator/{token}/").status_code == 200
    OperatorInvitation.unscoped.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/invite/operator/{token}/")
    assert response.status_code == 410
    assert 'data-testid="invitation-invalid"' in response.content.decode()
    api = client.get(f"/api/v1/operator-invitations/by-token/{token}")
    body = assert_envelope(api, 410, "E_INVITATION_INVALID")
    assert body["details"] == {"status": "expired"}
    invitation.refresh_from_db()
    assert invitation.status == "expired"


def test_an_unknown_link_is_not_found(client):
    assert client.get("/invite/operator/nonsense/").status_code == 404
    assert_envelope(client.get("/api/v1/operator-invitations/by-token/nonsense"), 404, "E_INVITATION_INVALID")


def test_the_preview_shows_what_the_link_holds(dealer, client):
    _invitation, token = dealer.invite()
    body = client.get(f"/api/v1/operator-invitations/by-token/{token}").json()
    assert body["dealer"]["name"] == dealer.organization.name
    assert body["company_name"] == "Café Sonne GmbH" and body["requested_rights"] == ["read", "configure"]


def test_resend_kills_the_old_link_and_starts_a_new_expiry(dealer, client):
    invitation, old_token = dealer.invite()
    OperatorInvitation.unscoped.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    url = f"{_api(dealer)}/{invitation.public_id}/resend"
    response = dealer.client.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sent_count"] == 2 and body["status"] == "open"
    new_token = last_invitation_token(invitation.contact_email)
    assert new_token != old_token
    assert client.get(f"/invite/operator/{old_token}/").status_code == 404
    assert client.get(f"/invite/operator/{new_token}/").status_code == 200
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=13)
    assert OutgoingMail.objects.filter(to=invitation.contact_email).count() == 2
    assert LogEntry.unscoped.filter(action="tenants.operator_invitation.resent", organization=dealer.organization,
                                    data__sent_count=2).exists()


def test_resend_through_the_page(dealer):
    invitation, _token = dealer.invite()
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/invitations/{invitation.public_id}/resend/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.sent_count == 2


def test_revoke_kills_the_link_and_frees_the_address(dealer, client):
    invitation, token = dealer.invite()
    response = dealer.client.post(f"{_api(dealer)}/{invitation.public_id}/revoke")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert client.get(f"/invite/operator/{token}/").status_code == 410
    assert_envelope(dealer.client.post(f"{_api(dealer)}/{invitation.public_id}/resend"), 409, "E_INVITATION_CLOSED")
    assert_envelope(dealer.client.post(f"{_api(dealer)}/{invitation.public_id}/revoke"), 409, "E_INVITATION_CLOSED")
    assert LogEntry.unscoped.filter(action="tenants.operator_invitation.revoked").count() == 1
    again, _token = dealer.invite()  # a revoked invitation does not block a new one
    assert again.pk != invitation.pk


def test_revoke_through_the_page(dealer):
    invitation, _token = dealer.invite()
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/invitations/{invitation.public_id}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_history_lists_every_status_and_filters(dealer):
    open_, _t = dealer.invite(contact_email="open@example.com")
    expired, _t = dealer.invite(contact_email="expired@example.com")
    OperatorInvitation.unscoped.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    revoked, _t = dealer.invite(contact_email="revoked@example.com")
    svc.revoke_operator_invitation(actor=dealer.actor_obj, invitation=revoked)
    accepted, _t = dealer.invite(contact_email="accepted@example.com")
    OperatorInvitation.unscoped.filter(pk=accepted.pk).update(accepted_at=timezone.now())
    body = dealer.client.get(_api(dealer)).json()
    assert {row["contact_email"]: row["status"] for row in body["results"]} == {
        "open@example.com": "open", "expired@example.com": "expired", "revoked@example.com": "revoked",
        "accepted@example.com": "accepted",
    }
    for status, email in (("open", "open@example.com"), ("expired", "expired@example.com"),
                          ("revoked", "revoked@example.com"), ("accepted", "accepted@example.com")):
        rows = dealer.client.get(_api(dealer), {"status": status}).json()["results"]
        assert [row["contact_email"] for row in rows] == [email], status
    assert_envelope(dealer.client.get(_api(dealer), {"status": "nonsense"}), 400, "E_VALIDATION")
    detail = dealer.client.get(f"{_api(dealer)}/{open_.public_id}").json()
    assert detail["id"] == str(open_.public_id) and detail["registered"] is False
    page = dealer.client.get(f"/o/{dealer.org_id}/operators/invitations/", {"status": "expired"}).content.decode()
    assert "expired@example.com" in page and "open@example.com" not in page
