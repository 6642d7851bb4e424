"""Three actors for every endpoint and page of the partners feature.

Dealer side: the resources of the dealer ``partner``; the operator ``owner`` (which granted the
partner a right, not the other way round) and the ``stranger`` get 404. Operator side: the
resources of ``owner``; the ``partner`` acting in the owner's account gets 404 as well (who may
access an account is members-only), so does the ``stranger``. Missing right: a ``member``-role
user and API keys may read but not change (403); an organization without dealer role gets 403
``E_ROLE_INACTIVE`` on dealer resources.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.tenancy import actor_for_user
from tenants.models import AccessGrant, DealerLink, LinkStatus, OperatorInvitation
from tenants.services import partners as svc
from tests.helpers import assert_actors, assert_envelope
from tests.tenants.partners.conftest import csv_file, invitation_data

pytestmark = pytest.mark.django_db

GOOD_ROW = "Café Sonne GmbH;Sonnenallee 1;12045;Berlin;DE;Sina;Sonne;sina@sonne.example;;;K-1;;read"


@pytest.fixture
def world(actors):
    """An invitation and an import of the dealer (partner), a link request of the stranger to it, and
    an active link owner ↔ partner (the fixture grant of ``read`` stays)."""
    partner_actor = actor_for_user(actors.partner.user)
    invitation, _token = svc.invite_operator(actor=partner_actor, dealer=actors.partner.organization,
                                             data=invitation_data())
    batch = svc.import_invitations_csv(actor=partner_actor, dealer=actors.partner.organization,
                                       content=csv_file(GOOD_ROW), filename="a.csv")
    request = svc.request_dealer_link(actor=actor_for_user(actors.stranger.user),
                                      operator=actors.stranger.organization, dealer_id=actors.partner.org_id)
    DealerLink.unscoped.create(organization=actors.owner.organization, dealer=actors.partner.organization,
                               status=LinkStatus.ACTIVE)
    return {"invitation": invitation, "import": batch, "request": request}


def _dealer(actors, path=""):
    return f"/api/v1/organizations/{actors.partner.org_id}/{path}"


def _operator(actors, path=""):
    return f"/api/v1/organizations/{actors.owner.org_id}/{path}"


# --- API, dealer side ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["operator-invitations", "operator-invitations/{invitation}", "operators",
                                  "link-requests"])
def test_dealer_reads(actors, world, path):
    url = _dealer(actors, path.format(invitation=world["invitation"].public_id))
    assert_actors(actors.api_client, "GET", url, {"owner": 404, "partner": 200, "stranger": 404})
    assert_actors(actors.member_client, "GET", url, {"owner": 404, "partner": 200, "stranger": 404})


def test_dealer_create_invitation(actors, world):
    url = _dealer(actors, "operator-invitations")
    data = invitation_data(contact_email="neu@example.com")
    assert_actors(actors.session_client, "POST", url, {"owner": 404, "stranger": 404, "partner": 201}, data)
    # missing right: a member and a (write) API key may not invite
    data = invitation_data(contact_email="other@example.com")
    assert_actors(actors.member_client, "POST", url, {"partner": (403, "E_PERMISSION_DENIED")}, data)
    assert_actors(actors.api_client, "POST", url, {"partner": (403, "E_PERMISSION_DENIED")}, data)
    assert not OperatorInvitation.unscoped.filter(contact_email="other@example.com").exists()


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_dealer_invitation_actions(actors, world, action):
    url = _dealer(actors, f"operator-invitations/{world['invitation'].public_id}/{action}")
    assert_actors(actors.member_client, "POST", url, {"partner": (403, "E_PERMISSION_DENIED")})
    assert_actors(actors.session_client, "POST", url, {"owner": 404, "stranger": 404, "partner": 200})


def test_dealer_import(actors, world):
    url = _dealer(actors, "operator-invitations/import")
    for name, expected in (("owner", 404), ("stranger", 404), ("partner", 201)):
        upload = SimpleUploadedFile("b.csv", csv_file(GOOD_ROW.replace("sina@", f"{name}@")))
        response = actors.session_client(name).post(url, {"file": upload})
        assert response.status_code == expected, name
    upload = SimpleUploadedFile("c.csv", csv_file(GOOD_ROW.replace("sina@", "member@")))
    assert_envelope(actors.member_client("partner").post(url, {"file": upload}), 403, "E_PERMISSION_DENIED")


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_dealer_link_request_answers(actors, world, answer):
    url = _dealer(actors, f"link-requests/{world['request'].public_id}/{answer}")
    assert_actors(actors.member_client, "POST", url, {"partner": (403, "E_PERMISSION_DENIED")})
    assert_actors(actors.session_client, "POST", url, {"owner": 404, "stranger": 404, "partner": 200})


def test_an_operator_cannot_use_dealer_endpoints_of_its_own(actors, world):
    url = _operator(actors, "operator-invitations")
    assert_actors(actors.session_client, "GET", url, {"owner": (403, "E_ROLE_INACTIVE"), "partner": 404,
                                                      "stranger": 404})
    assert_actors(actors.session_client, "GET", _operator(actors, "operators"),
                  {"owner": (403, "E_ROLE_INACTIVE")})


def test_foreign_ids_under_ones_own_dealer_url_are_404(actors, world):
    """The stranger (made a dealer) cannot reach the partner's invitation through its own URL."""
    from tenants.models import OrganizationRole, RoleKind, RoleStatus

    OrganizationRole.unscoped.create(organization=actors.stranger.organization, kind=RoleKind.DEALER,
                                     status=RoleStatus.ACTIVE)
    client = actors.session_client("stranger")
    base = f"/api/v1/organizations/{actors.stranger.org_id}"
    invitation = world["invitation"].public_id
    assert_envelope(client.get(f"{base}/operator-invitations/{invitation}"), 404, "E_NOT_FOUND")
    assert_envelope(client.post(f"{base}/operator-invitations/{invitation}/revoke"), 404, "E_NOT_FOUND")
    assert_envelope(client.post(f"{base}/link-requests/{world['request'].public_id}/accept"), 404, "E_NOT_FOUND")
    assert client.get(f"{base}/operator-invitations").json()["count"] == 0
    world["invitation"].refresh_from_db()
    assert world["invitation"].status == "open"


