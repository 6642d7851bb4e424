"""The partner onboarding of issue 3 in real Chromium: creator, dealer and operator, each in its own browser.

1. A POS creator registers, confirms its e-mail, sets up 2FA, signs its cooperation contract, registers a
   POS system with its first software version and shares it with a dealer (by the dealer member's e-mail,
   so the dealer registers first).
2. The dealer registers, confirms, sets up 2FA, signs its cooperation contract, sees the shared POS system
   and invites an operator asking for ``configure`` and ``entitlements``.
3. The operator opens the invitation link, registers, sets up 2FA, signs the usage agreement and accepts
   the link granting both rights.
4. The dealer opens the operator from its overview, works under the acting banner and adds a
   Betriebsstätte and an outlet on the operator's premises page.
5. The operator revokes ``configure``; the dealer's next change is refused by the server (403).

Every user sets up 2FA exactly once and keeps its session, so no test step waits for a new TOTP step.
Pages render in English (browser contexts with locale en-US); elements are found by data-testid,
form field names and URLs. Screenshots go to ``$E2E_ARTIFACTS_DIR`` (default ``test-results/e2e/``).
"""

import base64
import os
import re
from pathlib import Path

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from portal.models import LogEntry, OutgoingMail
from tenants.models import Organization, Outlet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Test-2026"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")
UUID = r"[0-9a-f-]{36}"

CREATOR = {"full_name": "Clara Creator", "email": "clara@kassenbau.example", "company": "Kassenbau Creator GmbH"}
DEALER = {"full_name": "Dieter Dealer", "email": "dieter@kassenhandel.example", "company": "Kassenhandel Dealer GmbH"}
OPERATOR = {"full_name": "Olga Operator", "email": "olga@imbiss.example", "company": "Imbiss Operator GmbH"}


