import re

import pytest
from django_otp.oath import totp

from portal.models import OutgoingMail

PASSWORD = "Sehr-geheim-2026"

REGISTRATION = {
    "full_name": "Anna Muster",
    "email": "anna@example.com",
    "password1": PASSWORD,
    "password2": PASSWORD,
    "roles": ["operator"],
    "accept_terms": "on",
    "name": "Muster GmbH",
    "legal_form": "gmbh",
    "street": "Hauptstr. 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "tax_number": "21/815/08150",
    "vat_id": "DE136695976",
}


def last_link(to: str) -> str:
    mail = OutgoingMail.objects.filter(to=to).order_by("-pk").first()
    assert mail is not None, f"no mail to {to}"
    return re.search(r"https?://[^/\s]+(/\S+)", mail.body_text).group(1)


def totp_code(device) -> str:
    return "%06d" % totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)


@pytest.fixture
def registered(client):
    """A registered company whose owner confirmed the e-mail address (not logged in)."""
    response = client.post("/accounts/register/", REGISTRATION)
    assert response.status_code == 302
    client.get(last_link(REGISTRATION["email"]))
    from tenants.models import User

    return User.objects.get(email=REGISTRATION["email"])


@pytest.fixture
def owner_with_2fa(registered):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=registered, name="app", confirmed=True)
    return registered, device
