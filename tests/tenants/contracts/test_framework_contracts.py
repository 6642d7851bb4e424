"""Dealer framework contracts: countersignature (service, page, API), visibility, the billing terms."""

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portal.models import LogEntry, OutgoingMail
from portal.tenancy import actor_for_api_key, actor_for_user
from tenants.models import DiscountTier, FrameworkContract
from tenants.services.contracts import ContractError
from tenants.services.framework_contracts import (
    countersign_framework_contract,
    credit_limit,
    discount_percent,
    framework_document,
    framework_terms,
    framework_text_sha256,
)
from tests.helpers import assert_actors, assert_envelope, result_ids
from tests.tenants.contracts.conftest import make_framework_contract

pytestmark = pytest.mark.django_db

META = {"ip": "192.0.2.44", "user_agent": "DealerBrowser/3"}


def _countersign(contract, user, **overrides):
    arguments = {"typed_name": user.full_name, "shown_sha256": framework_text_sha256(contract), "consent": True,
                 "meta": META}
    arguments.update(overrides)
    return countersign_framework_contract(actor=actor_for_user(user), contract=contract, **arguments)


def _payload(contract, user, **overrides):
    data = {"typed_name": user.full_name, "text_sha256": framework_text_sha256(contract), "consent": True}
    data.update(overrides)
    return data


# --- the document and its hash ----------------------------------------------------------------


def test_the_document_covers_text_and_terms(framework):
    document = framework_document(framework)
    assert document.startswith(f"{framework.title}\n\n{framework.text}\n\n")
    for line in ("planned_volume_signing_units: 120", "starts_on: 2020-01-01", "ends_on: 2099-12-31",
                 "credit_limit_eur: 5000.00", "discount_tier: from 10 units 5.00 %",
                 "discount_tier: from 100 units 15.00 %"):
        assert line in document.splitlines()
    assert framework_text_sha256(framework) == hashlib.sha256(document.encode()).hexdigest()
    before = framework_text_sha256(framework)
    DiscountTier.unscoped.filter(contract=framework, min_units=100).update(percent=Decimal("20.00"))
    assert framework_text_sha256(framework) != before  # changed terms are a changed text


# --- countersigning ---------------------------------------------------------------------------


def test_countersigning_stores_the_evidence_and_is_audited(actors, framework):
    contract = _countersign(framework, actors.partner.user)
    contract = FrameworkContract.unscoped.get(pk=contract.pk)
    assert contract.countersigned_at is not None
    assert contract.countersigned_by == actors.partner.user
    assert contract.countersign_name == "Paul Partner"
    assert contract.countersign_sha256 == framework_text_sha256(contract)
    assert contract.countersign_ip == META["ip"] and contract.countersign_user_agent == META["user_agent"]
    entry = LogEntry.unscoped.get(organization=actors.partner.organization,
                                  action="tenants.framework_contract.countersigned")
    assert entry.actor_user == actors.partner.user and entry.object_id == str(contract.public_id)
    assert entry.data["text_sha256"] == contract.countersign_sha256 and entry.data["typed_name"] == "Paul Partner"
    mail = OutgoingMail.objects.get(to=actors.partner.user.email)
    assert contract.countersign_sha256 in mail.body_text and "discount_tier: from 50 units 10.00 %" in mail.body_text


def test_countersigning_twice_is_refused(actors, framework):
    _countersign(framework, actors.partner.user)
    with pytest.raises(ContractError) as error:
        _countersign(framework, actors.partner.user)
    assert error.value.code == "E_ALREADY_SIGNED"


@pytest.mark.parametrize(("overrides", "code"), [
    ({"typed_name": "Paula Partner"}, "E_NAME_MISMATCH"),
    ({"consent": False}, "E_CONSENT_REQUIRED"),
    ({"shown_sha256": "f" * 64}, "E_TEXT_CHANGED"),
])
def test_a_refused_countersignature_changes_nothing(actors, framework, overrides, code):
    with pytest.raises(ContractError) as error:
        _countersign(framework, actors.partner.user, **overrides)
    assert error.value.code == code
    framework.refresh_from_db()
    assert framework.countersigned_at is None and framework.countersign_sha256 == ""


def test_terms_changed_after_showing_are_refused(actors, framework):
    shown = framework_text_sha256(framework)
    DiscountTier.unscoped.create(contract=framework, organization=framework.organization, min_units=500,
                                 percent=Decimal("25.00"))
    with pytest.raises(ContractError) as error:
        _countersign(framework, actors.partner.user, shown_sha256=shown)
    assert error.value.code == "E_TEXT_CHANGED"


def test_an_expired_contract_cannot_be_countersigned(actors):
    contract = make_framework_contract(actors.partner.organization, starts_on=date(2020, 1, 1),
                                       ends_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ContractError) as error:
        _countersign(contract, actors.partner.user)
    assert error.value.code == "E_CONTRACT_EXPIRED"


