"""The premises pages: three-actor matrix for every page and action, forms, data check, navigation."""

import datetime

import pytest
from django.utils import timezone

from portal.models import LogEntry
from tenants.models import Betriebsstaette, Organization, Outlet
from tenants.services.premises import close_betriebsstaette
from tests.factories import add_member, give_totp_device, make_dealer_with_grant, make_organization, make_user
from tests.helpers import session_client
from tests.tenants.premises.helpers import ADDRESS, betriebsstaette_data

pytestmark = pytest.mark.django_db


def _prefixed(prefix, data):
    return {f"{prefix}-{k}": v for k, v in data.items()}


def _pages(owner, betriebsstaette, outlet):
    """name -> (method, url, POST data, expected status for the owner)."""
    base = f"/o/{owner.org_id}"
    bs = f"{base}/premises/betriebsstaetten/{betriebsstaette.public_id}/"
    out = f"{base}/premises/outlets/{outlet.public_id}/"
    return {
        "premises": ("GET", f"{base}/premises/", None, 200),
        "create betriebsstaette": ("POST", f"{base}/premises/", {
            "create": "betriebsstaette", **_prefixed("betriebsstaette", betriebsstaette_data(name="Neu"))}, 302),
        "create outlet": ("POST", f"{base}/premises/", {
            "create": "outlet", **_prefixed("outlet", {"name": "Neu", **ADDRESS})}, 302),
        "betriebsstaette": ("GET", bs, None, 200),
        "edit betriebsstaette": ("POST", bs, betriebsstaette_data(name="Umbenannt"), 302),
        "close betriebsstaette": ("POST", f"{bs}close/", {"closed_on": timezone.localdate().isoformat()}, 302),
        "outlet": ("GET", out, None, 200),
        "edit outlet": ("POST", out, {"name": "Umbenannt", **ADDRESS}, 302),
        "close outlet": ("POST", f"{out}close/", {"closed_on": timezone.localdate().isoformat()}, 302),
        "data check": ("GET", f"{base}/data-check/", None, 200),
    }


PAGES = ["premises", "create betriebsstaette", "create outlet", "betriebsstaette", "edit betriebsstaette",
         "close betriebsstaette", "outlet", "edit outlet", "close outlet", "data check"]


def _request(client, method, url, data):
    return client.get(url) if method == "GET" else client.post(url, data)


@pytest.mark.parametrize("page", PAGES)
def test_three_actors(actors, premises, page):
    """Owner: 200/302; partner with ``read``: reads, 403 on every write; stranger: 404."""
    betriebsstaette, outlet = premises
    method, url, data, success = _pages(actors.owner, betriebsstaette, outlet)[page]
    partner = 200 if method == "GET" else 403
    for name, expected in (("stranger", 404), ("partner", partner), ("owner", success)):
        response = _request(actors.session_client(name), method, url, data)
        assert response.status_code == expected, f"{name} {method} {url}: {response.status_code}"
    # neither the stranger nor the partner wrote anything
    assert not LogEntry.unscoped.filter(acting_organization=actors.partner.organization,
                                        action__regex=r"^tenants\.(betriebsstaette|outlet)\.").exists()
    assert not LogEntry.unscoped.filter(organization=actors.stranger.organization,
                                        action__regex=r"^tenants\.(betriebsstaette|outlet)\.").exists()


@pytest.mark.parametrize("page", PAGES)
def test_missing_rights(actors, premises, page):
    """A viewer member reads but gets 403 on writes; a dealer granted only ``entitlements`` gets 403."""
    betriebsstaette, outlet = premises
    method, url, data, _success = _pages(actors.owner, betriebsstaette, outlet)[page]
    viewer = make_user()
    add_member(actors.owner.organization, viewer, "viewer")
    assert _request(session_client(viewer), method, url, data).status_code == (200 if method == "GET" else 403)
    dealer_user = make_user()
    make_dealer_with_grant(actors.owner.organization, dealer_user, right="entitlements")
    response = _request(session_client(dealer_user, give_totp_device(dealer_user)), method, url, data)
    assert response.status_code == 403
    assert Outlet.unscoped.get(pk=outlet.pk).name == "Filiale Mitte"
    assert Betriebsstaette.unscoped.get(pk=betriebsstaette.pk).closed_on is None


