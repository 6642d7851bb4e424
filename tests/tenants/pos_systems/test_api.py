"""The POS systems API: the three-actor matrix of every endpoint, then the behaviour of each.

Actors (``conftest.py``): owner = creator, partner = dealer the system is shared with, stranger = an
unrelated creator+dealer. Under the creator's organization URL the dealer and the stranger get 404 (the
creator organization is not visible to them). Under the dealer's own URL the dealer reads the shared
system (200) and gets 403 E_PERMISSION_DENIED for every change; the creator and the stranger get 404 there.
"""

import pytest

from portal.models import LogEntry, OutgoingMail
from tenants.models import PosSystem, PosSystemDealer, PosSystemVersion, RoleKind
from tenants.services.grants import grant_right
from tests.factories import add_member, give_totp_device, make_organization, make_user
from tests.helpers import api_client, assert_actors, assert_envelope, result_ids, session_client
from tests.tenants.pos_systems.conftest import SYSTEM_DATA

pytestmark = pytest.mark.django_db

CLIENTS = ["api_client", "session_client", "member_client"]
NEW_SYSTEM = {**SYSTEM_DATA, "name": "KassaLite", "software_version": "1.0"}


def url(actor, path=""):
    return f"/api/v1/organizations/{actor.org_id}/{path}"


def system_url(actor, system, rest=""):
    return url(actor, f"pos-systems/{system.public_id}{rest}")


# --- the matrix under the creator's organization ----------------------------------------------


def _creator_calls(actors, system):
    owner, partner, stranger = actors.owner, actors.partner, actors.stranger
    return [
        ("GET", url(owner, "pos-systems"), None, 200),
        ("POST", url(owner, "pos-systems"), NEW_SYSTEM, 201),
        ("GET", system_url(owner, system), None, 200),
        ("PATCH", system_url(owner, system), {"model": "KP-600"}, 200),
        ("GET", system_url(owner, system, "/versions"), None, 200),
        ("POST", system_url(owner, system, "/versions"), {"software_version": "3.2.0"}, 201),
        ("GET", system_url(owner, system, "/dealers"), None, 200),
        ("POST", system_url(owner, system, "/dealers"), {"dealer_id": stranger.org_id}, 201),
        ("GET", system_url(owner, system, f"/dealers/{partner.org_id}"), None, 200),
        ("DELETE", system_url(owner, system, f"/dealers/{partner.org_id}"), None, 204),
        ("POST", system_url(owner, system, "/retire"), None, 200),
        ("GET", url(owner, "shared-pos-systems"), None, 200),
    ]


@pytest.mark.parametrize("client", CLIENTS)
def test_under_the_creators_url_only_the_creator_gets_through(pos_actors, pos_system, client):
    factory = getattr(pos_actors, client)
    for method, target, data, status in _creator_calls(pos_actors, pos_system):
        # the creator last: its call may change or remove what the others tried
        assert_actors(factory, method, target, {"partner": 404, "stranger": 404, "owner": status}, data)
    system = PosSystem.unscoped.get(pk=pos_system.pk)
    assert system.model == "KP-600" and system.retired_at is not None
    assert list(PosSystemDealer.unscoped.filter(pos_system=system).values_list("dealer", flat=True)) == [
        pos_actors.stranger.organization.pk]


def test_invisible_systems_and_unknown_ids_are_404_for_the_creator_too(pos_actors, stranger_system):
    owner = pos_actors.owner
    for method, data in (("GET", None), ("PATCH", {"name": "x"})):
        assert_actors(pos_actors.api_client, method, system_url(owner, stranger_system), {"owner": 404}, data)
    assert_actors(pos_actors.api_client, "GET", url(owner, "pos-systems/not-a-uuid"), {"owner": 404})
    assert_actors(pos_actors.api_client, "POST", system_url(owner, stranger_system, "/retire"), {"owner": 404})
    assert PosSystem.unscoped.get(pk=stranger_system.pk).retired_at is None


# --- the matrix under the dealer's organization ----------------------------------------------


