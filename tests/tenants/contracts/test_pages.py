"""The contract pages with the three actors, and signing through them."""

import re

import pytest
from django.test import Client

from tenants.models import ContractKind, ContractSignature, OrganizationRole, RoleStatus
from tenants.services.contracts import contract_text, publish_version, text_sha256
from tests.tenants.contracts.conftest import operator_v1

pytestmark = pytest.mark.django_db


def _hidden(body: str, name: str) -> str:
    tag = re.search(rf'<input type="hidden" name="{name}"[^>]*>', body)
    assert tag, f"no hidden {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def _sign_via_page(client, org_id, role_kind="operator", *, name, query="", headers=None, **extra):
    url = f"/o/{org_id}/contracts/{role_kind}/sign/{query}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    body = page.content.decode()
    data = {"typed_name": name, "consent": "on", "text_sha256": _hidden(body, "text_sha256"),
            "language": _hidden(body, "language"), "next": _hidden(body, "next")}
    data.update(extra)
    return client.post(url, data, headers=headers)


def _status(organization, kind="operator"):
    return OrganizationRole.unscoped.get(organization=organization, kind=kind).status


# --- three actors -----------------------------------------------------------------------------


PAGES = {
    "contracts/": {"owner": 200, "partner": 200, "stranger": 404},
    "contracts/operator/sign/": {"owner": 200, "partner": 403, "stranger": 404},
    "contracts/operator/terminate/": {"owner": 200, "partner": 403, "stranger": 404},
    "framework-contracts/": {"owner": 200, "partner": 404, "stranger": 404},
}


@pytest.mark.parametrize("page", PAGES)
def test_pages_answer_by_actor(actors, page):
    if "terminate" in page:
        _sign_via_page(actors.session_client("owner"), actors.owner.org_id, name="Olga Owner")
    url = f"/o/{actors.owner.org_id}/{page}"
    for name, expected in PAGES[page].items():
        response = actors.session_client(name).get(url)
        assert response.status_code == expected, f"{name} GET {url}: {response.status_code}"


@pytest.mark.parametrize("page", ["contracts/operator/sign/", "contracts/operator/terminate/", "contracts/apply/"])
def test_posting_needs_the_sign_contracts_capability(actors, page):
    url = f"/o/{actors.owner.org_id}/{page}"
    data = {"typed_name": "Olga Owner", "consent": "on", "language": "de", "role_kind": "dealer",
            "text_sha256": text_sha256(operator_v1(), "de")}
    assert actors.session_client("stranger").post(url, data).status_code == 404
    assert actors.session_client("partner").post(url, data).status_code == 403
    assert actors.member_client("owner").post(url, data).status_code == 403  # member role: may view, not sign
    assert not ContractSignature.unscoped.exists()
    assert not OrganizationRole.unscoped.filter(organization=actors.owner.organization, kind="dealer").exists()


def test_the_contracts_page_shows_states_and_evidence_to_members_only(actors):
    _sign_via_page(actors.session_client("owner"), actors.owner.org_id, name="Olga Owner")
    url = f"/o/{actors.owner.org_id}/contracts/"
    owner_body = actors.session_client("owner").get(url).content.decode()
    assert 'data-testid="role-operator" data-state="active"' in owner_body
    assert 'data-testid="signature-history"' in owner_body
    assert text_sha256(operator_v1(), "de") in owner_body and "owner@example.com" in owner_body
    assert 'data-testid="apply-form"' in owner_body and 'data-testid="terminate-operator"' in owner_body
    partner_body = actors.session_client("partner").get(url).content.decode()
    assert 'data-testid="role-operator" data-state="active"' in partner_body  # the state: yes
    assert "Olga Owner" in partner_body
    assert 'data-testid="signature-history"' not in partner_body  # the evidence: no
    assert "owner@example.com" not in partner_body
    assert 'data-testid="apply-form"' not in partner_body and 'data-testid="terminate-operator"' not in partner_body
    member_body = actors.member_client("owner").get(url).content.decode()
    assert 'data-testid="signature-history"' in member_body and 'data-testid="apply-form"' not in member_body