@pytest.mark.parametrize("page", PAGES)
def test_a_dealer_with_configure_may_use_every_page(actors, premises, second_dealer, page):
    betriebsstaette, outlet = premises
    method, url, data, success = _pages(actors.owner, betriebsstaette, outlet)[page]
    response = _request(session_client(second_dealer.user, second_dealer.device), method, url, data)
    assert response.status_code == success


def test_pages_of_objects_of_another_organization_are_404(actors, premises, stranger_premises):
    foreign_bs, foreign_outlet = stranger_premises
    client = actors.session_client("owner")
    base = f"/o/{actors.owner.org_id}/premises"
    for method, url in [("get", f"{base}/betriebsstaetten/{foreign_bs.public_id}/"),
                        ("post", f"{base}/betriebsstaetten/{foreign_bs.public_id}/"),
                        ("post", f"{base}/betriebsstaetten/{foreign_bs.public_id}/close/"),
                        ("get", f"{base}/outlets/{foreign_outlet.public_id}/"),
                        ("post", f"{base}/outlets/{foreign_outlet.public_id}/"),
                        ("post", f"{base}/outlets/{foreign_outlet.public_id}/close/")]:
        response = getattr(client, method)(url, {"name": "X", **ADDRESS, "closed_on": "2025-01-01"})
        assert response.status_code == 404, url
    foreign_bs.refresh_from_db()
    assert foreign_bs.closed_on is None and foreign_bs.name == "Fremde Stätte"


# --- behaviour ------------------------------------------------------------------------------


def test_the_overview_lists_betriebsstaetten_with_their_outlets_and_the_data_check(actors, premises):
    betriebsstaette, outlet = premises
    body = actors.session_client("owner").get(f"/o/{actors.owner.org_id}/premises/").content.decode()
    card = f'data-testid="betriebsstaette-{betriebsstaette.public_id}"'
    assert body.index('data-testid="data-check"') < body.index(card)  # the data check on top
    assert 'data-testid="data-check-complete"' in body
    section = body.split(card)[1]
    assert 'data-testid="outlet-1"' in section and outlet.name in section
    assert 'data-testid="create-betriebsstaette"' in body and 'data-testid="create-outlet"' in body


def test_the_partner_with_read_sees_no_forms(actors, premises):
    betriebsstaette, outlet = premises
    client = actors.session_client("partner")
    body = client.get(f"/o/{actors.owner.org_id}/premises/").content.decode()
    assert "Café Mitte" in body and 'data-testid="create-outlet"' not in body
    detail = client.get(f"/o/{actors.owner.org_id}/premises/outlets/{outlet.public_id}/").content.decode()
    assert "Filiale Mitte" in detail and 'data-testid="edit-outlet"' not in detail
    assert 'data-testid="close-outlet"' not in detail


def test_creating_an_outlet_through_the_page_gives_the_next_number_and_links_it(actors, premises):
    betriebsstaette, _outlet = premises
    client = actors.session_client("owner")
    response = client.post(f"/o/{actors.owner.org_id}/premises/", {
        "create": "outlet",
        **_prefixed("outlet", {"name": "Terrasse", "betriebsstaette": betriebsstaette.pk, **ADDRESS}),
    })
    assert response.status_code == 302
    created = Outlet.unscoped.get(organization=actors.owner.organization, name="Terrasse")
    assert created.number == 2 and created.betriebsstaette == betriebsstaette


