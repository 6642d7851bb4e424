"""Portal staff in Django's admin: new contract versions, read-only published versions, framework
contracts with discount tiers."""

from datetime import date
from decimal import Decimal

import pytest

from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import ContractKind, ContractVersion, DiscountTier, FrameworkContract, OrganizationRole
from tenants.services.contracts import sign_contract, text_sha256
from tenants.services.framework_contracts import countersign_framework_contract, framework_text_sha256
from tests.factories import make_user
from tests.helpers import session_client
from tests.tenants.contracts.conftest import make_framework_contract, operator_v1

pytestmark = pytest.mark.django_db

VERSIONS = "/admin/tenants/contractversion/"
FRAMEWORKS = "/admin/tenants/frameworkcontract/"


@pytest.fixture
def staff(db):
    user = make_user("staff@kassenportal.example", full_name="Sam Staff", is_staff=True, is_superuser=True)
    return user, session_client(user)


def _version_form(**overrides):
    data = {"kind": ContractKind.OPERATOR_USAGE, "title_de": "Nutzungsvereinbarung (2. Fassung)",
            "title_en": "Usage agreement (2nd edition)", "text_de": "Neue Fassung.", "text_en": "New edition."}
    data.update(overrides)
    return data


def _sign_v1(organization, user):
    return sign_contract(actor=actor_for_user(user), organization=organization, role_kind="operator",
                         typed_name=user.full_name, language="de", shown_sha256=text_sha256(operator_v1(), "de"),
                         consent=True)


def test_staff_publish_a_new_version_that_requires_resigning(staff, pending):
    user, client = staff
    _sign_v1(pending.organization, pending.user)
    response = client.post(f"{VERSIONS}add/", _version_form(requires_resign="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    v2 = ContractVersion.objects.get(kind=ContractKind.OPERATOR_USAGE, version=2)
    assert v2.created_by == user and v2.requires_resign and v2.published_at is not None
    assert v2.title_en == "Usage agreement (2nd edition)"
    role = OrganizationRole.unscoped.get(organization=pending.organization, kind="operator")
    assert role.status == "pending"
    entry = LogEntry.unscoped.get(organization=pending.organization, action="tenants.role.deactivated")
    assert entry.actor_user == user and entry.data["version"] == 2


def test_a_new_version_without_resigning_keeps_roles_active(staff, pending):
    _user, client = staff
    _sign_v1(pending.organization, pending.user)
    assert client.post(f"{VERSIONS}add/", _version_form()).status_code == 302
    assert ContractVersion.objects.filter(kind=ContractKind.OPERATOR_USAGE, version=2).exists()
    assert OrganizationRole.unscoped.get(organization=pending.organization, kind="operator").status == "active"


def test_published_versions_are_read_only(staff):
    _user, client = staff
    v1 = operator_v1()
    url = f"{VERSIONS}{v1.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="text_de"' not in body  # shown, not editable
    assert text_sha256(v1, "de") in body and f"add/?from={v1.pk}" in body
    response = client.post(url, _version_form(title_de="Überschrieben"))
    assert response.status_code == 403
    assert client.post(f"{VERSIONS}{v1.pk}/delete/", {"post": "yes"}).status_code == 403
    v1.refresh_from_db()
    assert v1.title_de != "Überschrieben"
    assert ContractVersion.objects.filter(pk=v1.pk).exists()


def test_a_new_version_can_start_from_an_old_one(staff):
    _user, client = staff
    v1 = operator_v1()
    body = client.get(f"{VERSIONS}add/?from={v1.pk}").content.decode()
    assert v1.title_de in body and v1.text_en.splitlines()[0] in body


def test_signatures_are_view_only_in_the_admin(staff, pending):
    _user, client = staff
    signature = _sign_v1(pending.organization, pending.user)
    url = f"/admin/tenants/contractsignature/{signature.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and signature.text_sha256 in page.content.decode()
    assert client.post(url, {"typed_name": "X"}).status_code == 403
    assert client.get("/admin/tenants/contractsignature/add/").status_code == 403


def _framework_form(dealer, **overrides):
    data = {
        "organization": dealer.pk, "title": "Rahmenvertrag 2027", "text": "Mengenrabatt für 2027.",
        "planned_volume": "200", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "credit_limit": "10000.00",
        "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000",
        "tiers-0-min_units": "20", "tiers-0-percent": "4.00",
        "tiers-1-min_units": "100", "tiers-1-percent": "9.50",
    }
    data.update(overrides)
    return data


def test_staff_create_a_framework_contract_with_tiers(staff, actors):
    user, client = staff
    dealer = actors.partner.organization
    response = client.post(f"{FRAMEWORKS}add/", _framework_form(dealer))
    assert response.status_code == 302, response.content.decode()[:3000]
    contract = FrameworkContract.unscoped.get(organization=dealer)
    assert contract.created_by == user and contract.credit_limit == Decimal("10000.00")
    assert contract.starts_on == date(2027, 1, 1)
    tiers = list(DiscountTier.unscoped.filter(contract=contract).values_list("min_units", "percent", "organization"))
    assert tiers == [(20, Decimal("4.00"), dealer.pk), (100, Decimal("9.50"), dealer.pk)]
    entry = LogEntry.unscoped.get(organization=dealer, action="tenants.framework_contract.created")
    assert entry.actor_user == user and entry.data["tiers"] == [[20, "4.00"], [100, "9.50"]]


def test_framework_contracts_are_made_with_dealers_only(staff, actors):
    _user, client = staff
    response = client.post(f"{FRAMEWORKS}add/", _framework_form(actors.owner.organization))  # an operator
    assert response.status_code == 200
    assert not FrameworkContract.unscoped.exists()


def test_a_countersigned_framework_contract_is_read_only(staff, actors):
    _user, client = staff
    contract = make_framework_contract(actors.partner.organization)
    countersign_framework_contract(actor=actor_for_user(actors.partner.user), contract=contract,
                                   typed_name="Paul Partner", shown_sha256=framework_text_sha256(contract),
                                   consent=True)
    url = f"{FRAMEWORKS}{contract.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, _framework_form(actors.partner.organization, title="Geändert"))
    assert response.status_code == 403
    assert client.post(f"{FRAMEWORKS}{contract.pk}/delete/", {"post": "yes"}).status_code == 403
    contract.refresh_from_db()
    assert contract.title == "Rahmenvertrag 2026"
    assert DiscountTier.unscoped.filter(contract=contract).count() == 3