def test_an_api_key_cannot_countersign(actors, framework):
    with pytest.raises(ContractError) as error:
        countersign_framework_contract(actor=actor_for_api_key(actors.partner.api_key), contract=framework,
                                       typed_name="Paul Partner", shown_sha256=framework_text_sha256(framework),
                                       consent=True)
    assert error.value.code == "E_USER_REQUIRED"


# --- what billing reads -----------------------------------------------------------------------


@pytest.mark.parametrize(("units", "percent"), [
    (0, "0.00"), (9, "0.00"), (10, "5.00"), (11, "5.00"), (49, "5.00"), (50, "10.00"), (99, "10.00"),
    (100, "15.00"), (10_000, "15.00"),
])
def test_the_discount_is_the_highest_tier_reached(actors, framework, units, percent):
    _countersign(framework, actors.partner.user)
    assert discount_percent(actors.partner.organization, units, date(2026, 6, 1)) == Decimal(percent)
    assert isinstance(discount_percent(actors.partner.organization, units), Decimal)


def test_only_a_countersigned_contract_in_its_term_is_in_force(actors):
    dealer = actors.partner.organization
    contract = make_framework_contract(dealer, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                       credit_limit="2500.50")
    assert framework_terms(dealer, date(2026, 6, 1)) is None  # not countersigned yet
    assert discount_percent(dealer, 100, date(2026, 6, 1)) == Decimal("0.00")
    assert credit_limit(dealer, date(2026, 6, 1)) == Decimal("0.00")
    _countersign(contract, actors.partner.user)
    for day, in_force in [(date(2025, 12, 31), False), (date(2026, 1, 1), True), (date(2026, 12, 31), True),
                          (date(2027, 1, 1), False)]:
        assert (framework_terms(dealer, day) == contract) is in_force, day
    assert credit_limit(dealer, date(2026, 3, 1)) == Decimal("2500.50")
    assert credit_limit(dealer.pk, date(2027, 3, 1)) == Decimal("0.00")
    assert framework_terms(actors.owner.organization, date(2026, 6, 1)) is None  # only the dealer's own


def test_a_later_contract_takes_over(actors):
    dealer = actors.partner.organization
    first = make_framework_contract(dealer, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                    tiers=((10, "5.00"),))
    second = make_framework_contract(dealer, starts_on=date(2026, 7, 1), ends_on=date(2027, 6, 30),
                                     tiers=((10, "8.00"),), credit_limit="9000.00")
    _countersign(first, actors.partner.user)
    _countersign(second, actors.partner.user)
    assert framework_terms(dealer, date(2026, 6, 30)) == first
    assert framework_terms(dealer, date(2026, 7, 1)) == second
    assert discount_percent(dealer, 10, date(2026, 8, 1)) == Decimal("8.00")
    assert credit_limit(dealer, date(2026, 8, 1)) == Decimal("9000.00")


# --- pages ------------------------------------------------------------------------------------


def test_framework_pages_by_actor(actors, framework, other_dealer):
    _dealer, other_client = other_dealer
    base = f"/o/{actors.partner.org_id}/framework-contracts/"
    clients = {"partner": actors.session_client("partner"), "owner": actors.session_client("owner"),
               "stranger": actors.session_client("stranger"), "other dealer": other_client}
    expected = {"partner": 200, "owner": 404, "stranger": 404, "other dealer": 404}
    for page in ("", f"{framework.public_id}/", f"{framework.public_id}/countersign/"):
        for name, status in expected.items():
            response = clients[name].get(base + page)
            assert response.status_code == status, f"{name} {page}: {response.status_code}"
    listing = clients["partner"].get(base).content.decode()
    assert f'data-testid="framework-contract-{framework.public_id}" data-state="awaiting"' in listing
    other_list = other_client.get(f"/o/{_dealer.public_id}/framework-contracts/").content.decode()
    assert str(framework.public_id) not in other_list


@pytest.mark.usefixtures("in_english")
def test_countersigning_on_the_page(actors, framework):
    client = actors.session_client("partner")
    url = f"/o/{actors.partner.org_id}/framework-contracts/{framework.public_id}/countersign/"
    page = client.get(url).content.decode()
    sha = framework_text_sha256(framework)
    assert f'name="text_sha256" value="{sha}"' in page and "discount_tier: from 50 units 10.00 %" in page
    wrong = client.post(url, {"typed_name": "Someone", "consent": "on", "text_sha256": sha})
    assert wrong.status_code == 200
    assert "Please type your full name exactly as in your account." in wrong.content.decode()
    response = client.post(url, {"typed_name": "Paul Partner", "consent": "on", "text_sha256": sha},
                           headers={"User-Agent": "Edge/130"})
    assert response.status_code == 302
    framework.refresh_from_db()
    assert framework.countersign_name == "Paul Partner" and framework.countersign_user_agent == "Edge/130"
    detail = client.get(response["Location"]).content.decode()
    assert 'data-testid="countersignature"' in detail and 'data-testid="sign-form"' not in detail
    again = client.post(url, {"typed_name": "Paul Partner", "consent": "on", "text_sha256": sha})
    assert again.status_code == 302
    assert LogEntry.unscoped.filter(action="tenants.framework_contract.countersigned").count() == 1