def test_the_outlet_form_offers_only_open_betriebsstaetten_of_the_organization(actors, premises, stranger_premises):
    betriebsstaette, _outlet = premises
    foreign, _foreign_outlet = stranger_premises
    closed = Betriebsstaette.unscoped.create(organization=actors.owner.organization, name="Geschlossen",
                                             closed_on=datetime.date(2024, 1, 1), **ADDRESS)
    client = actors.session_client("owner")
    body = client.get(f"/o/{actors.owner.org_id}/premises/").content.decode()
    form = body.split('data-testid="create-outlet"')[1]
    assert f'value="{betriebsstaette.pk}"' in form
    assert f'value="{foreign.pk}"' not in form and "Fremde Stätte" not in form
    assert f'value="{closed.pk}"' not in form
    for choice in (foreign.pk, closed.pk):
        response = client.post(f"/o/{actors.owner.org_id}/premises/", {
            "create": "outlet", **_prefixed("outlet", {"name": "Fremd", "betriebsstaette": choice, **ADDRESS})})
        assert response.status_code == 200
        assert response.context["outlet_form"].errors["betriebsstaette"]
    assert not Outlet.unscoped.filter(name="Fremd").exists()


def test_a_taken_number_is_a_form_error(actors, premises):
    response = actors.session_client("owner").post(f"/o/{actors.owner.org_id}/premises/", {
        "create": "outlet", **_prefixed("outlet", {"name": "Doppelt", "number": 1, **ADDRESS})})
    assert response.status_code == 200
    assert response.context["outlet_form"].errors["number"]
    assert not Outlet.unscoped.filter(name="Doppelt").exists()


def test_the_outlet_number_cannot_be_changed_through_the_edit_page(actors, premises):
    _betriebsstaette, outlet = premises
    client = actors.session_client("owner")
    url = f"/o/{actors.owner.org_id}/premises/outlets/{outlet.public_id}/"
    body = client.get(url).content.decode()
    assert 'name="number"' in body and "disabled" in body.split('name="number"')[1].split(">")[0]
    response = client.post(url, {"number": 99, "name": "Neu", **ADDRESS})
    assert response.status_code == 302
    outlet.refresh_from_db()
    assert outlet.number == 1 and outlet.name == "Neu"


def test_invalid_forms_show_errors_and_change_nothing(actors, premises):
    betriebsstaette, _outlet = premises
    client = actors.session_client("owner")
    base = f"/o/{actors.owner.org_id}/premises"
    response = client.post(f"{base}/", {"create": "betriebsstaette",
                                        **_prefixed("betriebsstaette", betriebsstaette_data(postal_code="123"))})
    assert response.status_code == 200 and response.context["betriebsstaette_form"].errors["postal_code"]
    response = client.post(f"{base}/betriebsstaetten/{betriebsstaette.public_id}/",
                           betriebsstaette_data(house_number=""))
    assert response.status_code == 200 and response.context["form"].errors["house_number"]
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(f"{base}/betriebsstaetten/{betriebsstaette.public_id}/close/", {"closed_on": tomorrow})
    assert response.status_code == 200 and response.context["close_form"].errors["closed_on"]
    betriebsstaette.refresh_from_db()
    assert betriebsstaette.house_number == "1" and betriebsstaette.closed_on is None
    assert Betriebsstaette.unscoped.filter(organization=actors.owner.organization).count() == 1


def test_closing_through_the_page(actors, premises):
    betriebsstaette, outlet = premises
    client = actors.session_client("owner")
    base = f"/o/{actors.owner.org_id}/premises"
    response = client.post(f"{base}/outlets/{outlet.public_id}/close/", {"closed_on": "2025-03-31"})
    assert response.status_code == 302
    assert Outlet.unscoped.get(pk=outlet.pk).closed_on == datetime.date(2025, 3, 31)
    detail = client.get(f"{base}/outlets/{outlet.public_id}/").content.decode()
    assert 'data-testid="close-outlet"' not in detail and "31.03.2025" in detail
    assert client.get(f"{base}/betriebsstaetten/{betriebsstaette.public_id}/close/").status_code == 405


def test_the_data_check_page_shows_findings_with_codes_and_links(actors, premises):
    betriebsstaette, outlet = premises
    close_betriebsstaette(actor=None, betriebsstaette=betriebsstaette)
    Organization.unscoped.filter(pk=actors.owner.organization.pk).update(tax_number="")
    body = actors.session_client("partner").get(f"/o/{actors.owner.org_id}/data-check/").content.decode()
    assert 'data-testid="data-check-incomplete"' in body
    for code in ("W_MISSING_TAX_NUMBER", "W_NO_OPEN_BETRIEBSSTAETTE", "W_OUTLET_BETRIEBSSTAETTE_CLOSED"):
        assert f'data-code="{code}"' in body
    assert f"/premises/outlets/{outlet.public_id}/" in body
    assert f"/o/{actors.owner.org_id}/settings/" in body


