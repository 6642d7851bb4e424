"""Tenant isolation of every tenants API endpoint, with the three actors of ``tests.helpers``."""

import uuid

import pytest

from portal.models import LogEntry
from tenants.models import ApiKey, Membership, MembershipRole, Organization
from tenants.services.grants import revoke_right
from tests.factories import make_api_key
from tests.helpers import assert_actors, assert_envelope, result_ids

pytestmark = pytest.mark.django_db

ALL_SEE = {"owner": 200, "partner": 200, "stranger": 404}
ONLY_OWNER = {"partner": 404, "stranger": 404, "owner": 200}
# changing the company data is a right a partner could be granted (`configure`): 403 without it
OWNER_CHANGES = {"partner": (403, "E_PERMISSION_DENIED"), "stranger": 404, "owner": 200}
FACTORIES = ["api_client", "session_client"]


def _factory(actors, kind):
    return getattr(actors, kind)


def _org_url(actor):
    return f"/api/v1/organizations/{actor.organization.public_id}"


def _full_org_body(**overrides):
    body = {
        "name": "Renamed Betriebs GmbH",
        "legal_form": "gmbh",
        "street": "Neue Straße 1",
        "postal_code": "20095",
        "city": "Hamburg",
        "country": "DE",
        "tax_number": "",
        "vat_id": "",
    }
    body.update(overrides)
    return body


# --- /api/v1/me -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_shows_each_actor_only_its_own_organizations_in_me(actors, kind):
    responses = assert_actors(
        _factory(actors, kind), "GET", "/api/v1/me", {"owner": 200, "partner": 200, "stranger": 200}
    )
    seen = {name: {o["id"]: o for o in r.json()["organizations"]} for name, r in responses.items()}
    assert set(seen["owner"]) == {actors.owner.org_id}
    assert set(seen["partner"]) == {actors.partner.org_id, actors.owner.org_id}
    assert set(seen["stranger"]) == {actors.stranger.org_id}

    granted = seen["partner"][actors.owner.org_id]
    assert granted["relation"] == "partner"
    assert granted["role"] is None
    assert granted["rights"] == ["read"]
    assert granted["capabilities"] == ["view", "view_master_data"]
    assert seen["partner"][actors.partner.org_id]["relation"] == "member"


def test_it_reports_the_api_key_as_caller_in_me(actors):
    body = actors.api_client("owner").get("/api/v1/me").json()
    assert body["kind"] == "api_key"
    assert body["user"] is None
    assert body["api_key"]["id"] == str(actors.owner.api_key.public_id)
    assert "key" not in body["api_key"]


def test_it_reports_the_user_as_caller_in_me(actors):
    body = actors.session_client("owner").get("/api/v1/me").json()
    assert body["kind"] == "user"
    assert body["user"]["email"] == "owner@example.com"
    assert body["two_factor_enabled"] is True
    assert body["api_key"] is None


# --- organizations --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_lists_only_visible_organizations(actors, kind):
    responses = assert_actors(
        _factory(actors, kind), "GET", "/api/v1/organizations", {"owner": 200, "partner": 200, "stranger": 200}
    )
    assert result_ids(responses["owner"]) == [actors.owner.org_id]
    # ordered by name: "Owner Betriebs GmbH" < "Partner Kassenhandel GmbH"
    assert result_ids(responses["partner"]) == [actors.owner.org_id, actors.partner.org_id]
    assert result_ids(responses["stranger"]) == [actors.stranger.org_id]
    assert responses["partner"].json()["count"] == 2


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_shows_the_operator_organization_to_owner_and_partner_only(actors, kind):
    responses = assert_actors(_factory(actors, kind), "GET", _org_url(actors.owner), ALL_SEE)
    assert responses["owner"].json()["id"] == actors.owner.org_id
    assert responses["partner"].json()["name"] == "Owner Betriebs GmbH"


def test_it_does_not_show_the_dealer_to_the_operator_that_granted_it(actors):
    # a grant lets the dealer see the operator, never the other way round
    assert_actors(actors.api_client, "GET", _org_url(actors.partner), {"owner": 404, "stranger": 404, "partner": 200})