def test_the_navigation_links_the_contracts_page(actors):
    link = f'href="/o/{actors.owner.org_id}/contracts/" data-testid="nav-contracts"'
    assert link in actors.session_client("owner").get(f"/o/{actors.owner.org_id}/").content.decode()
    assert link in actors.session_client("partner").get(f"/o/{actors.owner.org_id}/").content.decode()


# --- signing ----------------------------------------------------------------------------------


def test_signing_on_the_page_activates_the_role(pending):
    assert _status(pending.organization) == RoleStatus.PENDING
    page = pending.client.get(f"/o/{pending.org_id}/contracts/operator/sign/").content.decode()
    title, text = contract_text(operator_v1(), "de")
    assert title in page and text.splitlines()[0] in page
    assert _hidden(page, "text_sha256") == text_sha256(operator_v1(), "de")
    assert f'data-testid="contract-sha256">{text_sha256(operator_v1(), "de")}<' in page
    response = _sign_via_page(pending.client, pending.org_id, name="Petra Pending",
                              headers={"User-Agent": "Firefox/140"})
    assert response.status_code == 302 and response["Location"] == f"/o/{pending.org_id}/contracts/"
    assert _status(pending.organization) == RoleStatus.ACTIVE
    signature = ContractSignature.unscoped.get(organization=pending.organization)
    assert signature.text_sha256 == text_sha256(operator_v1(), "de") and signature.user_agent == "Firefox/140"
    assert signature.ip_address == "127.0.0.1"


def test_the_language_toggle_shows_and_signs_the_english_text(pending):
    page = pending.client.get(f"/o/{pending.org_id}/contracts/operator/sign/?lang=en").content.decode()
    assert operator_v1().title_en in page and operator_v1().title_de not in page
    assert _hidden(page, "language") == "en"
    assert _sign_via_page(pending.client, pending.org_id, name="Petra Pending", query="?lang=en").status_code == 302
    signature = ContractSignature.unscoped.get(organization=pending.organization)
    assert signature.language == "en" and signature.text_sha256 == text_sha256(operator_v1(), "en")


def test_signing_honours_a_safe_next(pending):
    target = f"/o/{pending.org_id}/"
    response = _sign_via_page(pending.client, pending.org_id, name="Petra Pending", query=f"?next={target}")
    assert response.status_code == 302 and response["Location"] == target
    # already signed: the page sends the user straight on
    again = pending.client.get(f"/o/{pending.org_id}/contracts/operator/sign/?next={target}")
    assert again.status_code == 302 and again["Location"] == target


@pytest.mark.parametrize("evil", ["https://evil.example/phish", "//evil.example/x", "javascript:alert(1)"])
def test_signing_ignores_an_unsafe_next(pending, evil):
    response = _sign_via_page(pending.client, pending.org_id, name="Petra Pending", query="?next=" + evil)
    assert response.status_code == 302 and response["Location"] == f"/o/{pending.org_id}/contracts/"
    assert _status(pending.organization) == RoleStatus.ACTIVE


@pytest.mark.usefixtures("in_english")
def test_a_wrong_name_or_missing_consent_is_shown_on_the_page(pending):
    response = _sign_via_page(pending.client, pending.org_id, name="Somebody Else")
    assert response.status_code == 200
    assert "Please type your full name exactly as in your account." in response.content.decode()
    response = _sign_via_page(pending.client, pending.org_id, name="Petra Pending", consent="")
    assert response.status_code == 200
    assert "Please confirm that you have read and accept the contract." in response.content.decode()
    assert not ContractSignature.unscoped.filter(organization=pending.organization).exists()
    assert _status(pending.organization) == RoleStatus.PENDING