# --- navigation -----------------------------------------------------------------------------


def test_the_navigation_shows_premises_for_operators_to_anyone_with_view_master_data(actors, premises):
    url = f"/o/{actors.owner.org_id}/"
    for client in (actors.session_client("owner"), actors.session_client("partner"), actors.member_client("owner")):
        assert 'data-testid="nav-premises"' in client.get(url).content.decode()
    # a dealer organization (no operator role) has no premises entry
    dealer_page = actors.session_client("partner").get(f"/o/{actors.partner.org_id}/").content.decode()
    assert 'data-testid="nav-premises"' not in dealer_page
    # a dealer with only the entitlements right lacks view_master_data
    user = make_user()
    make_dealer_with_grant(actors.owner.organization, user, right="entitlements")
    body = session_client(user, give_totp_device(user)).get(url).content.decode()
    assert 'data-testid="nav-premises"' not in body


def test_a_creator_organization_shows_no_premises_entry(db):
    user = make_user()
    creator = make_organization(user, roles=("creator",))
    body = session_client(user, give_totp_device(user)).get(f"/o/{creator.public_id}/").content.decode()
    assert 'data-testid="nav-premises"' not in body


# --- on behalf of the operator --------------------------------------------------------------


def test_a_dealer_with_configure_edits_through_the_pages_and_is_audited(actors, premises, configure_partner):
    betriebsstaette, _outlet = premises
    client = actors.session_client("partner")
    url = f"/o/{actors.owner.org_id}/premises/betriebsstaetten/{betriebsstaette.public_id}/"
    response = client.post(url, betriebsstaette_data(remarks="Vom Händler ergänzt"))
    assert response.status_code == 302
    entry = LogEntry.unscoped.get(action="tenants.betriebsstaette.changed")
    assert entry.organization == actors.owner.organization
    assert entry.acting_organization == actors.partner.organization
    assert entry.actor_user == actors.partner.user
    assert entry.data["changes"]["remarks"]["new"] == "Vom Händler ergänzt"
    # the company data page as well (issue 3, item 5)
    response = client.post(f"/o/{actors.owner.org_id}/settings/", {
        "name": actors.owner.organization.name, "legal_form": "gmbh", "street": "Hauptstraße 2",
        "postal_code": "10115", "city": "Berlin", "country": "DE", "tax_number": "21/815/08150",
        "vat_id": "DE136695976", "w_idnr": "", "email": "", "phone": ""})
    assert response.status_code == 302
    entry = LogEntry.unscoped.get(action="tenants.organization.changed", organization=actors.owner.organization)
    assert entry.acting_organization == actors.partner.organization


def test_the_company_data_form_validates_with_stdnum(actors):
    data = {"name": "X GmbH", "legal_form": "gmbh", "street": "Hauptstraße 2", "postal_code": "10115",
            "city": "Berlin", "country": "DE", "email": "", "phone": ""}
    client = actors.session_client("owner")
    url = f"/o/{actors.owner.org_id}/settings/"
    for field, value in [("tax_number", "1234567"), ("vat_id", "DE123456789"), ("w_idnr", "DE123456789-00001")]:
        response = client.post(url, {**data, "tax_number": "", "vat_id": "", "w_idnr": "", field: value})
        assert response.status_code == 200 and response.context["form"].errors[field], field
    response = client.post(url, {**data, "tax_number": "214/5678/1234", "vat_id": "de136695976",
                                 "w_idnr": "DE136695976-00001"})
    assert response.status_code == 302
    organization = Organization.unscoped.get(pk=actors.owner.organization.pk)
    assert (organization.tax_number, organization.vat_id, organization.w_idnr) == (
        "214/5678/1234", "DE136695976", "DE136695976-00001")