def test_it_answers_404_for_an_unknown_or_malformed_organization_id(actors):
    client = actors.api_client("owner")
    assert_envelope(client.get(f"/api/v1/organizations/{uuid.uuid4()}"), 404, "E_NOT_FOUND")
    assert_envelope(client.get("/api/v1/organizations/not-a-uuid"), 404, "E_NOT_FOUND")


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_lets_only_the_owner_patch_its_organization(actors, kind):
    responses = assert_actors(
        _factory(actors, kind),
        "PATCH",
        _org_url(actors.owner),
        OWNER_CHANGES,
        data={"city": "Hamburg", "postal_code": "20095"},
    )
    assert responses["owner"].json()["city"] == "Hamburg"
    actors.owner.organization.refresh_from_db()
    assert actors.owner.organization.city == "Hamburg"


def test_it_leaves_the_organization_unchanged_after_foreign_patches(actors):
    assert_actors(
        actors.api_client, "PATCH", _org_url(actors.owner), {"partner": (403, "E_PERMISSION_DENIED"), "stranger": 404},
        data={"name": "Hijacked"},
    )
    actors.owner.organization.refresh_from_db()
    assert actors.owner.organization.name == "Owner Betriebs GmbH"
    assert not LogEntry.unscoped.filter(action="tenants.organization.changed").exists()


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_lets_only_the_owner_put_its_organization(actors, kind):
    responses = assert_actors(
        _factory(actors, kind), "PUT", _org_url(actors.owner), OWNER_CHANGES, data=_full_org_body()
    )
    assert responses["owner"].json()["name"] == "Renamed Betriebs GmbH"
    assert Organization.unscoped.get(pk=actors.owner.organization.pk).street == "Neue Straße 1"


def test_it_refuses_a_patch_of_the_granted_operator_even_with_a_right_to_read(actors):
    # the partner may read the operator but not change it without the `configure` right
    response = actors.session_client("partner").patch(
        _org_url(actors.owner), {"name": "X"}, content_type="application/json"
    )
    assert_envelope(response, 403, "E_PERMISSION_DENIED")


def test_it_forbids_a_member_without_the_role_to_change_its_organization(actors):
    response = actors.member_client("owner").patch(
        _org_url(actors.owner), {"city": "Köln"}, content_type="application/json"
    )
    assert_envelope(response, 403, "E_PERMISSION_DENIED")


# --- memberships ----------------------------------------------------------------------------


def _membership(actor, user):
    return Membership.unscoped.get(organization=actor.organization, user=user)


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_lists_memberships_only_to_members(actors, kind):
    url = f"{_org_url(actors.owner)}/memberships"
    responses = assert_actors(_factory(actors, kind), "GET", url, ONLY_OWNER)
    expected = Membership.unscoped.filter(organization=actors.owner.organization)
    assert sorted(result_ids(responses["owner"])) == sorted(str(m.public_id) for m in expected)
    emails = {row["user"]["email"] for row in responses["owner"].json()["results"]}
    assert emails == {"owner@example.com", actors.owner.member.email}


def test_it_lists_only_the_callers_own_memberships_to_each_actor(actors):
    for actor in actors:
        ids = result_ids(actors.api_client(actor.name).get(f"{_org_url(actor)}/memberships"))
        own = {str(m.public_id) for m in Membership.unscoped.filter(organization=actor.organization)}
        assert set(ids) == own


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_shows_a_membership_only_to_members(actors, kind):
    membership = _membership(actors.owner, actors.owner.member)
    url = f"{_org_url(actors.owner)}/memberships/{membership.public_id}"
    responses = assert_actors(_factory(actors, kind), "GET", url, ONLY_OWNER)
    assert responses["owner"].json()["role"] == "member"


def test_it_hides_a_foreign_membership_under_the_callers_own_organization(actors):
    # the stranger's membership id under the owner's URL: the row is outside the scope -> 404
    foreign = _membership(actors.stranger, actors.stranger.member)
    url = f"{_org_url(actors.owner)}/memberships/{foreign.public_id}"
    assert_actors(actors.api_client, "GET", url, {"owner": 404})
    assert_actors(actors.session_client, "PATCH", url, {"owner": 404}, data={"role": "viewer"})
    assert_actors(actors.session_client, "DELETE", url, {"owner": 404})
    foreign.refresh_from_db()
    assert foreign.role == MembershipRole.MEMBER


