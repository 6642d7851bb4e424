import time

import pytest
import time_machine
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import LogEntry
from tenants.models import Membership, MembershipRole
from tests.portal.conftest import PASSWORD, REGISTRATION, totp_code

pytestmark = pytest.mark.django_db

LOGIN = {"username": REGISTRATION["email"], "password": PASSWORD}


def _org_url(user):
    return f"/o/{Membership.objects.get(user=user).organization.public_id}/"


def test_owner_without_2fa_is_sent_to_setup_and_cannot_use_pages_or_api(client, registered):
    response = client.post("/accounts/login/", LOGIN)
    assert response["Location"] == "/accounts/2fa/setup/"
    response = client.get(_org_url(registered))
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/setup/"
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["code"] == "E_TWO_FACTOR_SETUP_REQUIRED"


def test_setup_with_a_wrong_code_keeps_2fa_off(client, registered):
    client.post("/accounts/login/", LOGIN)
    client.get("/accounts/2fa/setup/")
    response = client.post("/accounts/2fa/setup/", {"code": "000000"})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=registered, confirmed=True).exists()


def test_setup_with_the_right_code_enables_2fa_and_shows_ten_backup_codes(client, registered):
    client.post("/accounts/login/", LOGIN)
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=registered, confirmed=False)
    response = client.post("/accounts/2fa/setup/", {"code": totp_code(device)})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.filter(user=registered, confirmed=True).count() == 1
    assert client.get(_org_url(registered)).status_code == 200
    assert LogEntry.objects.filter(action="tenants.user.two_factor_enabled", actor_user=registered).exists()


def test_login_with_2fa_needs_the_totp_code(client, owner_with_2fa):
    user, device = owner_with_2fa
    response = client.post("/accounts/login/", LOGIN)
    assert response["Location"] == "/accounts/login/verify/"
    assert "_auth_user_id" not in client.session  # not logged in after the password alone
    assert client.get(_org_url(user)).status_code == 302
    response = client.post("/accounts/login/verify/", {"code": "123456" if totp_code(device) != "123456" else "654321"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    # django-otp throttles a device after a failure (1 s after the first): the right code waits
    response = client.post("/accounts/login/verify/", {"code": totp_code(device)})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    with time_machine.travel(time.time() + 2):
        response = client.post("/accounts/login/verify/", {"code": totp_code(device)})
    assert response.status_code == 302
    assert client.get(_org_url(user)).status_code == 200


def test_a_backup_code_works_once(client, owner_with_2fa):
    from portal.services.two_factor import regenerate_backup_codes

    user, _device = owner_with_2fa
    codes = regenerate_backup_codes(user)
    client.post("/accounts/login/", LOGIN)
    response = client.post("/accounts/login/verify/", {"code": codes[0]})
    assert response.status_code == 302
    assert client.get(_org_url(user)).status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    client.post("/accounts/logout/")
    client.post("/accounts/login/", LOGIN)
    response = client.post("/accounts/login/verify/", {"code": codes[0]})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_a_member_needs_no_2fa_but_becoming_admin_requires_it(client, registered):
    from tenants.models import User

    org = Membership.objects.get(user=registered).organization
    member = User.objects.create_user(email="max@example.com", password=PASSWORD, full_name="Max",
                                      email_confirmed_at=registered.email_confirmed_at)
    membership = Membership.objects.create(user=member, organization=org, role=MembershipRole.MEMBER)
    client.post("/accounts/login/", {"username": "max@example.com", "password": PASSWORD})
    assert client.get(f"/o/{org.public_id}/").status_code == 200
    membership.role = MembershipRole.ADMIN
    membership.save()
    response = client.get(f"/o/{org.public_id}/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/setup/"


def test_owner_cannot_switch_2fa_off(client, owner_with_2fa):
    from django_otp import DEVICE_ID_SESSION_KEY

    user, device = owner_with_2fa
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    client.post("/accounts/2fa/disable/")
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