def _dealer_writes(actors, system):
    partner, stranger = actors.partner, actors.stranger
    return [
        ("PATCH", system_url(partner, system), {"model": "hijacked"}),
        ("POST", system_url(partner, system, "/retire"), None),
        ("POST", system_url(partner, system, "/versions"), {"software_version": "6.6.6"}),
        ("GET", system_url(partner, system, "/dealers"), None),
        ("POST", system_url(partner, system, "/dealers"), {"dealer_id": stranger.org_id}),
        ("GET", system_url(partner, system, f"/dealers/{partner.org_id}"), None),
        ("DELETE", system_url(partner, system, f"/dealers/{partner.org_id}"), None),
    ]


@pytest.mark.parametrize("client", CLIENTS)
def test_the_dealer_reads_the_shared_system(pos_actors, pos_system, client):
    factory = getattr(pos_actors, client)
    partner = pos_actors.partner
    expected = {"owner": 404, "stranger": 404, "partner": 200}
    detail = assert_actors(factory, "GET", system_url(partner, pos_system), expected)["partner"].json()
    assert detail["id"] == str(pos_system.public_id)
    assert detail["creator"] == {"id": pos_actors.owner.org_id, "name": "Kassa Hersteller GmbH"}
    assert [v["software_version"] for v in detail["versions"]] == ["3.1.0"]
    versions = assert_actors(factory, "GET", system_url(partner, pos_system, "/versions"), expected)["partner"]
    assert [row["software_version"] for row in versions.json()["results"]] == ["3.1.0"]
    shared = assert_actors(factory, "GET", url(partner, "shared-pos-systems"), expected)["partner"]
    assert result_ids(shared) == [str(pos_system.public_id)]
    one = assert_actors(factory, "GET", url(partner, f"shared-pos-systems/{pos_system.public_id}"), expected)
    assert one["partner"].json() == detail
    # its own creator list does not contain systems of others
    assert result_ids(assert_actors(factory, "GET", url(partner, "pos-systems"), expected)["partner"]) == []


@pytest.mark.parametrize("client", CLIENTS)
def test_the_dealer_cannot_change_the_creators_system(pos_actors, pos_system, client):
    factory = getattr(pos_actors, client)
    for method, target, data in _dealer_writes(pos_actors, pos_system):
        assert_actors(
            factory, method, target, {"owner": 404, "stranger": 404, "partner": (403, "E_PERMISSION_DENIED")}, data
        )
    system = PosSystem.unscoped.get(pk=pos_system.pk)
    assert (system.model, system.retired_at) == ("KP-500", None)
    assert PosSystemVersion.unscoped.filter(pos_system=system).count() == 1
    assert list(PosSystemDealer.unscoped.values_list("dealer", flat=True)) == [pos_actors.partner.organization.pk]
    assert not LogEntry.unscoped.filter(action__in=[
        "tenants.pos_system.changed", "tenants.pos_system.retired", "tenants.pos_system.version_added",
        "tenants.pos_system.unshared"]).exists()


def test_a_stranger_sees_nothing_of_the_system_under_its_own_url(pos_actors, pos_system):
    stranger = pos_actors.stranger
    for method, data in (("GET", None), ("PATCH", {"name": "x"})):
        assert_actors(pos_actors.api_client, method, system_url(stranger, pos_system), {"stranger": 404}, data)
    for rest, method in (("/versions", "GET"), ("/dealers", "GET"), ("/retire", "POST")):
        assert_actors(pos_actors.api_client, method, system_url(stranger, pos_system, rest), {"stranger": 404})
    shared = f"shared-pos-systems/{pos_system.public_id}"
    assert_actors(pos_actors.api_client, "GET", url(stranger, shared), {"stranger": 404})
    assert result_ids(api_client(stranger.key).get(url(stranger, "shared-pos-systems"))) == []


def test_the_creator_does_not_find_its_own_system_among_shared_ones(pos_actors, pos_system):
    owner = pos_actors.owner
    assert_actors(pos_actors.api_client, "GET", url(owner, f"shared-pos-systems/{pos_system.public_id}"),
                  {"owner": 404})