def test_it_lets_only_the_owner_change_a_role(actors):
    membership = _membership(actors.owner, actors.owner.member)
    url = f"{_org_url(actors.owner)}/memberships/{membership.public_id}"
    assert_actors(actors.session_client, "PATCH", url, {"partner": 404, "stranger": 404}, data={"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == MembershipRole.MEMBER
    responses = assert_actors(actors.session_client, "PATCH", url, {"owner": 200}, data={"role": "viewer"})
    assert responses["owner"].json()["role"] == "viewer"
    membership.refresh_from_db()
    assert membership.role == MembershipRole.VIEWER


def test_it_lets_only_the_owner_remove_a_member(actors):
    membership = _membership(actors.owner, actors.owner.member)
    url = f"{_org_url(actors.owner)}/memberships/{membership.public_id}"
    assert_actors(actors.session_client, "DELETE", url, {"partner": 404, "stranger": 404})
    assert Membership.unscoped.filter(pk=membership.pk).exists()
    assert_actors(actors.session_client, "DELETE", url, {"owner": 204})
    assert not Membership.unscoped.filter(pk=membership.pk).exists()


def test_it_refuses_membership_changes_by_api_keys_of_the_organization(actors):
    # keys manage machines, not people: manage_members is not a key capability
    membership = _membership(actors.owner, actors.owner.member)
    url = f"{_org_url(actors.owner)}/memberships/{membership.public_id}"
    assert_actors(
        actors.api_client,
        "PATCH",
        url,
        {"partner": 404, "stranger": 404, "owner": (403, "E_PERMISSION_DENIED")},
        data={"role": "admin"},
    )
    assert_actors(
        actors.api_client, "DELETE", url, {"partner": 404, "stranger": 404, "owner": (403, "E_PERMISSION_DENIED")}
    )
    membership.refresh_from_db()
    assert membership.role == MembershipRole.MEMBER


# --- API keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_lists_api_keys_only_to_the_organization(actors, kind):
    url = f"{_org_url(actors.owner)}/api-keys"
    responses = assert_actors(_factory(actors, kind), "GET", url, ONLY_OWNER)
    assert result_ids(responses["owner"]) == [str(actors.owner.api_key.public_id)]


def test_it_lists_only_the_callers_own_api_keys_to_each_actor(actors):
    for actor in actors:
        assert result_ids(actors.api_client(actor.name).get(f"{_org_url(actor)}/api-keys")) == [
            str(actor.api_key.public_id)
        ]


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_shows_an_api_key_only_to_the_organization(actors, kind):
    url = f"{_org_url(actors.owner)}/api-keys/{actors.owner.api_key.public_id}"
    responses = assert_actors(_factory(actors, kind), "GET", url, ONLY_OWNER)
    assert responses["owner"].json()["name"] == "owner write key"


@pytest.mark.parametrize("kind", FACTORIES)
def test_it_lets_only_the_owner_create_an_api_key(actors, kind):
    url = f"{_org_url(actors.owner)}/api-keys"
    before = ApiKey.unscoped.filter(organization=actors.owner.organization).count()
    total = ApiKey.unscoped.count()
    assert_actors(_factory(actors, kind), "POST", url, {"partner": 404, "stranger": 404}, data={"name": "evil"})
    assert ApiKey.unscoped.count() == total
    assert_actors(_factory(actors, kind), "POST", url, {"owner": 201}, data={"name": "till 1"})
    assert ApiKey.unscoped.filter(organization=actors.owner.organization).count() == before + 1


def test_it_lets_only_the_owner_revoke_an_api_key(actors):
    target, _key = make_api_key(actors.owner.organization, name="to revoke")
    url = f"{_org_url(actors.owner)}/api-keys/{target.public_id}"
    assert_actors(actors.api_client, "DELETE", url, {"partner": 404, "stranger": 404})
    target.refresh_from_db()
    assert target.revoked_at is None
    assert_actors(actors.api_client, "DELETE", url, {"owner": 204})
    target.refresh_from_db()
    assert target.revoked_at is not None


def test_it_hides_a_foreign_api_key_under_the_callers_own_organization(actors):
    url = f"{_org_url(actors.owner)}/api-keys/{actors.stranger.api_key.public_id}"
    assert_actors(actors.api_client, "GET", url, {"owner": 404})
    assert_actors(actors.api_client, "DELETE", url, {"owner": 404})
    actors.stranger.api_key.refresh_from_db()
    assert actors.stranger.api_key.revoked_at is None


def test_it_forbids_a_member_role_to_see_api_keys(actors):
    response = actors.member_client("owner").get(f"{_org_url(actors.owner)}/api-keys")
    assert_envelope(response, 403, "E_PERMISSION_DENIED")


# --- a key of org A cannot touch org B ------------------------------------------------------


def test_it_answers_404_to_every_call_of_a_key_on_another_organization(actors):
    stranger = actors.stranger
    client = actors.api_client("owner")
    membership = _membership(stranger, stranger.member)
    calls = [
        ("get", _org_url(stranger), None),
        ("patch", _org_url(stranger), {"name": "Taken over"}),
        ("put", _org_url(stranger), _full_org_body()),
        ("get", f"{_org_url(stranger)}/memberships", None),
        ("get", f"{_org_url(stranger)}/memberships/{membership.public_id}", None),
        ("patch", f"{_org_url(stranger)}/memberships/{membership.public_id}", {"role": "owner"}),
        ("delete", f"{_org_url(stranger)}/memberships/{membership.public_id}", None),
        ("get", f"{_org_url(stranger)}/api-keys", None),
        ("post", f"{_org_url(stranger)}/api-keys", {"name": "backdoor", "can_write": True}),
        ("get", f"{_org_url(stranger)}/api-keys/{stranger.api_key.public_id}", None),
        ("delete", f"{_org_url(stranger)}/api-keys/{stranger.api_key.public_id}", None),
    ]
    for method, url, data in calls:
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(url, data, content_type="application/json")
        assert_envelope(response, 404, "E_NOT_FOUND")
    stranger.organization.refresh_from_db()
    assert stranger.organization.name == "Stranger Gastro GmbH"
    assert ApiKey.unscoped.filter(organization=stranger.organization).count() == 1
    stranger.api_key.refresh_from_db()
    assert stranger.api_key.revoked_at is None
    assert Membership.unscoped.filter(pk=membership.pk, role=MembershipRole.MEMBER).exists()


def test_it_answers_the_same_404_for_a_foreign_and_a_nonexistent_organization(actors):
    client = actors.api_client("stranger")
    foreign = client.get(f"{_org_url(actors.owner)}/api-keys")
    missing = client.get(f"/api/v1/organizations/{uuid.uuid4()}/api-keys")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


# --- the tenant of new objects is set by the server -----------------------------------------


def test_it_ignores_an_organization_in_the_body_of_a_new_api_key(actors):
    url = f"{_org_url(actors.owner)}/api-keys"
    response = actors.api_client("owner").post(
        url,
        {"name": "sneaky", "organization": actors.stranger.org_id, "organization_id": actors.stranger.organization.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    created = ApiKey.unscoped.get(public_id=response.json()["id"])
    assert created.organization_id == actors.owner.organization.pk
    assert not ApiKey.unscoped.filter(organization=actors.stranger.organization, name="sneaky").exists()


def test_it_ignores_id_and_organization_fields_in_an_organization_update(actors):
    response = actors.api_client("owner").patch(
        _org_url(actors.owner),
        {"id": actors.stranger.org_id, "city": "Bremen", "postal_code": "28195"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == actors.owner.org_id
    actors.owner.organization.refresh_from_db()
    assert str(actors.owner.organization.public_id) == actors.owner.org_id
    assert actors.owner.organization.city == "Bremen"
    actors.stranger.organization.refresh_from_db()
    assert actors.stranger.organization.city == "Berlin"


# --- grants ---------------------------------------------------------------------------------


def test_it_hides_the_operator_from_the_partner_at_once_when_the_grant_is_revoked(actors):
    url = _org_url(actors.owner)
    assert_actors(actors.api_client, "GET", url, {"partner": 200})
    revoke_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization, right="read")
    assert_actors(actors.api_client, "GET", url, {"partner": 404})
    ids = result_ids(actors.api_client("partner").get("/api/v1/organizations"))
    assert ids == [actors.partner.org_id]
