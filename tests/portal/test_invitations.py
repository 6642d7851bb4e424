import pytest
from django.utils import timezone

from portal.models import LogEntry
from tenants.models import ColleagueInvitation, Membership, MembershipRole, User
from tests.portal.conftest import PASSWORD, last_link, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner_with_2fa):
    user, device = owner_with_2fa
    client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    client.post("/accounts/login/verify/", {"code": totp_code(device)})
    org = Membership.objects.get(user=user).organization
    return client, user, org


def test_owner_invites_a_new_colleague_who_registers_through_the_link(owner_client, client_factory=None):
    from django.test import Client

    client, owner, org = owner_client
    response = client.post(f"/o/{org.public_id}/members/", {"email": "Kollege@Example.com", "role": "member"})
    assert response.status_code == 302
    invitation = ColleagueInvitation.objects.get(organization=org)
    assert invitation.email == "kollege@example.com"
    link = last_link("kollege@example.com")
    assert invitation.token_digest not in link  # only the hash is stored

    guest = Client()
    response = guest.post(link, {"full_name": "Karl Kollege", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    colleague = User.objects.get(email="kollege@example.com")
    assert colleague.email_confirmed_at is not None
    assert Membership.objects.get(user=colleague, organization=org).role == MembershipRole.MEMBER
    assert LogEntry.objects.filter(organization=org, action="tenants.invitation.accepted").exists()
    # single use
    assert guest.get(link).status_code == 404


def test_an_existing_user_accepts_after_login(owner_client):
    from django.test import Client

    client, owner, org = owner_client
    other = User.objects.create_user(email="eva@example.com", password=PASSWORD, full_name="Eva",
                                     email_confirmed_at=timezone.now())
    client.post(f"/o/{org.public_id}/members/", {"email": "eva@example.com", "role": "viewer"})
    link = last_link("eva@example.com")
    eva = Client()
    assert b"Log in" in eva.get(link).content or eva.get(link).status_code == 200
    eva.post("/accounts/login/", {"username": "eva@example.com", "password": PASSWORD})
    response = eva.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(user=other, organization=org).role == MembershipRole.VIEWER


def test_a_revoked_or_expired_invitation_cannot_be_used(owner_client):
    from django.test import Client

    client, owner, org = owner_client
    client.post(f"/o/{org.public_id}/members/", {"email": "a@example.com", "role": "member"})
    client.post(f"/o/{org.public_id}/members/", {"email": "b@example.com", "role": "member"})
    revoked = ColleagueInvitation.objects.get(email="a@example.com")
    client.post(f"/o/{org.public_id}/invitations/{revoked.public_id}/revoke/")
    assert Client().get(last_link("a@example.com")).status_code == 404
    ColleagueInvitation.objects.filter(email="b@example.com").update(expires_at=timezone.now())
    assert Client().get(last_link("b@example.com")).status_code == 404
    assert not User.objects.filter(email__in=["a@example.com", "b@example.com"]).exists()


def test_a_viewer_cannot_invite(owner_client):
    from django.test import Client

    client, owner, org = owner_client
    viewer = User.objects.create_user(email="v@example.com", password=PASSWORD, full_name="V",
                                      email_confirmed_at=timezone.now())
    Membership.objects.create(user=viewer, organization=org, role=MembershipRole.VIEWER)
    c = Client()
    c.force_login(viewer)
    response = c.post(f"/o/{org.public_id}/members/", {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 404
    assert not ColleagueInvitation.objects.filter(email="x@example.com").exists()
