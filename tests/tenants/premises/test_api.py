"""The premises API: three-actor matrix for every endpoint, the missing right, and behaviour."""

import pytest

from portal.models import LogEntry
from tenants.models import Betriebsstaette, Outlet
from tenants.services.premises import close_betriebsstaette
from tests.factories import add_member, give_totp_device, make_dealer_with_grant, make_user
from tests.helpers import api_client, assert_actors, assert_envelope, result_ids, session_client
from tests.tenants.premises.helpers import betriebsstaette_data, outlet_data

pytestmark = pytest.mark.django_db


def _base(actor):
    return f"/api/v1/organizations/{actor.org_id}"


def _request(client, method, url, data=None):
    if method.upper() == "GET":
        return client.get(url, data)
    return getattr(client, method.lower())(url, data, content_type="application/json")


def _endpoints(owner, betriebsstaette, outlet):
    """(method, url, payload, success status) of every premises endpoint."""
    base = _base(owner)
    bs = f"{base}/betriebsstaetten/{betriebsstaette.public_id}"
    out = f"{base}/outlets/{outlet.public_id}"
    return {
        "list betriebsstaetten": ("GET", f"{base}/betriebsstaetten", None, 200),
        "create betriebsstaette": ("POST", f"{base}/betriebsstaetten", betriebsstaette_data(name="Neu"), 201),
        "get betriebsstaette": ("GET", bs, None, 200),
        "change betriebsstaette": ("PATCH", bs, {"remarks": "Innenhof"}, 200),
        "close betriebsstaette": ("POST", f"{bs}/close", {}, 200),
        "list outlets": ("GET", f"{base}/outlets", None, 200),
        "create outlet": ("POST", f"{base}/outlets", outlet_data(name="Neu"), 201),
        "get outlet": ("GET", out, None, 200),
        "change outlet": ("PATCH", out, {"name": "Umbenannt"}, 200),
        "close outlet": ("POST", f"{out}/close", {}, 200),
        "data check": ("GET", f"{base}/data-check", None, 200),
    }


