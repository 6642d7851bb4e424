"""Session users get the same isolation as API keys; owners and admins need verified 2FA."""

import pytest

from tests.factories import add_member, give_totp_device, make_user
from tests.helpers import assert_actors, assert_envelope, result_ids, session_client

pytestmark = pytest.mark.django_db


def test_it_isolates_member_role_session_users_like_api_keys(actors):
    owner_url = f"/api/v1/organizations/{actors.owner.org_id}"
    expected = {"owner": 200, "partner": 200, "stranger": 404}
    assert_actors(actors.member_client, "GET", owner_url, expected)
    assert_actors(actors.api_client, "GET", owner_url, expected)
    expected = {"owner": 200, "partner": 404, "stranger": 404}
    assert_actors(actors.member_client, "GET", f"{owner_url}/memberships", expected)
    assert_actors(actors.api_client, "GET", f"{owner_url}/memberships", expected)
    for name in ("owner", "partner", "stranger"):
        by_session = result_ids(actors.member_client(name).get("/api/v1/organizations"))
        by_key = result_ids(actors.api_client(name).get("/api/v1/organizations"))
        assert by_session == by_key


def test_it_blocks_an_owner_without_2fa_on_the_api(actors):
    owner = make_user()
    add_member(actors.owner.organization, owner, "owner")
    response = session_client(owner).get("/api/v1/me")
    assert_envelope(response, 403, "E_TWO_FACTOR_SETUP_REQUIRED")


def test_it_blocks_an_admin_whose_session_is_not_otp_verified(actors):
    admin = make_user()
    add_member(actors.owner.organization, admin, "admin")
    give_totp_device(admin)
    response = session_client(admin).get("/api/v1/me")  # logged in, device never verified
    assert_envelope(response, 403, "E_TWO_FACTOR_REQUIRED")


def test_it_lets_a_verified_owner_use_the_api(actors):
    response = actors.session_client("owner").get("/api/v1/me")
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "user"


def test_it_answers_401_to_an_anonymous_caller(db):
    from django.test import Client

    assert_envelope(Client().get("/api/v1/me"), 401, "E_UNAUTHORIZED")
