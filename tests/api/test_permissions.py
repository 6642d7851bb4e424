"""Roles and key rights: read-only keys, the last owner, owner-only promotions."""

import pytest

from tenants.models import ApiKey, Membership, MembershipRole
from tests.factories import add_member, give_totp_device, make_api_key, make_user
from tests.helpers import api_client, assert_envelope, session_client

pytestmark = pytest.mark.django_db


def _memberships_url(actor, membership=None):
    url = f"/api/v1/organizations/{actor.org_id}/memberships"
    return f"{url}/{membership.public_id}" if membership else url


def _owner_membership(actor):
    return Membership.unscoped.get(organization=actor.organization, user=actor.user)


def _member_membership(actor):
    return Membership.unscoped.get(organization=actor.organization, user=actor.member)


def _verified_session(organization, role):
    user = make_user()
    add_member(organization, user, role)
    return user, session_client(user, give_totp_device(user))


# --- read-only API keys ---------------------------------------------------------------------


def test_it_lets_a_read_only_key_read(actors, read_only_key):
    _api_key, key = read_only_key
    client = api_client(key)
    assert client.get(f"/api/v1/organizations/{actors.owner.org_id}").status_code == 200
    assert client.get(f"/api/v1/organizations/{actors.owner.org_id}/api-keys").status_code == 200
    assert client.get(_memberships_url(actors.owner)).status_code == 200


def test_it_refuses_every_unsafe_call_of_a_read_only_key(actors, read_only_key):
    _api_key, key = read_only_key
    client = api_client(key)
    org = f"/api/v1/organizations/{actors.owner.org_id}"
    membership = _member_membership(actors.owner)
    calls = [
        ("post", f"{org}/api-keys", {"name": "more"}),
        ("delete", f"{org}/api-keys/{actors.owner.api_key.public_id}", None),
        ("patch", org, {"city": "Leipzig", "postal_code": "04109"}),
        ("put", org, {"name": "X", "legal_form": "gmbh", "street": "S 1", "postal_code": "04109", "city": "L"}),
        ("patch", _memberships_url(actors.owner, membership), {"role": "viewer"}),
        ("delete", _memberships_url(actors.owner, membership), None),
    ]
    for method, url, data in calls:
        response = getattr(client, method)(url, data, content_type="application/json")
        body = assert_envelope(response, 403, "E_API_KEY_READ_ONLY")
        assert body["message"] == "This API key has read access only."
    actors.owner.organization.refresh_from_db()
    assert actors.owner.organization.city == "Berlin"
    assert ApiKey.unscoped.filter(organization=actors.owner.organization).count() == 2
    actors.owner.api_key.refresh_from_db()
    assert actors.owner.api_key.revoked_at is None
    membership.refresh_from_db()
    assert membership.role == MembershipRole.MEMBER