ENDPOINTS = [
    "list betriebsstaetten", "create betriebsstaette", "get betriebsstaette", "change betriebsstaette",
    "close betriebsstaette", "list outlets", "create outlet", "get outlet", "change outlet", "close outlet",
    "data check",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("client_kind", ["api_client", "session_client"])
def test_three_actors(actors, premises, endpoint, client_kind):
    """Owner succeeds, the partner with ``read`` reads but gets 403 on writes, the stranger gets 404."""
    betriebsstaette, outlet = premises
    method, url, data, success = _endpoints(actors.owner, betriebsstaette, outlet)[endpoint]
    partner = 200 if method == "GET" else (403, "E_PERMISSION_DENIED")
    # the owner last: its write may close the object the others address
    assert_actors(getattr(actors, client_kind), method, url,
                  {"stranger": 404, "partner": partner, "owner": success}, data)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_partners_own_member_by_session_is_treated_like_the_partner(actors, premises, endpoint):
    betriebsstaette, outlet = premises
    method, url, data, _success = _endpoints(actors.owner, betriebsstaette, outlet)[endpoint]
    response = _request(actors.member_client("partner"), method, url, data)
    if method == "GET":
        assert response.status_code == 200
    else:
        assert_envelope(response, 403, "E_PERMISSION_DENIED")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_dealer_with_configure_may_do_everything(actors, premises, second_dealer, endpoint):
    betriebsstaette, outlet = premises
    method, url, data, success = _endpoints(actors.owner, betriebsstaette, outlet)[endpoint]
    response = _request(api_client(second_dealer.key), method, url, data)
    assert response.status_code == success, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_rights_are_403(actors, premises, endpoint, read_only_key):
    """A viewer member and a read-only key may read but not write; a dealer granted only an unrelated
    right may not even read the master data."""
    betriebsstaette, outlet = premises
    method, url, data, _success = _endpoints(actors.owner, betriebsstaette, outlet)[endpoint]
    viewer = make_user()
    add_member(actors.owner.organization, viewer, "viewer")
    entitlements_user = make_user()
    make_dealer_with_grant(actors.owner.organization, entitlements_user, right="entitlements")
    callers = {
        "viewer": session_client(viewer),
        "read-only key": api_client(read_only_key[1]),
        "entitlements dealer": session_client(entitlements_user, give_totp_device(entitlements_user)),
    }
    for name, client in callers.items():
        response = _request(client, method, url, data)
        expected = 200 if method == "GET" and name != "entitlements dealer" else 403
        assert response.status_code == expected, f"{name}: {response.status_code} {response.content[:300]}"
        if expected == 403:
            assert_envelope(response, 403)
    assert Betriebsstaette.unscoped.filter(organization=actors.owner.organization).count() == 1
    assert Outlet.unscoped.get(pk=outlet.pk).closed_on is None


def test_objects_of_another_organization_are_404_under_the_own_organization(actors, premises, stranger_premises):
    foreign_bs, foreign_outlet = stranger_premises
    client = actors.api_client("owner")
    base = _base(actors.owner)
    for method, url in [
        ("get", f"{base}/betriebsstaetten/{foreign_bs.public_id}"),
        ("patch", f"{base}/betriebsstaetten/{foreign_bs.public_id}"),
        ("post", f"{base}/betriebsstaetten/{foreign_bs.public_id}/close"),
        ("get", f"{base}/outlets/{foreign_outlet.public_id}"),
        ("patch", f"{base}/outlets/{foreign_outlet.public_id}"),
        ("post", f"{base}/outlets/{foreign_outlet.public_id}/close"),
        ("get", f"{base}/outlets/not-a-uuid"),
    ]:
        response = _request(client, method, url, None if method == "get" else {"name": "X"})
        assert_envelope(response, 404, "E_NOT_FOUND")
    foreign_bs.refresh_from_db()
    assert foreign_bs.closed_on is None and foreign_bs.name == "Fremde Stätte"


def test_unsupported_methods_are_405(actors, premises):
    betriebsstaette, outlet = premises
    client = actors.api_client("owner")
    base = _base(actors.owner)
    for method, url in [("put", f"{base}/outlets/{outlet.public_id}"),
                        ("delete", f"{base}/outlets/{outlet.public_id}"),
                        ("delete", f"{base}/betriebsstaetten/{betriebsstaette.public_id}"),
                        ("post", f"{base}/data-check"),
                        ("get", f"{base}/outlets/{outlet.public_id}/close")]:
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert_envelope(response, 405, "E_METHOD_NOT_ALLOWED")
    assert Outlet.unscoped.filter(pk=outlet.pk).exists()


# --- Betriebsstätten ------------------------------------------------------------------------


def test_it_creates_lists_and_changes_betriebsstaetten(actors):
    client = actors.api_client("owner")
    base = _base(actors.owner)
    response = client.post(f"{base}/betriebsstaetten", betriebsstaette_data(name="Café Nord", house_number="7b"),
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Café Nord" and body["house_number"] == "7b" and body["street"] == "Hauptstraße"
    assert body["is_open"] is True and body["closed_on"] is None
    created = Betriebsstaette.unscoped.get(public_id=body["id"])
    assert created.organization == actors.owner.organization
    assert result_ids(client.get(f"{base}/betriebsstaetten")) == [body["id"]]
    assert result_ids(actors.api_client("partner").get(f"{base}/betriebsstaetten")) == [body["id"]]
    response = client.patch(f"{base}/betriebsstaetten/{body['id']}", {"postal_code": "20095", "city": "Hamburg"},
                            content_type="application/json")
    assert response.status_code == 200 and response.json()["city"] == "Hamburg"


def test_the_organization_in_a_payload_is_ignored(actors):
    response = actors.api_client("owner").post(
        f"{_base(actors.owner)}/betriebsstaetten",
        {**betriebsstaette_data(), "organization": actors.stranger.org_id, "closed_on": "2020-01-01"},
        content_type="application/json")
    assert response.status_code == 201
    created = Betriebsstaette.unscoped.get(public_id=response.json()["id"])
    assert created.organization == actors.owner.organization and created.closed_on is None


@pytest.mark.parametrize("payload, field", [
    ({**betriebsstaette_data(), "postal_code": "1011"}, "postal_code"),
    ({**betriebsstaette_data(), "country": "Germany"}, "country"),
    ({k: v for k, v in betriebsstaette_data().items() if k != "house_number"}, "house_number"),
    ({**betriebsstaette_data(), "street": ""}, "street"),
])
def test_it_validates_betriebsstaetten(actors, payload, field):
    response = actors.api_client("owner").post(f"{_base(actors.owner)}/betriebsstaetten", payload,
                                               content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert field in body["details"]
    assert not Betriebsstaette.unscoped.exists()


def test_closing_through_the_api(actors, premises):
    betriebsstaette, _outlet = premises
    url = f"{_base(actors.owner)}/betriebsstaetten/{betriebsstaette.public_id}/close"
    client = actors.api_client("owner")
    body = assert_envelope(client.post(url, {"closed_on": "2999-01-01"}, content_type="application/json"), 400,
                           "E_VALIDATION")
    assert "closed_on" in body["details"]
    response = client.post(url, {"closed_on": "2025-06-30"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["closed_on"] == "2025-06-30" and response.json()["is_open"] is False
    assert_envelope(client.post(url, {}, content_type="application/json"), 409, "E_ALREADY_CLOSED")


# --- outlets --------------------------------------------------------------------------------


def test_it_creates_outlets_with_the_next_free_number(actors, premises):
    betriebsstaette, _outlet = premises
    client = actors.api_client("owner")
    url = f"{_base(actors.owner)}/outlets"
    first = client.post(url, outlet_data(betriebsstaette=str(betriebsstaette.public_id)),
                        content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json()["number"] == 2 and first.json()["betriebsstaette"] == str(betriebsstaette.public_id)
    chosen = client.post(url, outlet_data(number=20), content_type="application/json")
    assert chosen.json()["number"] == 20 and chosen.json()["betriebsstaette"] is None
    assert client.post(url, outlet_data(number=None), content_type="application/json").json()["number"] == 21
    assert_envelope(client.post(url, outlet_data(number=20), content_type="application/json"), 409,
                    "E_OUTLET_NUMBER_TAKEN")
    assert_envelope(client.post(url, outlet_data(number=0), content_type="application/json"), 400, "E_VALIDATION")


def test_the_outlet_number_cannot_be_changed_through_the_api(actors, premises):
    _betriebsstaette, outlet = premises
    url = f"{_base(actors.owner)}/outlets/{outlet.public_id}"
    client = actors.api_client("owner")
    for number in (2, None, 1000):
        body = assert_envelope(client.patch(url, {"number": number, "name": "X"}, content_type="application/json"),
                               400, "E_OUTLET_NUMBER_IMMUTABLE")
        assert "number" in body["details"]
    outlet.refresh_from_db()
    assert (outlet.number, outlet.name) == (1, "Filiale Mitte")
    response = client.patch(url, {"number": 1, "name": "X"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["number"] == 1 and response.json()["name"] == "X"


def test_a_betriebsstaette_of_another_organization_in_the_payload_is_a_validation_error(actors, premises,
                                                                                     stranger_premises):
    _betriebsstaette, outlet = premises
    foreign, _foreign_outlet = stranger_premises
    client = actors.api_client("owner")
    base = _base(actors.owner)
    for response in (
        client.post(f"{base}/outlets", outlet_data(betriebsstaette=str(foreign.public_id)),
                    content_type="application/json"),
        client.patch(f"{base}/outlets/{outlet.public_id}", {"betriebsstaette": str(foreign.public_id)},
                     content_type="application/json"),
        client.post(f"{base}/outlets", outlet_data(betriebsstaette="not-a-uuid"), content_type="application/json"),
        client.post(f"{base}/outlets", outlet_data(betriebsstaette=12), content_type="application/json"),
    ):
        body = assert_envelope(response, 400, "E_VALIDATION")
        assert "betriebsstaette" in body["details"]
        assert foreign.name not in response.content.decode()
    assert Outlet.unscoped.filter(betriebsstaette=foreign).count() == 1  # only the stranger's own
    outlet.refresh_from_db()
    assert outlet.betriebsstaette.organization == actors.owner.organization


def test_an_outlet_cannot_be_assigned_to_a_closed_betriebsstaette(actors, premises):
    betriebsstaette, outlet = premises
    close_betriebsstaette(actor=None, betriebsstaette=betriebsstaette)
    response = actors.api_client("owner").post(
        f"{_base(actors.owner)}/outlets", outlet_data(betriebsstaette=str(betriebsstaette.public_id)),
        content_type="application/json")
    body = assert_envelope(response, 400, "E_BETRIEBSSTAETTE_CLOSED")
    assert "betriebsstaette" in body["details"]


def test_outlets_can_be_filtered_by_betriebsstaette(actors, premises, stranger_premises):
    betriebsstaette, outlet = premises
    foreign, _foreign_outlet = stranger_premises
    client = actors.api_client("owner")
    url = f"{_base(actors.owner)}/outlets"
    other = client.post(url, outlet_data(name="Ohne"), content_type="application/json").json()
    assert result_ids(client.get(url)) == [str(outlet.public_id), other["id"]]
    assert result_ids(client.get(url, {"betriebsstaette": str(betriebsstaette.public_id)})) == [str(outlet.public_id)]
    for value in (str(foreign.public_id), "nope"):
        body = assert_envelope(client.get(url, {"betriebsstaette": value}), 400, "E_VALIDATION")
        assert "betriebsstaette" in body["details"]


# --- data check -----------------------------------------------------------------------------


def test_the_data_check_endpoint(actors, premises):
    betriebsstaette, _outlet = premises
    url = f"{_base(actors.owner)}/data-check"
    client = actors.api_client("partner")  # read right suffices
    assert client.get(url).json() == {"complete": True, "findings": []}
    Betriebsstaette.unscoped.filter(pk=betriebsstaette.pk).update(house_number="")
    body = client.get(url).json()
    assert body["complete"] is False
    assert body["findings"] == [{
        "code": "W_MISSING_HOUSE_NUMBER",
        "severity": "error",
        "message": body["findings"][0]["message"],
        "field": "house_number",
        "object": {"type": "betriebsstaette", "id": str(betriebsstaette.public_id), "name": "Café Mitte"},
    }]
    assert "Café Mitte" in body["findings"][0]["message"]


# --- on behalf of the operator --------------------------------------------------------------


def test_a_dealer_with_configure_edits_for_the_operator_and_is_audited(actors, premises, configure_partner):
    _betriebsstaette, outlet = premises
    client = actors.api_client("partner")
    base = _base(actors.owner)
    response = client.patch(f"{base}/outlets/{outlet.public_id}", {"name": "Vom Händler"},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    created = client.post(f"{base}/betriebsstaetten", betriebsstaette_data(name="Vom Händler angelegt"),
                          content_type="application/json")
    assert created.status_code == 201
    for code, object_id in (("tenants.outlet.changed", str(outlet.public_id)),
                            ("tenants.betriebsstaette.created", created.json()["id"])):
        entry = LogEntry.unscoped.get(action=code, object_id=object_id)
        assert entry.organization == actors.owner.organization
        assert entry.acting_organization == actors.partner.organization
        assert entry.actor_api_key == actors.partner.api_key
    assert Betriebsstaette.unscoped.get(public_id=created.json()["id"]).organization == actors.owner.organization


def test_revoking_configure_ends_writing_at_once(actors, premises, configure_partner):
    from tenants.services.grants import revoke_right

    _betriebsstaette, outlet = premises
    url = f"{_base(actors.owner)}/outlets/{outlet.public_id}"
    client = actors.api_client("partner")
    assert client.patch(url, {"name": "A"}, content_type="application/json").status_code == 200
    revoke_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                 right="configure")
    assert_envelope(client.patch(url, {"name": "B"}, content_type="application/json"), 403)
    assert client.get(url).status_code == 200  # read is still granted
    assert Outlet.unscoped.get(pk=outlet.pk).name == "A"


def test_a_dealer_with_configure_can_change_the_company_data_for_the_operator(actors, configure_partner):
    response = actors.api_client("partner").patch(
        _base(actors.owner), {"tax_number": "21/815/08150", "street": "Hauptstraße 1"},
        content_type="application/json")
    assert response.status_code == 200, response.content
    entry = LogEntry.unscoped.get(action="tenants.organization.changed", organization=actors.owner.organization)
    assert entry.acting_organization == actors.partner.organization
    assert entry.data["changes"]["tax_number"]["new"] == "21/815/08150"


def test_the_company_data_api_validates_with_stdnum(actors):
    client = actors.api_client("owner")
    for payload, field in [({"tax_number": "12345"}, "tax_number"), ({"vat_id": "DE123456789"}, "vat_id"),
                           ({"w_idnr": "DE123456789-00001"}, "w_idnr"), ({"w_idnr": "DE136695976"}, "w_idnr")]:
        body = assert_envelope(client.patch(_base(actors.owner), payload, content_type="application/json"), 400,
                               "E_VALIDATION")
        assert field in body["details"], body
    response = client.patch(_base(actors.owner), {"tax_number": " 1121081508150 ", "vat_id": "de 136 695 976",
                                                  "w_idnr": "de136695976-00001"}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["tax_number"], body["vat_id"], body["w_idnr"]) == ("1121081508150", "DE136695976",
                                                                    "DE136695976-00001")