# --- API, operator side --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["dealers", "dealers/{dealer}", "dealers/{dealer}/rights", "dealer-link-requests"])
def test_operator_reads(actors, world, path):
    url = _operator(actors, path.format(dealer=actors.partner.org_id))
    assert_actors(actors.api_client, "GET", url, {"owner": 200, "partner": 404, "stranger": 404})
    assert_actors(actors.member_client, "GET", url, {"owner": 200, "partner": 404, "stranger": 404})


def test_operator_rights_writes(actors, world):
    rights = _operator(actors, f"dealers/{actors.partner.org_id}/rights")
    assert_actors(actors.member_client, "PUT", rights, {"owner": (403, "E_PERMISSION_DENIED")}, {"rights": []})
    assert_actors(actors.api_client, "PUT", rights, {"owner": (403, "E_PERMISSION_DENIED")}, {"rights": []})
    assert_actors(actors.session_client, "PUT", rights, {"partner": 404, "stranger": 404, "owner": 200},
                  {"rights": ["read", "configure"]})
    one = f"{rights}/entitlements"
    assert_actors(actors.member_client, "PUT", one, {"owner": (403, "E_PERMISSION_DENIED")})
    assert_actors(actors.session_client, "PUT", one, {"partner": 404, "stranger": 404, "owner": 200})
    assert_actors(actors.member_client, "DELETE", one, {"owner": (403, "E_PERMISSION_DENIED")})
    assert_actors(actors.session_client, "DELETE", one, {"partner": 404, "stranger": 404, "owner": 200})
    held = set(AccessGrant.unscoped.filter(organization=actors.owner.organization, revoked_at__isnull=True)
               .values_list("right", flat=True))
    assert held == {"read", "configure"}


def test_operator_end_link(actors, world):
    url = _operator(actors, f"dealers/{actors.partner.org_id}")
    assert_actors(actors.member_client, "DELETE", url, {"owner": (403, "E_PERMISSION_DENIED")})
    assert_actors(actors.session_client, "DELETE", url, {"partner": 404, "stranger": 404, "owner": 204})


def test_operator_link_request(actors, world):
    from tenants.models import OrganizationRole, RoleKind, RoleStatus

    OrganizationRole.unscoped.create(organization=actors.stranger.organization, kind=RoleKind.DEALER,
                                     status=RoleStatus.ACTIVE)
    url = _operator(actors, "dealer-link-requests")
    data = {"dealer_id": actors.stranger.org_id}
    assert_actors(actors.member_client, "POST", url, {"owner": (403, "E_PERMISSION_DENIED")}, data)
    assert_actors(actors.session_client, "POST", url, {"partner": 404, "stranger": 404, "owner": 201}, data)


# --- pages ---------------------------------------------------------------------------------------

DEALER_PAGES = ["operators/", "operators/invitations/", "operators/invitations/new/", "operators/import/",
                "operators/import/{import}/", "operators/requests/"]
MANAGE_PAGES = {"operators/invitations/new/", "operators/import/"}