def test_a_text_changed_while_reading_is_shown_again(pending):
    url = f"/o/{pending.org_id}/contracts/operator/sign/"
    old_sha = _hidden(pending.client.get(url).content.decode(), "text_sha256")
    publish_version(actor=None, kind=ContractKind.OPERATOR_USAGE, title_de="Nutzungsvereinbarung 2",
                    title_en="Usage agreement 2", text_de="Geänderter Text.", text_en="Changed text.")
    response = pending.client.post(url, {"typed_name": "Petra Pending", "consent": "on", "language": "de",
                                         "text_sha256": old_sha, "next": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="sign-error"' in body and "Geänderter Text." in body
    new_sha = _hidden(body, "text_sha256")
    assert new_sha != old_sha
    assert not ContractSignature.unscoped.filter(organization=pending.organization).exists()
    response = pending.client.post(url, {"typed_name": "Petra Pending", "consent": "on", "language": "de",
                                         "text_sha256": new_sha, "next": ""})
    assert response.status_code == 302
    assert ContractSignature.unscoped.get(organization=pending.organization).contract_version.version == 2


def test_a_partner_with_the_right_signs_on_the_page_on_behalf(on_behalf):
    client = on_behalf.session_client("partner")
    page = client.get(f"/o/{on_behalf.owner.org_id}/contracts/operator/sign/").content.decode()
    assert 'data-testid="sign-on-behalf"' in page
    assert _sign_via_page(client, on_behalf.owner.org_id, name="Paul Partner").status_code == 302
    signature = ContractSignature.unscoped.get(organization=on_behalf.owner.organization)
    assert signature.acting_organization == on_behalf.partner.organization
    assert signature.user == on_behalf.partner.user


def test_terminating_on_the_page(pending):
    _sign_via_page(pending.client, pending.org_id, name="Petra Pending")
    url = f"/o/{pending.org_id}/contracts/operator/terminate/"
    page = pending.client.get(url).content.decode()
    assert _hidden(page, "text_sha256") == text_sha256(operator_v1(), "de")
    response = pending.client.post(url, {"typed_name": "Petra Pending", "consent": "on", "language": "de",
                                         "text_sha256": _hidden(page, "text_sha256"), "next": ""})
    assert response.status_code == 302
    assert _status(pending.organization) == RoleStatus.TERMINATED
    body = pending.client.get(f"/o/{pending.org_id}/contracts/").content.decode()
    assert 'data-state="terminated"' in body and 'data-testid="sign-operator"' in body  # sign again
    # nothing left to terminate: back to the overview
    assert pending.client.get(url).status_code == 302


def test_applying_for_a_role_on_the_page(pending):
    response = pending.client.post(f"/o/{pending.org_id}/contracts/apply/", {"role_kind": "dealer"})
    assert response.status_code == 302
    assert response["Location"] == f"/o/{pending.org_id}/contracts/dealer/sign/"
    assert _status(pending.organization, "dealer") == RoleStatus.PENDING
    # a role held already cannot be applied for again
    pending.client.post(f"/o/{pending.org_id}/contracts/apply/", {"role_kind": "dealer"})
    assert OrganizationRole.unscoped.filter(organization=pending.organization, kind="dealer").count() == 1
    assert _sign_via_page(pending.client, pending.org_id, "dealer", name="Petra Pending").status_code == 302
    assert _status(pending.organization, "dealer") == RoleStatus.ACTIVE


def test_an_unknown_role_is_404(pending):
    assert pending.client.get(f"/o/{pending.org_id}/contracts/consultant/sign/").status_code == 404


# --- readable versions ------------------------------------------------------------------------


def test_every_version_is_readable_for_logged_in_users(actors):
    publish_version(actor=None, kind=ContractKind.OPERATOR_USAGE, title_de="Nutzungsvereinbarung 2",
                    title_en="Usage agreement 2", text_de="Zwei.", text_en="Two.")
    url = "/contracts/operator_usage/v1/"
    for name in ("owner", "partner", "stranger"):
        response = actors.session_client(name).get(url)
        assert response.status_code == 200, name
        assert operator_v1().title_de in response.content.decode()
    english = actors.session_client("owner").get(url + "?lang=en").content.decode()
    assert operator_v1().title_en in english and text_sha256(operator_v1(), "en") in english
    v2 = actors.session_client("owner").get("/contracts/operator_usage/v2/?lang=en").content.decode()
    assert "Usage agreement 2" in v2
    assert actors.session_client("owner").get("/contracts/operator_usage/v3/").status_code == 404
    assert actors.session_client("owner").get("/contracts/nonsense/v1/").status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