def test_a_member_without_the_right_cannot_countersign_on_the_page(actors, framework):
    url = f"/o/{actors.partner.org_id}/framework-contracts/{framework.public_id}/countersign/"
    client = actors.member_client("partner")
    assert client.get(f"/o/{actors.partner.org_id}/framework-contracts/{framework.public_id}/").status_code == 200
    response = client.post(url, {"typed_name": actors.partner.member.full_name, "consent": "on",
                                 "text_sha256": framework_text_sha256(framework)})
    assert response.status_code == 403
    framework.refresh_from_db()
    assert framework.countersigned_at is None


# --- API --------------------------------------------------------------------------------------


def test_framework_api_by_actor(actors, framework):
    base = f"/api/v1/organizations/{actors.partner.org_id}/framework-contracts"
    expected = {"partner": 200, "owner": 404, "stranger": 404}
    responses = assert_actors(actors.api_client, "GET", base, expected)
    assert result_ids(responses["partner"]) == [str(framework.public_id)]
    detail = assert_actors(actors.api_client, "GET", f"{base}/{framework.public_id}", expected)["partner"].json()
    assert detail["text_sha256"] == framework_text_sha256(framework)
    assert detail["document"] == framework_document(framework)
    assert detail["tiers"] == [{"min_units": 10, "percent": "5.00"}, {"min_units": 50, "percent": "10.00"},
                               {"min_units": 100, "percent": "15.00"}]
    assert detail["credit_limit"] == "5000.00" and detail["state"] == "awaiting"
    assert detail["countersignature"] is None
    # the operator's own (empty) list: members only, a partner acting for it gets 404
    own = f"/api/v1/organizations/{actors.owner.org_id}/framework-contracts"
    owner_list = assert_actors(actors.api_client, "GET", own, {"owner": 200, "partner": 404, "stranger": 404})
    assert result_ids(owner_list["owner"]) == []


def test_other_dealers_do_not_see_the_contract(actors, framework, other_dealer):
    _dealer, client = other_dealer
    for url in (f"/api/v1/organizations/{actors.partner.org_id}/framework-contracts",
                f"/api/v1/organizations/{actors.partner.org_id}/framework-contracts/{framework.public_id}",
                f"/api/v1/organizations/{_dealer.public_id}/framework-contracts/{framework.public_id}"):
        assert_envelope(client.get(url), 404, "E_NOT_FOUND")


def test_countersigning_through_the_api(actors, framework):
    url = f"/api/v1/organizations/{actors.partner.org_id}/framework-contracts/{framework.public_id}/countersign"
    payload = _payload(framework, actors.partner.user)
    assert_actors(actors.api_client, "POST", url, {"owner": 404, "stranger": 404, "partner": 403}, payload)
    assert_envelope(actors.member_client("partner").post(url, payload, content_type="application/json"), 403,
                    "E_PERMISSION_DENIED")
    responses = assert_actors(actors.session_client, "POST", url, {"owner": 404, "stranger": 404, "partner": 200},
                              payload)
    body = responses["partner"].json()
    assert body["state"] == "in_force"
    assert body["countersignature"]["typed_name"] == "Paul Partner"
    assert body["countersignature"]["text_sha256"] == framework_text_sha256(framework)
    assert body["countersignature"]["user"]["email"] == "partner@example.com"
    again = actors.session_client("partner").post(url, payload, content_type="application/json")
    assert_envelope(again, 409, "E_ALREADY_SIGNED")


@pytest.mark.parametrize(("overrides", "code"), [
    ({"typed_name": "Nobody"}, "E_NAME_MISMATCH"),
    ({"consent": False}, "E_CONSENT_REQUIRED"),
    ({"text_sha256": "a" * 64}, "E_TEXT_CHANGED"),
])
def test_refused_countersignatures_through_the_api(actors, framework, overrides, code):
    url = f"/api/v1/organizations/{actors.partner.org_id}/framework-contracts/{framework.public_id}/countersign"
    response = actors.session_client("partner").post(url, _payload(framework, actors.partner.user, **overrides),
                                                     content_type="application/json")
    assert_envelope(response, 400, code)