def test_partners_acting_for_an_operator_get_404(pos_actors):
    """An organization that is operator and creator grants a dealer `configure`: POS systems stay hidden."""
    user = make_user("both@example.com")
    both = make_organization(user, roles=(RoleKind.CREATOR, RoleKind.OPERATOR))
    grant_right(actor=None, operator=both, dealer=pos_actors.partner.organization, right="configure")
    partner = session_client(pos_actors.partner.user, pos_actors.partner.device)
    base = f"/api/v1/organizations/{both.public_id}"
    assert partner.get(base).status_code == 200  # the grant works for the organization itself
    assert_envelope(partner.get(f"{base}/pos-systems"), 404, "E_NOT_FOUND")
    assert_envelope(partner.post(f"{base}/pos-systems", NEW_SYSTEM, content_type="application/json"), 404)
    assert not PosSystem.unscoped.filter(organization=both).exists()


# --- capabilities and the creator role --------------------------------------------------------


def test_viewers_read_and_cannot_change(pos_actors, pos_system):
    viewer = pos_actors.viewer_client("owner")
    assert viewer.get(url(pos_actors.owner, "pos-systems")).status_code == 200
    assert viewer.get(system_url(pos_actors.owner, pos_system, "/dealers")).status_code == 200
    calls = [
        ("post", url(pos_actors.owner, "pos-systems"), NEW_SYSTEM),
        ("patch", system_url(pos_actors.owner, pos_system), {"name": "x"}),
        ("post", system_url(pos_actors.owner, pos_system, "/versions"), {"software_version": "9"}),
        ("post", system_url(pos_actors.owner, pos_system, "/retire"), None),
        ("delete", system_url(pos_actors.owner, pos_system, f"/dealers/{pos_actors.partner.org_id}"), None),
    ]
    for method, target, data in calls:
        assert_envelope(getattr(viewer, method)(target, data, content_type="application/json"), 403,
                        "E_PERMISSION_DENIED")
    assert PosSystem.unscoped.count() == 1 and PosSystem.unscoped.get().retired_at is None
    assert PosSystemDealer.unscoped.count() == 1


def test_a_read_only_key_reads_and_cannot_change(pos_actors, pos_system):
    client = pos_actors.read_only_client("owner")
    assert client.get(system_url(pos_actors.owner, pos_system)).status_code == 200
    response = client.post(url(pos_actors.owner, "pos-systems"), NEW_SYSTEM, content_type="application/json")
    assert_envelope(response, 403, "E_API_KEY_READ_ONLY")
    assert PosSystem.unscoped.count() == 1


def test_an_inactive_creator_role_blocks_creating_changing_versions_and_sharing(inactive_creator, pos_system):
    client = api_client(inactive_creator.key, **{"Accept-Language": "en"})
    calls = [
        ("post", url(inactive_creator, "pos-systems"), NEW_SYSTEM),
        ("patch", system_url(inactive_creator, pos_system), {"name": "x"}),
        ("post", system_url(inactive_creator, pos_system, "/versions"), {"software_version": "9"}),
        ("post", system_url(inactive_creator, pos_system, "/dealers"), {"email": "neu@haendler.example"}),
    ]
    for method, target, data in calls:
        body = assert_envelope(getattr(client, method)(target, data, content_type="application/json"), 403,
                               "E_ROLE_INACTIVE")
        assert "cooperation contract" in body["message"]
    assert PosSystem.unscoped.count() == 1 and PosSystem.unscoped.get().name == "KassaPro"
    assert not OutgoingMail.objects.exists()
    # reading, unsharing and retiring stay possible
    assert client.get(url(inactive_creator, "pos-systems")).status_code == 200
    unshare = system_url(inactive_creator, pos_system, f"/dealers/{pos_system.dealer_links.get().dealer.public_id}")
    assert client.delete(unshare).status_code == 204
    assert client.post(system_url(inactive_creator, pos_system, "/retire")).status_code == 200


def test_a_dealer_organization_cannot_register_systems(pos_actors):
    response = api_client(pos_actors.partner.key).post(url(pos_actors.partner, "pos-systems"), NEW_SYSTEM,
                                                        content_type="application/json")
    assert_envelope(response, 403, "E_ROLE_INACTIVE")


