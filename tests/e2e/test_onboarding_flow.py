"""Register a company, confirm the e-mail, enable 2FA, log in with TOTP, create an API key, use it."""

import base64
import re
import time

import pytest
from django_otp.oath import totp

from portal.models import OutgoingMail

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Test-2026"


def _totp_now(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return "%06d" % totp(key)


def _wait_for_next_totp_step():
    """django-otp accepts each time step once; the login needs a fresh code."""
    time.sleep(30 - (time.time() % 30) + 1)


def test_a_new_company_gets_to_a_working_api_key(page, live_server):
    base = live_server.url
    page.goto(f"{base}/accounts/register/")
    page.get_by_label("Ihr vollständiger Name").fill("Berta Browser")
    page.get_by_label("Ihre E-Mail-Adresse").fill("berta@example.com")
    page.get_by_label("Firmenname").fill("Browser Kassen GmbH")
    page.get_by_label("Rechtsform").select_option("gmbh")
    page.get_by_label("Straße und Hausnummer").fill("Testweg 7")
    page.get_by_label("Postleitzahl").fill("50667")
    page.get_by_label("Ort", exact=True).fill("Köln")
    page.get_by_label("Steuernummer").fill("214/5678/1234")
    page.get_by_label("Kassenbetreiber").check()
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)
    page.get_by_label("Ich registriere diese Firma").check()
    page.get_by_role("button", name="Registrieren").click()
    page.wait_for_url(f"{base}/accounts/register/done/")
    assert page.get_by_test_id("sandbox-banner").is_visible()

    mail = OutgoingMail.objects.get(to="berta@example.com")
    path = re.search(r"https?://[^/\s]+(/accounts/confirm/\S+)", mail.body_text).group(1)
    page.goto(base + path)
    page.wait_for_url(f"{base}/accounts/login/")

    page.get_by_label("E-Mail-Adresse", exact=True).fill("berta@example.com")
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{base}/accounts/2fa/setup/")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.get_by_label(re.compile("Code")).fill(_totp_now(secret))
    page.get_by_role("button", name=re.compile("Zwei-Faktor-Authentifizierung aktivieren")).click()
    assert len(page.get_by_test_id("backup-codes").locator("li").all_inner_texts()) == 10

    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url(f"{base}/accounts/login/")
    page.get_by_label("E-Mail-Adresse", exact=True).fill("berta@example.com")
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{base}/accounts/login/verify/")
    _wait_for_next_totp_step()
    page.get_by_label(re.compile("Code")).fill(_totp_now(secret))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/o/[0-9a-f-]{{36}}/$"))
    assert page.get_by_test_id("dashboard-title").inner_text() == "Browser Kassen GmbH"

    page.get_by_role("link", name="API-Schlüssel").first.click()
    page.get_by_label("Name", exact=True).fill("Kasse 1")
    page.get_by_label("Schreibzugriff").check()
    page.get_by_role("button", name="API-Schlüssel erstellen").click()
    key = page.get_by_test_id("new-api-key").inner_text().strip()
    assert key.startswith("kp_test_")

    response = page.request.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200
    me = response.json()
    assert me["kind"] == "api_key"
    assert me["api_key"]["rights"] == ["read", "write"]
    assert [org["name"] for org in me["organizations"]] == ["Browser Kassen GmbH"]

    wrong = page.request.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {key}x"})
    assert wrong.status == 401 and wrong.json()["code"] == "E_UNAUTHORIZED"
