"""The operator's dealers & rights: one right per click (htmx and plain POST), effective with the
dealer's next request, the full set via the API, ending a link, audit in both organizations."""

import pytest

from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import AccessGrant, DealerLink, LinkStatus
from tenants.services import partners as svc
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(dealer, existing_operator):
    """existing_operator accepted an invitation of dealer, granting read and configure."""
    invitation, token = dealer.invite(contact_email="olli@operator.example", rights=["read", "configure"])
    actor = actor_for_user(existing_operator.user)
    svc.claim_invitation(token=token, user=existing_operator.user, operator=existing_operator.organization)
    svc.accept_operator_invitation(actor=actor, invitation=invitation, operator=existing_operator.organization,
                                   rights=["read", "configure"])
    return existing_operator


def _held(operator, dealer):
    return set(AccessGrant.unscoped.filter(organization=operator.organization, dealer=dealer.organization,
                                           revoked_at__isnull=True).values_list("right", flat=True))


def _right_url(operator, dealer, right):
    return f"/o/{operator.org_id}/partners/{dealer.org_id}/rights/{right}/"


def test_the_page_shows_which_dealer_can_do_what(linked, dealer, actors):
    page = linked.client.get(f"/o/{linked.org_id}/partners/")
    assert page.status_code == 200
    html = page.content.decode()
    assert dealer.organization.name in html
    assert 'data-right="read" data-held="1"' in html and 'data-right="configure" data-held="1"' in html
    assert 'data-right="entitlements" data-held="0"' in html


