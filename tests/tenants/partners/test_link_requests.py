"""An existing operator asks a dealer to be linked (by dealer id or a member's e-mail); the dealer
accepts or declines; one operator may work with several dealers."""

import pytest

from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import DealerLink, LinkStatus, RoleKind
from tenants.services import partners as svc
from tests.factories import make_organization, make_user
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


def _request_api(operator):
    return f"/api/v1/organizations/{operator.org_id}/dealer-link-requests"


def _dealer_api(dealer):
    return f"/api/v1/organizations/{dealer.org_id}/link-requests"


def test_request_by_id_and_accept(existing_operator, dealer):
    response = existing_operator.client.post(_request_api(existing_operator), {"dealer_id": dealer.org_id},
                                             content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested" and body["dealer"]["id"] == dealer.org_id
    assert [r["id"] for r in existing_operator.client.get(_request_api(existing_operator)).json()["results"]] == [
        body["id"]]
    received = dealer.client.get(_dealer_api(dealer)).json()["results"]
    assert [(r["id"], r["operator"]["name"]) for r in received] == [(body["id"], "Olli Imbiss GmbH")]
    for organization in (existing_operator.organization, dealer.organization):
        entry = LogEntry.unscoped.get(action="tenants.dealer_link.requested", organization=organization)
        assert entry.actor_user == existing_operator.user and entry.data["requested_by"] == "olli@operator.example"
    # a requested link gives the dealer nothing yet
    assert dealer.client.get(f"/o/{existing_operator.org_id}/").status_code == 404

    response = dealer.client.post(f"{_dealer_api(dealer)}/{body['id']}/accept")
    assert response.status_code == 200 and response.json()["status"] == "active"
    link = DealerLink.unscoped.get(public_id=body["id"])
    assert link.status == LinkStatus.ACTIVE and link.activated_at
    for organization in (existing_operator.organization, dealer.organization):
        assert LogEntry.unscoped.filter(action="tenants.dealer_link.accepted", organization=organization,
                                        actor_user=dealer.user).exists()
    assert dealer.client.get(_dealer_api(dealer)).json()["results"] == []
    assert_envelope(dealer.client.post(f"{_dealer_api(dealer)}/{body['id']}/decline"), 409, "E_LINK_REQUEST_CLOSED")
    # now the operator may grant rights
    rights = f"/api/v1/organizations/{existing_operator.org_id}/dealers/{dealer.org_id}/rights/read"
    assert existing_operator.client.put(rights).json() == {"rights": ["read"]}
    assert dealer.client.get(f"/o/{existing_operator.org_id}/").status_code == 200


def test_request_by_member_email_through_the_page_and_decline(existing_operator, dealer):
    response = existing_operator.client.post(f"/o/{existing_operator.org_id}/partners/request/",
                                             {"dealer": dealer.user.email.upper()})
    assert response.status_code == 302
    link = DealerLink.unscoped.get(organization=existing_operator.organization)
    assert link.dealer == dealer.organization and link.status == LinkStatus.REQUESTED
    page = dealer.client.get(f"/o/{dealer.org_id}/operators/requests/").content.decode()
    assert "Olli Imbiss GmbH" in page
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/requests/{link.public_id}/decline/")
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.status == LinkStatus.ENDED and link.activated_at is None
    for organization in (existing_operator.organization, dealer.organization):
        assert LogEntry.unscoped.filter(action="tenants.dealer_link.declined", organization=organization).exists()
    # declined: the operator may ask again
    again = svc.request_dealer_link(actor=actor_for_user(existing_operator.user),
                                    operator=existing_operator.organization, dealer_id=dealer.org_id)
    assert again.pk != link.pk and again.status == LinkStatus.REQUESTED


def test_page_accept(existing_operator, dealer):
    link = svc.request_dealer_link(actor=actor_for_user(existing_operator.user),
                                   operator=existing_operator.organization, email=dealer.user.email)
    response = dealer.client.post(f"/o/{dealer.org_id}/operators/requests/{link.public_id}/accept/")
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.status == LinkStatus.ACTIVE
    assert dealer.client.post(f"/o/{dealer.org_id}/operators/requests/{link.public_id}/maybe/").status_code == 404


def test_unknown_dealers_and_duplicates_are_refused(existing_operator, dealer, actors):
    api, client = _request_api(existing_operator), existing_operator.client
    assert_envelope(client.post(api, {"email": "nobody@example.com"}, content_type="application/json"), 404,
                    "E_DEALER_NOT_FOUND")
    # an operator organization is not a dealer
    assert_envelope(client.post(api, {"dealer_id": actors.stranger.org_id}, content_type="application/json"), 404,
                    "E_DEALER_NOT_FOUND")
    assert_envelope(client.post(api, {}, content_type="application/json"), 400, "E_VALIDATION")
    assert client.post(api, {"dealer_id": dealer.org_id}, content_type="application/json").status_code == 201
    assert_envelope(client.post(api, {"dealer_id": dealer.org_id}, content_type="application/json"), 409,
                    "E_ALREADY_LINKED")
    response = client.post(f"/o/{existing_operator.org_id}/partners/request/", {"dealer": "nobody@example.com"})
    assert response.status_code == 400
    assert DealerLink.unscoped.count() == 1


def test_the_usage_agreement_comes_before_a_request(dealer):
    user = make_user(full_name="Nina Neu")
    operator = make_organization(user, roles=(RoleKind.OPERATOR,), activate=False)
    from tests.tenants.partners.conftest import verified_client

    client = verified_client(user)
    body = assert_envelope(client.post(f"/api/v1/organizations/{operator.public_id}/dealer-link-requests",
                                       {"dealer_id": dealer.org_id}, content_type="application/json"), 409,
                           "E_AGREEMENT_REQUIRED")
    assert body["message"]
    response = client.post(f"/o/{operator.public_id}/partners/request/", {"dealer": dealer.org_id})
    assert response.status_code == 302 and "/contracts/operator/sign/?next=" in response["Location"]
    assert not DealerLink.unscoped.exists()


def test_an_operator_works_with_several_dealers(existing_operator, dealer):
    other_user = make_user("zweit@haendler.example")
    other = make_organization(other_user, roles=(RoleKind.DEALER,), name="Zweithändler GmbH")
    actor = actor_for_user(existing_operator.user)
    first = svc.request_dealer_link(actor=actor, operator=existing_operator.organization, dealer_id=dealer.org_id)
    second = svc.request_dealer_link(actor=actor, operator=existing_operator.organization, email=other_user.email)
    svc.accept_link_request(actor=actor_for_user(dealer.user), dealer=dealer.organization, link=first)
    svc.accept_link_request(actor=actor_for_user(other_user), dealer=other, link=second)
    body = existing_operator.client.get(f"/api/v1/organizations/{existing_operator.org_id}/dealers").json()
    assert sorted(r["dealer"]["name"] for r in body["results"]) == ["Partner Kassenhandel GmbH", "Zweithändler GmbH"]
    # a dealer sees only its own request, not the other dealer's
    assert dealer.client.get(f"{_dealer_api(dealer)}?status=active").json()["count"] == 1
    assert_envelope(dealer.client.post(f"{_dealer_api(dealer)}/{second.public_id}/accept"), 404)
