"""Three-actor matrix for every TSE page and action, the ``configure`` 403 case and the navigation."""

import pytest

from portal.models import LogEntry
from tests.factories import add_member, give_totp_device, make_dealer_with_grant, make_user
from tests.helpers import session_client
from tse.models import SigningUnit, SigningUnitState, TseClient
from tse.services.signing_units import create_signing_unit

pytestmark = pytest.mark.django_db


def _pages(owner, unit, fresh, tx):
    """name -> (method, url, POST data, expected status for the owner, whether it changes something)."""
    base = f"/o/{owner.org_id}/tse"
    detail = f"{base}/{unit.public_id}/"
    receipt = f"{base}/transactions/{tx.public_id}/receipt/"
    return {
        "list": ("GET", f"{base}/", None, 200, False),
        "create": ("POST", f"{base}/", {"description": "Neu", "curve": "P-256"}, 302, True),
        "detail": ("GET", detail, None, 200, False),
        "initialize": ("POST", f"{base}/{fresh.public_id}/initialize/", {}, 302, True),
        "register client": ("POST", f"{detail}clients/", {"client_id": "KASSE-99"}, 302, True),
        "disable": ("POST", f"{detail}disable/", {"confirm": "on"}, 302, True),
        "export": ("POST", f"{detail}export/", {}, 302, False),  # starts a job, changes no fiscal data
        "protocol": ("GET", f"{base}/protocol/", None, 200, False),
        "protocol csv": ("GET", f"{base}/protocol/?format=csv", None, 200, False),
        "receipt": ("GET", receipt, None, 200, False),
        "receipt qr": ("GET", f"{receipt}qr.png", None, 200, False),
    }


PAGES = ["list", "create", "detail", "initialize", "register client", "disable", "export", "protocol",
         "protocol csv", "receipt", "receipt qr"]


@pytest.fixture
def fresh_unit(owner):
    return create_signing_unit(actor=None, organization=owner.organization, description="Neue Kasse")


def _request(client, method, url, data):
    response = client.get(url) if method == "GET" else client.post(url, data)
    if response.streaming:
        b"".join(response.streaming_content)  # consuming it closes the response (the export's temporary file)
    return response


def _state(unit, fresh):
    return (SigningUnit.unscoped.count(), SigningUnit.unscoped.get(pk=unit.pk).state,
            SigningUnit.unscoped.get(pk=fresh.pk).state, TseClient.unscoped.count())


@pytest.mark.parametrize("page", PAGES)
def test_three_actors(actors, signed, fresh_unit, page):
    """Owner: 200/302; partner with ``read``: reads (and exports), 403 on every change; stranger: 404."""
    tx = signed[1]
    unit = tx.signing_unit
    method, url, data, success, changes = _pages(actors.owner, unit, fresh_unit, tx)[page]
    before = _state(unit, fresh_unit)
    for name, expected in (("stranger", 404), ("partner", 403 if changes else success)):
        response = _request(actors.session_client(name), method, url, data)
        assert response.status_code == expected, f"{name} {method} {url}: {response.status_code}"
    assert _state(unit, fresh_unit) == before
    response = _request(actors.session_client("owner"), method, url, data)
    assert response.status_code == success, f"owner {method} {url}: {response.status_code}"
    if changes:
        assert _state(unit, fresh_unit) != before
    # the partner changed nothing (requesting an export is audited, but is no change)
    assert not LogEntry.unscoped.filter(acting_organization=actors.partner.organization,
                                        action__startswith="tse.").exclude(action="tse.export.requested").exists()


@pytest.mark.parametrize("page", PAGES)
def test_members_need_configure_for_changes(actors, signed, fresh_unit, page):
    """A viewer member reads but gets 403 on changes; a dealer granted only ``entitlements`` may view only."""
    tx = signed[1]
    unit = tx.signing_unit
    method, url, data, success, changes = _pages(actors.owner, unit, fresh_unit, tx)[page]
    before = _state(unit, fresh_unit)
    viewer = make_user()
    add_member(actors.owner.organization, viewer, "viewer")
    assert _request(session_client(viewer), method, url, data).status_code == (403 if changes else success)
    dealer_user = make_user()
    make_dealer_with_grant(actors.owner.organization, dealer_user, right="entitlements")
    response = _request(session_client(dealer_user, give_totp_device(dealer_user)), method, url, data)
    assert response.status_code == (403 if changes else success)
    assert _state(unit, fresh_unit) == before


def test_member_role_may_configure(actors, fresh_unit):
    response = actors.member_client("owner").post(
        f"/o/{actors.owner.org_id}/tse/{fresh_unit.public_id}/initialize/")
    assert response.status_code == 302
    assert SigningUnit.unscoped.get(pk=fresh_unit.pk).state == SigningUnitState.INITIALIZED


def test_foreign_objects_are_404(actors, signed, stranger_unit):
    client = actors.session_client("owner")
    base = f"/o/{actors.owner.org_id}/tse"
    foreign_tx = stranger_unit.transactions.get()
    for method, url in [("get", f"{base}/{stranger_unit.public_id}/"),
                        ("post", f"{base}/{stranger_unit.public_id}/initialize/"),
                        ("post", f"{base}/{stranger_unit.public_id}/disable/"),
                        ("post", f"{base}/{stranger_unit.public_id}/clients/"),
                        ("post", f"{base}/{stranger_unit.public_id}/export/"),
                        ("get", f"{base}/transactions/{foreign_tx.public_id}/receipt/"),
                        ("get", f"{base}/transactions/{foreign_tx.public_id}/receipt/qr.png")]:
        response = getattr(client, method)(url, {"confirm": "on", "client_id": "X-1"})
        assert response.status_code == 404, url
    assert SigningUnit.unscoped.get(pk=stranger_unit.pk).state == SigningUnitState.INITIALIZED
    # the protocol does not list the stranger's transactions
    body = client.get(f"{base}/protocol/").content.decode()
    assert f"tx-{foreign_tx.public_id}" not in body and f"tx-{signed[1].public_id}" in body


def test_a_dealer_organization_has_no_tse_pages(actors):
    response = actors.session_client("partner").get(f"/o/{actors.partner.org_id}/tse/")
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["owner", "partner"])
def test_navigation_links(actors, name, in_english):
    body = actors.session_client(name).get(f"/o/{actors.owner.org_id}/").content.decode()
    assert 'data-testid="nav-tse"' in body and 'data-testid="nav-tse-protocol"' in body
    assert "Signing units (TSE)" in body and "Fiscal protocol" in body


def test_navigation_hidden_for_a_dealer_organization(actors):
    body = actors.session_client("partner").get(f"/o/{actors.partner.org_id}/").content.decode()
    assert 'data-testid="nav-tse"' not in body
