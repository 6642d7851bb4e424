import pytest

from portal.models import LogEntry, OutgoingMail
from tenants.models import Membership, MembershipRole, Organization, RoleStatus, User
from tests.portal.conftest import PASSWORD, REGISTRATION, last_link

pytestmark = pytest.mark.django_db


def test_it_registers_company_with_owner_and_pending_roles(client, django_capture_on_commit_callbacks):
    data = {**REGISTRATION, "roles": ["dealer", "operator"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/register/", data)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/register/done/"
    user = User.objects.get(email="anna@example.com")
    org = Organization.objects.get(name="Muster GmbH")
    assert user.check_password(PASSWORD)
    assert user.password.startswith("argon2$")
    assert user.email_confirmed_at is None
    membership = Membership.objects.get(user=user, organization=org)
    assert membership.role == MembershipRole.OWNER
    assert sorted((r.kind, r.status) for r in org.roles.all()) == [
        ("dealer", RoleStatus.PENDING), ("operator", RoleStatus.PENDING)]
    assert LogEntry.objects.filter(organization=org, action="tenants.organization.registered").exists()
    mail = OutgoingMail.objects.get(to="anna@example.com")
    assert mail.state == OutgoingMail.State.SENT
    assert "/accounts/confirm/" in mail.body_text


def test_it_rejects_bad_registration_without_writing_anything(client):
    data = {**REGISTRATION, "vat_id": "DE12", "postal_code": "1011", "password2": "different-2026-x"}
    response = client.post("/accounts/register/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "DE136695976" in body  # the VAT id hint
    assert User.objects.count() == 0 and Organization.objects.count() == 0
    assert OutgoingMail.objects.count() == 0


def test_it_refuses_a_second_account_for_the_same_email(client, registered):
    response = client.post("/accounts/register/", {**REGISTRATION, "name": "Andere GmbH"})
    assert response.status_code == 200
    assert Organization.objects.count() == 1


def test_login_is_refused_until_email_is_confirmed(client):
    client.post("/accounts/register/", REGISTRATION)
    response = client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    response = client.get(last_link(REGISTRATION["email"]))
    assert response.status_code == 302
    assert User.objects.get(email=REGISTRATION["email"]).email_confirmed_at is not None
    response = client.post("/accounts/login/", {"username": REGISTRATION["email"], "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_a_tampered_confirmation_link_fails(client):
    client.post("/accounts/register/", REGISTRATION)
    link = last_link(REGISTRATION["email"])
    response = client.get(link[:-3] + "xyz/")
    assert response.status_code == 400
    assert User.objects.get(email=REGISTRATION["email"]).email_confirmed_at is None


def test_an_expired_confirmation_link_fails(client, settings):
    import time_machine

    client.post("/accounts/register/", REGISTRATION)
    link = last_link(REGISTRATION["email"])
    with time_machine.travel(settings.EMAIL_CONFIRMATION_MAX_AGE + 3600 + __import__("time").time()):
        response = client.get(link)
    assert response.status_code == 400
    assert User.objects.get(email=REGISTRATION["email"]).email_confirmed_at is None