def test_it_lets_a_write_key_change_the_organization(actors):
    response = api_client(actors.owner.key).patch(
        f"/api/v1/organizations/{actors.owner.org_id}",
        {"city": "Leipzig", "postal_code": "04109"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


# --- the last owner -------------------------------------------------------------------------


def test_it_refuses_to_demote_the_last_owner(actors):
    url = _memberships_url(actors.owner, _owner_membership(actors.owner))
    response = actors.session_client("owner").patch(url, {"role": "admin"}, content_type="application/json")
    assert_envelope(response, 409, "E_LAST_OWNER")
    assert _owner_membership(actors.owner).role == MembershipRole.OWNER


def test_it_refuses_to_remove_the_last_owner(actors):
    url = _memberships_url(actors.owner, _owner_membership(actors.owner))
    response = actors.session_client("owner").delete(url)
    assert_envelope(response, 409, "E_LAST_OWNER")
    assert Membership.unscoped.filter(organization=actors.owner.organization, role="owner").count() == 1


def test_it_lets_an_owner_step_down_when_another_owner_remains(actors):
    second, _client = _verified_session(actors.owner.organization, MembershipRole.OWNER)
    url = _memberships_url(actors.owner, _owner_membership(actors.owner))
    response = actors.session_client("owner").patch(url, {"role": "admin"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert _owner_membership(actors.owner).role == MembershipRole.ADMIN
    assert Membership.unscoped.get(organization=actors.owner.organization, user=second).role == "owner"


def test_it_lets_an_owner_promote_a_member_to_owner(actors):
    url = _memberships_url(actors.owner, _member_membership(actors.owner))
    response = actors.session_client("owner").patch(url, {"role": "owner"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert _member_membership(actors.owner).role == MembershipRole.OWNER


# --- admins cannot make or unmake owners ----------------------------------------------------


def test_it_refuses_an_admin_making_someone_owner(actors):
    _admin, client = _verified_session(actors.owner.organization, MembershipRole.ADMIN)
    url = _memberships_url(actors.owner, _member_membership(actors.owner))
    response = client.patch(url, {"role": "owner"}, content_type="application/json")
    assert_envelope(response, 403, "E_OWNER_REQUIRED")
    assert _member_membership(actors.owner).role == MembershipRole.MEMBER


def test_it_refuses_an_admin_demoting_or_removing_an_owner(actors):
    add_member(actors.owner.organization, make_user(), MembershipRole.OWNER)  # so E_LAST_OWNER is not the reason
    _admin, client = _verified_session(actors.owner.organization, MembershipRole.ADMIN)
    url = _memberships_url(actors.owner, _owner_membership(actors.owner))
    assert_envelope(client.patch(url, {"role": "member"}, content_type="application/json"), 403, "E_OWNER_REQUIRED")
    assert_envelope(client.delete(url), 403, "E_OWNER_REQUIRED")
    assert _owner_membership(actors.owner).role == MembershipRole.OWNER


def test_it_lets_an_admin_change_a_member_role(actors):
    _admin, client = _verified_session(actors.owner.organization, MembershipRole.ADMIN)
    url = _memberships_url(actors.owner, _member_membership(actors.owner))
    response = client.patch(url, {"role": "admin"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert _member_membership(actors.owner).role == MembershipRole.ADMIN


def test_it_refuses_an_unknown_role_with_a_validation_error(actors):
    url = _memberships_url(actors.owner, _member_membership(actors.owner))
    response = actors.session_client("owner").patch(url, {"role": "emperor"}, content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert "role" in body["details"]


@pytest.mark.parametrize("role", [MembershipRole.MEMBER, MembershipRole.VIEWER])
def test_it_forbids_members_and_viewers_to_manage_members(actors, role):
    user = make_user()
    add_member(actors.owner.organization, user, role)
    client = session_client(user)
    url = _memberships_url(actors.owner, _member_membership(actors.owner))
    assert client.get(url).status_code == 200
    assert_envelope(client.patch(url, {"role": "viewer"}, content_type="application/json"), 403, "E_PERMISSION_DENIED")
    assert_envelope(client.delete(url), 403, "E_PERMISSION_DENIED")


def test_it_lets_an_admin_create_and_revoke_api_keys(actors):
    _admin, client = _verified_session(actors.owner.organization, MembershipRole.ADMIN)
    base = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    created = client.post(base, {"name": "admin key"}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert client.delete(f"{base}/{created.json()['id']}").status_code == 204
    api_key = ApiKey.unscoped.get(public_id=created.json()["id"])
    assert api_key.revoked_at is not None
    assert api_key.created_by_id == _admin.pk


def test_it_revokes_an_already_revoked_key_again_without_error(actors):
    target, _key = make_api_key(actors.owner.organization)
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys/{target.public_id}"
    client = api_client(actors.owner.key)
    assert client.delete(url).status_code == 204
    first = ApiKey.unscoped.get(pk=target.pk).revoked_at
    assert client.delete(url).status_code == 204
    assert ApiKey.unscoped.get(pk=target.pk).revoked_at == first
