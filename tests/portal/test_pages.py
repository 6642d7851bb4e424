import pytest
from django.test import Client
from django.utils import timezone

from portal.models import LogEntry
from portal.services.audit import log_action
from tenants.models import Membership, MembershipRole, Organization, User
from tenants.services.organizations import create_organization
from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ORG = {"name": "Zweite GmbH", "legal_form": "gmbh", "street": "Weg 2", "postal_code": "20095", "city": "Hamburg"}


@pytest.fixture
def member():
    """A member (no 2FA needed) of two organizations."""
    user = User.objects.create_user(email="m@example.com", password=PASSWORD, full_name="Mia Member",
                                    email_confirmed_at=timezone.now())
    owner = User.objects.create_user(email="o@example.com", password=PASSWORD, full_name="Otto Owner",
                                     email_confirmed_at=timezone.now())
    first = create_organization(owner=owner, data={**ORG, "name": "Erste GmbH"}, roles=["operator"])
    second = create_organization(owner=owner, data=ORG, roles=["dealer"])
    for org in (first, second):
        Membership.objects.create(user=user, organization=org, role=MembershipRole.MEMBER)
    client = Client()
    client.force_login(user)
    return client, user, first, second


def test_every_page_shows_the_sandbox_banner_in_german_by_default(member):
    client, _user, first, _second = member
    response = client.get(f"/o/{first.public_id}/")
    body = response.content.decode()
    assert 'data-testid="sandbox-banner"' in body
    assert '<html lang="de">' in body
    assert Client().get("/accounts/login/").content.decode().count('data-testid="sandbox-banner"') == 1


def test_no_banner_in_a_live_deployment(member, settings):
    settings.PORTAL_ENVIRONMENT = "live"
    client, _user, first, _second = member
    assert 'data-testid="sandbox-banner"' not in client.get(f"/o/{first.public_id}/").content.decode()


def test_pages_switch_to_english(member):
    client, _user, first, _second = member
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get(f"/o/{first.public_id}/").content.decode()
    assert '<html lang="en">' in body and "Log out" in body


def test_the_switcher_lists_the_users_organizations_and_switches(member):
    client, _user, first, second = member
    body = client.get(f"/o/{first.public_id}/").content.decode()
    assert 'data-testid="org-switcher"' in body and "Erste GmbH" in body and "Zweite GmbH" in body
    response = client.post("/switch/", {"organization": str(second.public_id)})
    assert response["Location"] == f"/o/{second.public_id}/"
    client.get(response["Location"])
    assert client.get("/")["Location"] == f"/o/{second.public_id}/"


def test_the_switcher_refuses_foreign_organizations(member):
    client, _user, _first, _second = member
    foreign = create_organization(
        owner=User.objects.create_user(email="f@example.com", password=PASSWORD, full_name="F"),
        data={**ORG, "name": "Fremd AG"}, roles=["operator"])
    response = client.post("/switch/", {"organization": str(foreign.public_id)})
    assert response["Location"] == "/"
    assert client.get(f"/o/{foreign.public_id}/").status_code == 404
    assert client.get(f"/o/{foreign.public_id}/audit/").status_code == 404


def test_dashboard_tells_a_new_operator_what_to_do_next(member):
    client, _user, first, _second = member
    body = client.get(f"/o/{first.public_id}/").content.decode()
    assert 'data-testid="role-card-operator"' in body
    # German default: the pending role asks to sign the usage agreement
    assert "Nutzungsvereinbarung" in body


def test_audit_page_lists_and_filters_entries_of_its_organization_only(member):
    client, user, first, second = member
    log_action("tenants.apikey.created", user, first, first, {"name": "k1"})
    log_action("tenants.apikey.revoked", user, first, first, {"name": "k1"})
    log_action("tenants.apikey.created", user, second, second, {"name": "other-org"})
    response = client.get(f"/o/{first.public_id}/audit/")
    actions = [entry.action for entry in response.context["page"]]
    assert "tenants.apikey.created" in actions and "tenants.apikey.revoked" in actions
    assert all(entry.organization_id == first.pk for entry in response.context["page"])
    response = client.get(f"/o/{first.public_id}/audit/", {"action": "tenants.apikey.revoked"})
    assert [entry.action for entry in response.context["page"]] == ["tenants.apikey.revoked"]
    response = client.get(f"/o/{first.public_id}/audit/", {"action": "tenants.apikey.revoked"},
                          HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "portal/partials/audit_rows.html"


def test_viewers_see_no_audit_log(member):
    client, user, first, _second = member
    Membership.objects.filter(user=user, organization=first).update(role=MembershipRole.VIEWER)
    assert client.get(f"/o/{first.public_id}/audit/").status_code == 403


def test_company_data_can_be_changed_by_admins_only_and_is_audited(member):
    client, user, first, _second = member
    data = {**ORG, "name": "Erste GmbH & Co. KG", "country": "DE", "tax_number": "21/815/08150",
            "vat_id": "de 136695976"}
    assert client.post(f"/o/{first.public_id}/settings/", data).status_code == 403
    Membership.objects.filter(user=user, organization=first).update(role=MembershipRole.ADMIN)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="x", confirmed=True)
    from django_otp import DEVICE_ID_SESSION_KEY

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = client.post(f"/o/{first.public_id}/settings/", data)
    assert response.status_code == 302
    first = Organization.objects.get(pk=first.pk)
    assert first.name == "Erste GmbH & Co. KG" and first.vat_id == "DE136695976"
    entry = LogEntry.objects.get(organization=first, action="tenants.organization.changed")
    assert entry.data["changes"]["name"]["new"] == "Erste GmbH & Co. KG"
    assert entry.actor_user == user


def test_api_keys_page_shows_a_new_key_once(member):
    client, user, first, _second = member
    Membership.objects.filter(user=user, organization=first).update(role=MembershipRole.ADMIN)
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="x", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = client.post(f"/o/{first.public_id}/api-keys/", {"name": "Kasse 1", "can_write": "on"})
    key = response.context["new_key"]
    assert key.startswith("kp_test_") and response["Cache-Control"] == "no-store"
    assert key not in client.get(f"/o/{first.public_id}/api-keys/").content.decode()
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    api_key = first.api_keys.get()
    response = client.post(f"/o/{first.public_id}/api-keys/{api_key.public_id}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"revoked" in response.content.lower() or b"widerrufen" in response.content
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