# --- registration and changes -----------------------------------------------------------------


def test_it_registers_a_system_with_its_first_version_for_the_organization_of_the_url(pos_actors):
    owner, stranger = pos_actors.owner, pos_actors.stranger
    payload = {**NEW_SYSTEM, "released_on": "2025-03-01", "organization": stranger.org_id,
               "creator": {"id": stranger.org_id}, "id": "00000000-0000-4000-8000-000000000000",
               "retired_at": "2020-01-01T00:00:00Z"}
    response = api_client(owner.key).post(url(owner, "pos-systems"), payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    system = PosSystem.unscoped.get()
    assert body["id"] == str(system.public_id) != payload["id"]
    assert system.organization == owner.organization and system.retired_at is None
    assert body["creator"]["id"] == owner.org_id
    assert {k: body[k] for k in ("name", "brand", "model", "system_type", "is_retired", "retired_at")} == {
        "name": "KassaLite", "brand": "Kassa GmbH", "model": "KP-500", "system_type": "pc_pos",
        "is_retired": False, "retired_at": None}
    assert [(v["software_name"], v["software_version"], v["released_on"]) for v in body["versions"]] == [
        ("KassaPro POS", "1.0", "2025-03-01")]
    entry = LogEntry.unscoped.get(action="tenants.pos_system.created")
    assert entry.actor_api_key == owner.api_key and entry.organization == owner.organization


@pytest.mark.parametrize(("change", "field"), [
    ({"software_version": None}, "software_version"),
    ({"brand": "B" * 51}, "brand"),
    ({"software_name": "S" * 51}, "software_name"),
    ({"system_type": "abacus"}, "system_type"),
    ({"name": ""}, "name"),
])
def test_it_validates_the_registration(pos_actors, change, field):
    payload = {k: v for k, v in {**NEW_SYSTEM, **change}.items() if v is not None}
    response = api_client(pos_actors.owner.key).post(url(pos_actors.owner, "pos-systems"), payload,
                                                      content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert field in body["details"]
    assert not PosSystem.unscoped.exists()


def test_patch_changes_the_master_data_and_audits_the_diff(pos_actors, pos_system):
    response = api_client(pos_actors.owner.key).patch(
        system_url(pos_actors.owner, pos_system), {"brand": "Kassa AG", "system_type": "tablet_app",
                                                   "organization": pos_actors.stranger.org_id},
        content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["brand"], response.json()["system_type"]) == ("Kassa AG", "tablet_app")
    system = PosSystem.unscoped.get(pk=pos_system.pk)
    assert (system.brand, system.organization) == ("Kassa AG", pos_actors.owner.organization)
    entry = LogEntry.unscoped.get(action="tenants.pos_system.changed")
    assert entry.data["changes"]["brand"] == {"old": "Kassa GmbH", "new": "Kassa AG"}


@pytest.mark.parametrize("method", ["delete", "put"])
def test_a_system_cannot_be_deleted_or_replaced(pos_actors, pos_system, method):
    response = getattr(api_client(pos_actors.owner.key), method)(
        system_url(pos_actors.owner, pos_system), NEW_SYSTEM, content_type="application/json")
    assert_envelope(response, 405, "E_METHOD_NOT_ALLOWED")
    assert PosSystem.unscoped.filter(pk=pos_system.pk).exists()


# --- retiring and the filter ------------------------------------------------------------------


def test_retiring_is_irreversible_and_the_system_stays_readable(pos_actors, pos_system):
    owner, partner = pos_actors.owner, pos_actors.partner
    client = api_client(owner.key)
    response = client.post(system_url(owner, pos_system, "/retire"))
    assert response.status_code == 200 and response.json()["is_retired"] and response.json()["retired_at"]
    assert_envelope(client.post(system_url(owner, pos_system, "/retire")), 409, "E_POS_SYSTEM_RETIRED")
    for method, rest, data in (
        ("patch", "", {"name": "Neu"}),
        ("post", "/versions", {"software_version": "4.0"}),
        ("post", "/dealers", {"dealer_id": pos_actors.stranger.org_id}),
    ):
        response = getattr(client, method)(system_url(owner, pos_system, rest), data, content_type="application/json")
        assert_envelope(response, 409, "E_POS_SYSTEM_RETIRED")
    assert client.get(system_url(owner, pos_system)).json()["is_retired"] is True
    dealer = api_client(partner.key)
    assert dealer.get(system_url(partner, pos_system)).status_code == 200
    assert result_ids(dealer.get(url(partner, "shared-pos-systems"))) == [str(pos_system.public_id)]
    assert result_ids(dealer.get(url(partner, "shared-pos-systems"), {"retired": "false"})) == []
    assert LogEntry.unscoped.filter(action="tenants.pos_system.retired").count() == 1


def test_the_list_filters_by_retirement(pos_actors, pos_system):
    owner = pos_actors.owner
    client = api_client(owner.key)
    active = client.post(url(owner, "pos-systems"), NEW_SYSTEM, content_type="application/json").json()["id"]
    client.post(system_url(owner, pos_system, "/retire"))
    assert sorted(result_ids(client.get(url(owner, "pos-systems")))) == sorted([active, str(pos_system.public_id)])
    assert result_ids(client.get(url(owner, "pos-systems"), {"retired": "true"})) == [str(pos_system.public_id)]
    assert result_ids(client.get(url(owner, "pos-systems"), {"retired": "false"})) == [active]
    assert_envelope(client.get(url(owner, "pos-systems"), {"retired": "sometimes"}), 400, "E_VALIDATION")


# --- versions ---------------------------------------------------------------------------------


def test_versions_are_unique_per_system(pos_actors, pos_system):
    client = api_client(pos_actors.owner.key)
    target = system_url(pos_actors.owner, pos_system, "/versions")
    created = client.post(target, {"software_version": "3.2.0", "released_on": "2025-06-01"},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["software_name"] == "KassaPro POS"  # kept from the latest version
    body = assert_envelope(client.post(target, {"software_version": "3.2.0"}, content_type="application/json"),
                           409, "E_VERSION_EXISTS")
    assert "3.2.0" in body["message"]
    assert [row["software_version"] for row in client.get(target).json()["results"]] == ["3.2.0", "3.1.0"]
    assert LogEntry.unscoped.filter(action="tenants.pos_system.version_added").count() == 1


# --- sharing ----------------------------------------------------------------------------------


def test_sharing_by_dealer_id_notifies_the_dealer_and_is_idempotent(pos_actors, pos_system):
    owner, stranger = pos_actors.owner, pos_actors.stranger
    client = api_client(owner.key)
    target = system_url(owner, pos_system, "/dealers")
    response = client.post(target, {"dealer_id": stranger.org_id}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["dealer"] == {"id": stranger.org_id, "name": "Stranger Systems GmbH"}
    assert list(OutgoingMail.objects.values_list("to", flat=True)) == ["stranger@example.com"]
    again = client.post(target, {"dealer_id": stranger.org_id}, content_type="application/json")
    assert again.status_code == 200 and OutgoingMail.objects.count() == 1
    assert sorted(row["dealer"]["id"] for row in client.get(target).json()["results"]) == sorted(
        [stranger.org_id, pos_actors.partner.org_id])
    assert result_ids(api_client(stranger.key).get(url(stranger, "shared-pos-systems"))) == [
        str(pos_system.public_id)]


def test_sharing_by_the_email_of_a_dealer_member(pos_actors, pos_system):
    owner, stranger = pos_actors.owner, pos_actors.stranger
    response = api_client(owner.key).post(system_url(owner, pos_system, "/dealers"),
                                          {"email": "stranger.member@example.com"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["dealer"]["id"] == stranger.org_id
    assert PosSystemDealer.unscoped.filter(pos_system=pos_system, dealer=stranger.organization).exists()
    assert "stranger.member@example.com" in OutgoingMail.objects.values_list("to", flat=True)


def test_sharing_with_an_unknown_address_invites_and_stores_nothing(pos_actors, pos_system):
    owner = pos_actors.owner
    response = api_client(owner.key).post(system_url(owner, pos_system, "/dealers"),
                                          {"email": "Neu@Haendler.example"}, content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["result"], body["email"]) == ("invitation_sent", "neu@haendler.example")
    assert "invitation" in body["message"]
    assert PosSystemDealer.unscoped.filter(pos_system=pos_system).count() == 1
    mail = OutgoingMail.objects.get()
    assert mail.to == "neu@haendler.example" and "/accounts/register/" in mail.body_text
    assert LogEntry.unscoped.filter(action="tenants.pos_system.dealer_invited").count() == 1


@pytest.mark.parametrize(("payload", "code"), [
    ({}, "E_VALIDATION"),
    ({"dealer_id": "00000000-0000-4000-8000-000000000000", "email": "a@example.com"}, "E_VALIDATION"),
    ({"email": "not-an-address"}, "E_VALIDATION"),
    ({"dealer_id": "00000000-0000-4000-8000-000000000000"}, "E_DEALER_NOT_FOUND"),
    ("owner", "E_DEALER_NOT_FOUND"),  # the creator itself holds no dealer role
])
def test_sharing_needs_exactly_one_dealer(pos_actors, pos_system, payload, code):
    if payload == "owner":
        payload = {"dealer_id": pos_actors.owner.org_id}
    response = api_client(pos_actors.owner.key).post(system_url(pos_actors.owner, pos_system, "/dealers"),
                                                      payload, content_type="application/json")
    assert_envelope(response, 400, code)
    assert PosSystemDealer.unscoped.count() == 1 and not OutgoingMail.objects.exists()


@pytest.mark.usefixtures("in_english")
def test_an_operator_is_no_share_target(pos_actors, pos_system):
    operator = make_organization(make_user("betrieb@example.com"), roles=(RoleKind.OPERATOR,))
    response = api_client(pos_actors.owner.key).post(system_url(pos_actors.owner, pos_system, "/dealers"),
                                                      {"dealer_id": str(operator.public_id)},
                                                      content_type="application/json")
    body = assert_envelope(response, 400, "E_DEALER_NOT_FOUND")
    assert body["details"] == {"dealer_id": ["There is no dealer organization with this id."]}


def test_unsharing_removes_the_dealers_access_with_the_next_request(pos_actors, pos_system):
    owner, partner = pos_actors.owner, pos_actors.partner
    dealer = session_client(partner.user, partner.device)
    shared = url(partner, f"shared-pos-systems/{pos_system.public_id}")
    assert dealer.get(shared).status_code == 200
    response = api_client(owner.key).delete(system_url(owner, pos_system, f"/dealers/{partner.org_id}"))
    assert response.status_code == 204
    assert_envelope(dealer.get(shared), 404, "E_NOT_FOUND")
    assert_envelope(dealer.get(system_url(partner, pos_system)), 404, "E_NOT_FOUND")
    assert result_ids(dealer.get(url(partner, "shared-pos-systems"))) == []
    assert_envelope(api_client(owner.key).delete(system_url(owner, pos_system, f"/dealers/{partner.org_id}")), 404)
    entries = LogEntry.unscoped.filter(action="tenants.pos_system.unshared")
    assert {e.organization_id for e in entries} == {owner.organization.pk, partner.organization.pk}
    assert all(e.actor_api_key_id == owner.api_key.pk for e in entries)


def test_a_member_of_creator_and_dealer_sees_each_side_under_its_own_url(pos_actors, pos_system, stranger_system):
    """One user in both the creator and the stranger organization: the URL's organization decides."""
    user = make_user("zwei@example.com")
    add_member(pos_actors.owner.organization, user)
    add_member(pos_actors.stranger.organization, user)
    client = session_client(user, give_totp_device(user))
    assert client.get(system_url(pos_actors.owner, pos_system)).status_code == 200
    assert_envelope(client.get(system_url(pos_actors.stranger, pos_system)), 404)
    assert_envelope(client.get(system_url(pos_actors.owner, stranger_system)), 404)
    assert result_ids(client.get(url(pos_actors.owner, "pos-systems"))) == [str(pos_system.public_id)]