def test_revoking_a_right_blocks_the_dealers_next_request(linked, dealer):
    operator_api = f"/api/v1/organizations/{linked.org_id}"
    assert dealer.client.patch(operator_api, {"city": "Potsdam", "postal_code": "14467"},
                               content_type="application/json").status_code == 200
    # one click (htmx): configure off
    response = linked.client.post(_right_url(linked, dealer, "configure"), {"granted": "0"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<tr") and 'data-right="configure" data-held="0"' in html
    assert _held(linked, dealer) == {"read"}
    # the dealer's very next request: a configure-only action is refused, reading still works
    assert_envelope(dealer.client.patch(operator_api, {"city": "Leipzig", "postal_code": "04109"},
                                        content_type="application/json"), 403, "E_PERMISSION_DENIED")
    assert dealer.client.get(f"/o/{linked.org_id}/").status_code == 200
    # plain POST fallback: read off -> the operator's account disappears for the dealer
    response = linked.client.post(_right_url(linked, dealer, "read"), {"granted": "0"})
    assert response.status_code == 302 and response["Location"] == f"/o/{linked.org_id}/partners/"
    assert _held(linked, dealer) == set()
    assert dealer.client.get(f"/o/{linked.org_id}/").status_code == 404
    assert_envelope(dealer.client.get(operator_api), 404, "E_NOT_FOUND")
    for organization in (linked.organization, dealer.organization):
        revoked = LogEntry.unscoped.filter(action="tenants.grant.revoked", organization=organization,
                                           actor_user=linked.user)
        assert sorted(revoked.values_list("data__right", flat=True)) == ["configure", "read"]


def test_granting_a_right_in_one_click(linked, dealer):
    response = linked.client.post(_right_url(linked, dealer, "entitlements"), {"granted": "1"},
                                  HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-right="entitlements" data-held="1"' in response.content.decode()
    assert _held(linked, dealer) == {"read", "configure", "entitlements"}
    entries = LogEntry.unscoped.filter(action="tenants.grant.granted", data__right="entitlements")
    assert {e.organization_id for e in entries} == {linked.organization.pk, dealer.organization.pk}
    # granting again changes nothing
    linked.client.post(_right_url(linked, dealer, "entitlements"), {"granted": "1"})
    assert entries.count() == 2


def test_an_unknown_right_or_dealer_is_404(linked, dealer, actors):
    assert linked.client.post(_right_url(linked, dealer, "root"), {"granted": "1"}).status_code == 404
    url = f"/o/{linked.org_id}/partners/{actors.stranger.org_id}/rights/read/"
    assert linked.client.post(url, {"granted": "1"}).status_code == 404
    assert not AccessGrant.unscoped.filter(dealer=actors.stranger.organization).exists()


def test_rights_need_an_active_link(existing_operator, dealer):
    svc.request_dealer_link(actor=actor_for_user(existing_operator.user), operator=existing_operator.organization,
                            dealer_id=dealer.organization.public_id)
    api = f"/api/v1/organizations/{existing_operator.org_id}/dealers/{dealer.org_id}/rights/read"
    assert_envelope(existing_operator.client.put(api), 409, "E_NOT_LINKED")
    response = existing_operator.client.post(_right_url(existing_operator, dealer, "read"), {"granted": "1"},
                                             HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps the row with the error in it
    html = response.content.decode()
    assert 'data-testid="right-error"' in html and 'data-right="read" data-held="0"' in html
    response = existing_operator.client.post(_right_url(existing_operator, dealer, "read"), {"granted": "1"})
    assert response.status_code == 302
    assert not AccessGrant.unscoped.filter(organization=existing_operator.organization).exists()


def test_the_rights_api(linked, dealer):
    base = f"/api/v1/organizations/{linked.org_id}/dealers"
    body = linked.client.get(base).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["dealer"]["id"] == dealer.org_id and row["status"] == "active"
    assert row["rights"] == ["read", "configure"] and row["link"]["status"] == "active"
    assert linked.client.get(f"{base}/{dealer.org_id}").json()["rights"] == ["read", "configure"]
    rights_url = f"{base}/{dealer.org_id}/rights"
    assert linked.client.get(rights_url).json() == {"rights": ["read", "configure"]}
    response = linked.client.put(rights_url, {"rights": ["read", "sign_contracts"]}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"rights": ["read", "sign_contracts"]}
    assert _held(linked, dealer) == {"read", "sign_contracts"}
    assert LogEntry.unscoped.filter(action="tenants.grant.revoked", organization=linked.organization,
                                    data__right="configure").exists()
    assert_envelope(linked.client.put(rights_url, {"rights": ["admin"]}, content_type="application/json"), 400,
                    "E_VALIDATION")
    assert linked.client.delete(f"{rights_url}/sign_contracts").json() == {"rights": ["read"]}
    assert linked.client.put(f"{rights_url}/configure").json() == {"rights": ["read", "configure"]}
    assert_envelope(linked.client.put(f"{rights_url}/admin"), 404)
    assert linked.client.put(rights_url, {"rights": []}, content_type="application/json").json() == {"rights": []}
    assert dealer.client.get(f"/o/{linked.org_id}/").status_code == 404


def test_ending_the_link_revokes_all_rights(linked, dealer):
    response = linked.client.post(f"/o/{linked.org_id}/partners/{dealer.org_id}/end/")
    assert response.status_code == 302
    link = DealerLink.unscoped.get(organization=linked.organization)
    assert link.status == LinkStatus.ENDED and link.ended_at
    assert _held(linked, dealer) == set()
    assert dealer.client.get(f"/o/{linked.org_id}/").status_code == 404
    for organization in (linked.organization, dealer.organization):
        entry = LogEntry.unscoped.get(action="tenants.dealer_link.ended", organization=organization)
        assert entry.data["revoked_rights"] == ["read", "configure"]
        assert LogEntry.unscoped.filter(action="tenants.grant.revoked", organization=organization).count() == 2
    # the relation is gone; a new invitation may link again
    assert_envelope(linked.client.get(f"/api/v1/organizations/{linked.org_id}/dealers/{dealer.org_id}"), 404)


def test_ending_the_link_through_the_api(linked, dealer):
    url = f"/api/v1/organizations/{linked.org_id}/dealers/{dealer.org_id}"
    assert linked.client.delete(url).status_code == 204
    assert _held(linked, dealer) == set()
    assert DealerLink.unscoped.get().status == LinkStatus.ENDED


def test_rights_granted_without_a_link_are_shown_and_can_be_revoked(actors):
    """The fixture dealer holds ``read`` of the owner without a link: visible, revocable, not extendable."""
    from tests.helpers import session_client

    owner = session_client(actors.owner.user, actors.owner.device)
    html = owner.get(f"/o/{actors.owner.org_id}/partners/").content.decode()
    assert actors.partner.organization.name in html and 'data-status="unlinked"' in html
    url = f"/api/v1/organizations/{actors.owner.org_id}/dealers/{actors.partner.org_id}/rights"
    assert_envelope(owner.put(f"{url}/configure"), 409, "E_NOT_LINKED")
    assert owner.delete(f"{url}/read").json() == {"rights": []}
    assert actors.session_client("partner").get(f"/o/{actors.owner.org_id}/").status_code == 404


def test_revoking_the_last_right_of_an_unlinked_dealer_removes_its_row(actors):
    from tests.helpers import session_client

    owner = session_client(actors.owner.user, actors.owner.device)
    url = f"/o/{actors.owner.org_id}/partners/{actors.partner.org_id}/rights/read/"
    response = owner.post(url, {"granted": "0"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert not AccessGrant.unscoped.filter(organization=actors.owner.organization, revoked_at__isnull=True).exists()
    assert 'data-testid="dealers-empty"' in owner.get(f"/o/{actors.owner.org_id}/partners/").content.decode()