def _totp_now(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return "%06d" % totp(key)


def _url(base: str, path_pattern: str) -> re.Pattern:
    """A full-URL pattern: ``path_pattern`` is a regex of the path (query allowed after it)."""
    return re.compile(rf"^{re.escape(base)}{path_pattern}(\?.*)?$")


def _mail_path(email: str, path_pattern: str) -> str:
    """The site-relative path of the newest link matching ``path_pattern`` in the mails to ``email``."""
    for mail in OutgoingMail.objects.filter(to=email).order_by("-pk"):
        match = re.search(rf"https?://[^/\s]+({path_pattern})", mail.body_text)
        if match:
            return match.group(1)
    raise AssertionError(f"no mail to {email} with a link {path_pattern}")


class Shots:
    """Full-page screenshots of the key pages, checked at the end of the test."""

    def __init__(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []

    def take(self, page, name: str) -> None:
        path = ARTIFACTS / f"partner_onboarding_{name}.png"
        path.unlink(missing_ok=True)
        page.screenshot(path=str(path), full_page=True)
        self.paths.append(path)


def _submit(form) -> None:
    form.locator("button[type=submit]").first.click()


def _register(page, base: str, person: dict, role: str) -> None:
    page.goto(f"{base}/accounts/register/")
    form = page.get_by_test_id("registration-form")
    form.locator("[name=full_name]").fill(person["full_name"])
    form.locator("[name=email]").fill(person["email"])
    form.locator("[name=name]").fill(person["company"])
    form.locator("[name=legal_form]").select_option("gmbh")
    form.locator("[name=street]").fill("Testweg 7")
    form.locator("[name=postal_code]").fill("50667")
    form.locator("[name=city]").fill("Köln")
    form.locator("[name=tax_number]").fill("214/5678/1234")
    form.locator(f"input[name=roles][value={role}]").check()
    form.locator("[name=password1]").fill(PASSWORD)
    form.locator("[name=password2]").fill(PASSWORD)
    form.locator("[name=accept_terms]").check()
    _submit(form)
    page.wait_for_url(f"{base}/accounts/register/done/")


def _confirm_and_log_in(page, base: str, person: dict) -> None:
    page.goto(base + _mail_path(person["email"], r"/accounts/confirm/\S+"))
    page.wait_for_url(_url(base, "/accounts/login/"))
    form = page.locator("main form").first
    form.locator("[name=username]").fill(person["email"])
    form.locator("[name=password]").fill(PASSWORD)
    _submit(form)


def _set_up_two_factor(page, base: str) -> str:
    """On the forced 2FA set-up page: enable TOTP, continue from the backup codes; returns the org id."""
    page.wait_for_url(_url(base, "/accounts/2fa/setup/"))
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    form = page.locator("main form").first
    form.locator("[name=code]").fill(_totp_now(secret))
    _submit(form)
    expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
    page.locator("main a.btn-primary").click()  # "Continue" -> home -> the organization's dashboard
    page.wait_for_url(_url(base, f"/o/{UUID}/"))
    return re.search(rf"/o/({UUID})/", page.url).group(1)


def _sign(page, base: str, org_id: str, role: str, person: dict, *, next_path: str | None = None) -> None:
    """Sign the role contract of ``role`` on the open signing page (typed full name + consent)."""
    page.wait_for_url(_url(base, f"/o/{org_id}/contracts/{role}/sign/"))
    expect(page.get_by_test_id("contract-text")).not_to_be_empty()
    form = page.get_by_test_id("sign-form")
    form.locator("[name=typed_name]").fill(person["full_name"])
    form.locator("[name=consent]").check()
    _submit(form)
    page.wait_for_url(_url(base, next_path or f"/o/{org_id}/contracts/"))


def _sign_from_contracts_page(page, base: str, org_id: str, role: str, person: dict) -> None:
    page.get_by_test_id("nav-contracts").click()
    page.wait_for_url(_url(base, f"/o/{org_id}/contracts/"))
    page.get_by_test_id(f"sign-{role}").click()
    _sign(page, base, org_id, role, person)
    expect(page.get_by_test_id(f"role-{role}")).to_have_attribute("data-state", "active")


def _new_context(browser):
    return browser.new_context(locale="en-US", timezone_id="Europe/Berlin", viewport={"width": 1280, "height": 900})


def test_creator_dealer_and_operator_onboard_and_rights_take_effect(browser, live_server):
    base = live_server.url
    shots = Shots()
    contexts = [_new_context(browser) for _ in range(3)]
    creator, dealer, operator = (context.new_page() for context in contexts)
    try:
        _run(base, shots, creator, dealer, operator)
    finally:
        for context in contexts:
            context.close()

    for path in shots.paths:
        assert path.is_file() and path.stat().st_size > 0, path
    assert len(shots.paths) == 8

    creator_org = Organization.unscoped.get(name=CREATOR["company"])
    dealer_org = Organization.unscoped.get(name=DEALER["company"])
    operator_org = Organization.unscoped.get(name=OPERATOR["company"])
    entries = LogEntry.unscoped.all()
    for org in (creator_org, dealer_org, operator_org):
        assert entries.filter(action="tenants.contract.signed", organization=org).count() == 1, org
    assert entries.filter(action="tenants.operator_invitation.created", organization=dealer_org,
                          data__email=OPERATOR["email"]).count() == 1
    for org in (dealer_org, operator_org):
        accepted = entries.get(action="tenants.operator_invitation.accepted", organization=org)
        assert sorted(accepted.data["granted_rights"]) == ["configure", "entitlements"]
    granted = entries.filter(action="tenants.grant.granted", organization=operator_org, acting_organization=None)
    assert sorted(granted.values_list("data__right", flat=True)) == ["configure", "entitlements"]
    revoked = entries.get(action="tenants.grant.revoked", organization=operator_org)
    assert revoked.data["right"] == "configure" and revoked.data["dealer"] == str(dealer_org.public_id)
    assert revoked.actor_user.email == OPERATOR["email"]
    assert entries.filter(action="tenants.grant.revoked", organization=dealer_org,
                          acting_organization=operator_org).count() == 1
    outlet = Outlet.unscoped.get(organization=operator_org)
    created = entries.get(action="tenants.outlet.created", organization=operator_org)
    assert created.object_id == str(outlet.public_id)
    assert created.acting_organization == dealer_org and created.actor_user.email == DEALER["email"]
    assert entries.get(action="tenants.betriebsstaette.created", organization=operator_org).acting_organization \
        == dealer_org
    assert Outlet.unscoped.filter(organization=operator_org).count() == 1  # the refused submit created nothing


def _run(base, shots, creator, dealer, operator):
    # --- 1a. creator and dealer register, confirm, set up 2FA and sign their cooperation contracts -----
    _register(creator, base, CREATOR, "creator")
    _register(dealer, base, DEALER, "dealer")
    _confirm_and_log_in(creator, base, CREATOR)
    creator_id = _set_up_two_factor(creator, base)
    _confirm_and_log_in(dealer, base, DEALER)
    dealer_id = _set_up_two_factor(dealer, base)
    _sign_from_contracts_page(creator, base, creator_id, "creator", CREATOR)
    _sign_from_contracts_page(dealer, base, dealer_id, "dealer", DEALER)

    # --- 1b. the creator registers a POS system and shares it with the dealer (by e-mail) ---------------
    creator.get_by_test_id("nav-pos-systems").click()
    creator.get_by_test_id("pos-system-create-link").click()
    creator.wait_for_url(_url(base, f"/o/{creator_id}/pos-systems/new/"))
    form = creator.locator("main form").first
    form.locator("[name=name]").fill("KassaPro")
    form.locator("[name=brand]").fill("Kassenbau Creator GmbH")
    form.locator("[name=model]").fill("KP-500")
    form.locator("[name=system_type]").select_option("pc_pos")
    form.locator("[name=software_name]").fill("KassaPro POS")
    form.locator("[name=software_version]").fill("3.1.0")
    _submit(form)
    creator.wait_for_url(_url(base, f"/o/{creator_id}/pos-systems/{UUID}/"))
    pos_system_url = creator.url
    expect(creator.get_by_test_id("version-row")).to_have_count(1)
    expect(creator.get_by_test_id("version-row")).to_contain_text("3.1.0")
    share = creator.get_by_test_id("share-form")
    share.locator("[name=dealer]").fill(DEALER["email"])
    _submit(share)
    creator.wait_for_url(pos_system_url)
    expect(creator.locator(f'[data-testid=share-row][data-dealer="{dealer_id}"]')).to_be_visible()
    shots.take(creator, "1_creator_pos_system")

    # --- 2. the dealer sees the shared system and invites an operator ----------------------------------
    dealer.get_by_test_id("nav-shared-pos-systems").click()
    dealer.wait_for_url(_url(base, f"/o/{dealer_id}/shared-pos-systems/"))
    expect(dealer.locator("main")).to_contain_text("KassaPro")
    dealer.get_by_test_id("nav-operators").click()
    dealer.wait_for_url(_url(base, f"/o/{dealer_id}/operators/"))
    expect(dealer.get_by_test_id("operators-empty")).to_be_visible()
    dealer.get_by_test_id("partner-tabs").locator(f'a[href="/o/{dealer_id}/operators/invitations/new/"]').click()
    dealer.wait_for_url(_url(base, f"/o/{dealer_id}/operators/invitations/new/"))
    form = dealer.get_by_test_id("invite-form")
    form.locator("[name=company_name]").fill(OPERATOR["company"])
    form.locator("[name=legal_form]").select_option("gmbh")
    form.locator("[name=street]").fill("Imbissgasse 3")
    form.locator("[name=postal_code]").fill("10115")
    form.locator("[name=city]").fill("Berlin")
    form.locator("[name=contact_first_name]").fill("Olga")
    form.locator("[name=contact_last_name]").fill("Operator")
    form.locator("[name=contact_email]").fill(OPERATOR["email"])
    form.locator("[name=personal_message]").fill("As agreed: your invitation to Kassenportal.")
    form.locator("input[name=rights][value=read]").uncheck()
    form.locator("input[name=rights][value=configure]").check()
    form.locator("input[name=rights][value=entitlements]").check()
    shots.take(dealer, "2_dealer_invitation_form")
    _submit(form)
    dealer.wait_for_url(_url(base, f"/o/{dealer_id}/operators/invitations/"))
    expect(dealer.get_by_test_id("invitation-row")).to_have_attribute("data-status", "open")

    # --- 3. the operator registers from the link, sets up 2FA, signs and accepts the link ---------------
    operator.goto(base + _mail_path(OPERATOR["email"], r"/invite/operator/[^/\s]+/"))
    form = operator.get_by_test_id("invitation-register-form")
    expect(form.locator("[name=name]")).to_have_value(OPERATOR["company"])
    form.locator("[name=full_name]").fill(OPERATOR["full_name"])
    form.locator("[name=password1]").fill(PASSWORD)
    form.locator("[name=password2]").fill(PASSWORD)
    form.locator("[name=accept_terms]").check()
    _submit(form)
    operator_id = _set_up_two_factor(operator, base)
    operator.get_by_test_id("nav-dealers").click()
    operator.wait_for_url(_url(base, f"/o/{operator_id}/partners/"))
    operator.get_by_test_id("pending-invitations").locator("a").first.click()  # "Continue"
    accept_path = f"/o/{operator_id}/partners/invitations/{UUID}/"
    _sign(operator, base, operator_id, "operator", OPERATOR, next_path=accept_path)  # agreement first
    form = operator.get_by_test_id("accept-form")
    configure = form.locator("input[name=rights][value=configure]")
    entitlements = form.locator("input[name=rights][value=entitlements]")
    expect(form.locator("input[name=rights]")).to_have_count(2)  # exactly the rights asked for
    configure.check()
    entitlements.check()
    expect(configure).to_be_checked()
    expect(entitlements).to_be_checked()
    shots.take(operator, "3_operator_acceptance")
    _submit(form)
    operator.wait_for_url(_url(base, f"/o/{operator_id}/partners/"))
    row = operator.locator(f'[data-testid=dealer-row][data-dealer="{dealer_id}"]')
    expect(row.locator('button[data-right=configure][data-held="1"]')).to_be_visible()
    expect(row.locator('button[data-right=entitlements][data-held="1"]')).to_be_visible()

    # --- 4. the dealer switches into the operator and adds a Betriebsstätte and an outlet --------------
    dealer.get_by_test_id("nav-operators").click()
    dealer.wait_for_url(_url(base, f"/o/{dealer_id}/operators/"))
    row = dealer.get_by_test_id("operator-row").filter(has_text=OPERATOR["company"])
    expect(row).to_have_attribute("data-kind", "link")
    expect(row.locator("[data-status=active]")).to_be_visible()
    expect(row.locator('[data-step=rights_granted][data-done="1"]')).to_be_visible()
    shots.take(dealer, "4_dealer_operators_overview")
    row.get_by_test_id("open-account").click()
    dealer.wait_for_url(_url(base, f"/o/{operator_id}/"))
    banner = dealer.get_by_test_id("acting-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(OPERATOR["company"])
    expect(banner).to_contain_text(DEALER["company"])
    shots.take(dealer, "5_dealer_in_operator_account")
    dealer.get_by_test_id("nav-premises").click()
    premises_url = f"{base}/o/{operator_id}/premises/"
    dealer.wait_for_url(premises_url)
    form = dealer.get_by_test_id("create-betriebsstaette")
    form.locator("[name=betriebsstaette-name]").fill("Imbiss Mitte")
    form.locator("[name=betriebsstaette-street]").fill("Imbissgasse")
    form.locator("[name=betriebsstaette-house_number]").fill("3")
    form.locator("[name=betriebsstaette-postal_code]").fill("10115")
    form.locator("[name=betriebsstaette-city]").fill("Berlin")
    _submit(form)
    dealer.wait_for_url(premises_url)
    expect(dealer.locator("main")).to_contain_text("Imbiss Mitte")
    form = dealer.get_by_test_id("create-outlet")
    form.locator("[name=outlet-name]").fill("Imbiss Mitte Theke")
    form.locator("[name=outlet-betriebsstaette]").select_option(label="Imbiss Mitte")
    form.locator("[name=outlet-street]").fill("Imbissgasse")
    form.locator("[name=outlet-house_number]").fill("3")
    form.locator("[name=outlet-postal_code]").fill("10115")
    form.locator("[name=outlet-city]").fill("Berlin")
    _submit(form)
    dealer.wait_for_url(premises_url)
    expect(dealer.get_by_test_id("outlet-1")).to_contain_text("Imbiss Mitte Theke")
    expect(dealer.get_by_test_id("acting-banner")).to_be_visible()
    shots.take(dealer, "6_dealer_premises_with_outlet")
    # the dealer starts a second outlet while it still may configure ...
    form = dealer.get_by_test_id("create-outlet")
    form.locator("[name=outlet-name]").fill("Imbiss Mitte Terrasse")
    form.locator("[name=outlet-street]").fill("Imbissgasse")
    form.locator("[name=outlet-house_number]").fill("5")
    form.locator("[name=outlet-postal_code]").fill("10115")
    form.locator("[name=outlet-city]").fill("Berlin")

    # --- 5. ... the operator revokes "configure" on its "Dealers & rights" page ------------------------
    operator.reload()
    row = operator.locator(f'[data-testid=dealer-row][data-dealer="{dealer_id}"]')
    row.locator("button[data-right=configure]").click()
    expect(row.locator('button[data-right=configure][data-held="0"]')).to_be_visible()
    expect(row.locator('button[data-right=entitlements][data-held="1"]')).to_be_visible()
    shots.take(operator, "7_operator_rights_after_revoking")

    # ... so the dealer's submit of the open form is refused, and the edit controls are gone
    with dealer.expect_response(lambda r: r.url == premises_url and r.request.method == "POST") as answer:
        _submit(form)
    # refused for the missing right, not for the CSRF token
    assert answer.value.status == 403 and "CSRF verification failed" not in answer.value.text()
    reloaded = dealer.goto(premises_url)  # entitlements alone do not cover the master data
    assert reloaded.status == 403
    expect(dealer.get_by_test_id("create-outlet")).to_have_count(0)
    dealer.goto(f"{base}/o/{operator_id}/")
    expect(dealer.get_by_test_id("acting-banner")).to_be_visible()  # still linked, with "entitlements"
    expect(dealer.get_by_test_id("nav-premises")).to_have_count(0)
    token = dealer.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    refused = dealer.request.post(premises_url, form={
        "csrfmiddlewaretoken": token, "create": "outlet", "outlet-name": "Sneaky", "outlet-street": "Imbissgasse",
        "outlet-house_number": "7", "outlet-postal_code": "10115", "outlet-city": "Berlin", "outlet-country": "DE",
    }, headers={"Referer": premises_url}, max_redirects=0)
    assert refused.status == 403 and "CSRF verification failed" not in refused.text()
    shots.take(dealer, "8_dealer_in_operator_account_after_revoking")