@pytest.mark.parametrize("page", DEALER_PAGES)
def test_dealer_pages(actors, world, page):
    url = f"/o/{actors.partner.org_id}/" + page.format(**{"import": world["import"].public_id})
    for name, expected in (("owner", 404), ("partner", 200), ("stranger", 404)):
        assert actors.session_client(name).get(url).status_code == expected, name
    member = actors.member_client("partner").get(url).status_code
    assert member == (403 if page in MANAGE_PAGES else 200)


@pytest.mark.parametrize("page", ["operators/invitations/{invitation}/resend/",
                                  "operators/invitations/{invitation}/revoke/",
                                  "operators/requests/{request}/accept/", "operators/requests/{request}/decline/"])
def test_dealer_page_actions(actors, world, page):
    url = f"/o/{actors.partner.org_id}/" + page.format(invitation=world["invitation"].public_id,
                                                       request=world["request"].public_id)
    assert actors.member_client("partner").post(url).status_code == 403
    for name in ("owner", "stranger"):
        assert actors.session_client(name).post(url).status_code == 404, name
    assert actors.session_client("partner").post(url).status_code == 302


def test_dealer_pages_need_the_dealer_role(actors):
    response = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/operators/")
    assert response.status_code == 403 and 'data-testid="role-inactive"' in response.content.decode()


def test_operator_pages(actors, world):
    pages = f"/o/{actors.owner.org_id}/partners/"
    for name, expected in (("owner", 200), ("partner", 404), ("stranger", 404)):
        assert actors.session_client(name).get(pages).status_code == expected, name
    assert actors.member_client("owner").get(pages).status_code == 200
    right = f"{pages}{actors.partner.org_id}/rights/configure/"
    assert actors.member_client("owner").post(right, {"granted": "1"}).status_code == 403
    for name in ("partner", "stranger"):
        assert actors.session_client(name).post(right, {"granted": "1"}).status_code == 404, name
    assert not AccessGrant.unscoped.filter(right="configure").exists()
    assert actors.session_client("owner").post(right, {"granted": "1"}).status_code == 302
    assert AccessGrant.unscoped.filter(right="configure", revoked_at__isnull=True).count() == 1
    request = f"{pages}request/"
    assert actors.member_client("owner").post(request, {"dealer": actors.partner.org_id}).status_code == 403
    for name in ("partner", "stranger"):
        assert actors.session_client(name).post(request, {"dealer": actors.partner.org_id}).status_code == 404
    end = f"{pages}{actors.partner.org_id}/end/"
    assert actors.member_client("owner").post(end).status_code == 403
    for name in ("partner", "stranger"):
        assert actors.session_client(name).post(end).status_code == 404, name
    assert actors.session_client("owner").post(end).status_code == 302
    assert not AccessGrant.unscoped.filter(organization=actors.owner.organization, revoked_at__isnull=True).exists()


def test_the_acceptance_step_belongs_to_the_operator_that_took_up_the_invitation(actors, world):
    invitation = world["invitation"]
    OperatorInvitation.unscoped.filter(pk=invitation.pk).update(operator=actors.owner.organization)
    url = f"/o/{actors.owner.org_id}/partners/invitations/{invitation.public_id}/"
    assert actors.session_client("owner").get(url).status_code == 200
    assert actors.member_client("owner").get(url).status_code == 403
    for name in ("partner", "stranger"):
        assert actors.session_client(name).get(url).status_code == 404, name
    other = f"/o/{actors.stranger.org_id}/partners/invitations/{invitation.public_id}/"
    assert actors.session_client("stranger").get(other).status_code == 404


def test_navigation_entries(actors):
    dealer_page = actors.session_client("partner").get(f"/o/{actors.partner.org_id}/").content.decode()
    assert 'data-testid="nav-operators"' in dealer_page and 'data-testid="nav-dealers"' not in dealer_page
    operator_page = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-testid="nav-dealers"' in operator_page and 'data-testid="nav-operators"' not in operator_page
    acting = actors.session_client("partner").get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-testid="nav-dealers"' not in acting  # a dealer acting for the operator


def test_the_admin_lists_and_revokes_invitations(actors, world):
    from django.test import Client

    from tests.factories import make_user

    staff = make_user("staff@kassenportal.example", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    for model in ("operatorinvitation", "dealerlink", "invitationimport"):
        assert client.get(f"/admin/tenants/{model}/").status_code == 200, model
    invitation = world["invitation"]
    page = client.get(f"/admin/tenants/operatorinvitation/{invitation.pk}/change/").content.decode()
    assert invitation.token_digest not in page
    response = client.post("/admin/tenants/operatorinvitation/", {"action": "revoke",
                                                                  "_selected_action": [invitation.pk]})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
