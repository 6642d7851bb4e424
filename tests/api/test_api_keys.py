"""API-key authentication: valid, revoked, expired, malformed; shown once; stored as a digest."""

import hashlib
import hmac
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal.models import IdempotencyRecord, LogEntry
from tenants.models import ApiKey
from tenants.services.api_keys import revoke_api_key
from tests.factories import make_api_key
from tests.helpers import api_client, assert_envelope

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def test_it_accepts_a_valid_key_and_records_its_use(actors):
    assert actors.owner.api_key.last_used_at is None
    response = api_client(actors.owner.key).get(ME)
    assert response.status_code == 200, response.content
    assert response.json()["api_key"]["id"] == str(actors.owner.api_key.public_id)
    actors.owner.api_key.refresh_from_db()
    assert actors.owner.api_key.last_used_at is not None


def test_it_accepts_the_bearer_scheme_in_any_case(actors):
    response = Client(headers={"Authorization": f"bearer {actors.owner.key}"}).get(ME)
    assert response.status_code == 200


def test_it_rejects_a_revoked_key(actors):
    revoke_api_key(actor=None, api_key=actors.owner.api_key)
    response = api_client(actors.owner.key).get(ME)
    body = assert_envelope(response, 401, "E_API_KEY_REVOKED")
    assert body["message"] == "This API key has been revoked."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_rejects_a_key_revoked_through_the_api_at_once(actors):
    target, key = make_api_key(actors.owner.organization)
    assert api_client(key).get(ME).status_code == 200
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys/{target.public_id}"
    assert api_client(actors.owner.key).delete(url).status_code == 204
    assert_envelope(api_client(key).get(ME), 401, "E_API_KEY_REVOKED")


def test_it_rejects_a_key_whose_expiry_has_passed_in_the_database(actors):
    ApiKey.unscoped.filter(pk=actors.owner.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_envelope(api_client(actors.owner.key).get(ME), 401, "E_API_KEY_EXPIRED")
    assert body["message"] == "This API key has expired."


def test_it_accepts_a_key_until_it_expires(actors):
    _api_key, key = make_api_key(actors.owner.organization, expires_at=timezone.now() + timedelta(hours=1))
    assert api_client(key).get(ME).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1), tick=False):
        assert_envelope(api_client(key).get(ME), 401, "E_API_KEY_EXPIRED")


def test_it_refuses_to_create_a_key_that_is_already_expired(actors):
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = api_client(actors.owner.key).post(
        url, {"name": "old", "expires_at": past}, content_type="application/json"
    )
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert "expires_at" in body["details"]
    assert not ApiKey.unscoped.filter(name="old").exists()


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda key: "garbage", id="garbage"),
        pytest.param(lambda key: "", id="empty"),
        pytest.param(lambda key: key.split(".")[0], id="no-secret"),
        pytest.param(lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"), id="wrong-secret"),
        pytest.param(lambda key: key.split(".")[0] + ".", id="empty-secret"),
        pytest.param(lambda key: settings.API_KEY_PREFIX + "000000000000." + key.split(".")[1], id="unknown-id"),
        pytest.param(lambda key: "kp_live_" + key[len("kp_test_") :], id="other-environment-prefix"),
        pytest.param(lambda key: key.replace(".", "", 1), id="no-dot"),
    ],
)
def test_it_rejects_every_bad_key_with_the_same_answer(actors, mangle):
    response = api_client(mangle(actors.owner.key)).get(ME)
    body = assert_envelope(response, 401, "E_UNAUTHORIZED")
    assert body["message"] == "Invalid API key."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_gives_no_hint_whether_the_key_id_exists(actors):
    key_id_part, secret = actors.owner.key.split(".")
    wrong_secret = api_client(f"{key_id_part}.{'x' * len(secret)}").get(ME)
    unknown_id = api_client(f"{settings.API_KEY_PREFIX}ffffffffffff.{secret}").get(ME)
    assert wrong_secret.status_code == unknown_id.status_code == 401
    assert wrong_secret.json() == unknown_id.json()


def test_it_shows_the_key_only_in_the_create_response(actors):
    base = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    client = api_client(actors.owner.key)
    created = client.post(base, {"name": "till 7", "can_write": True}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    key = body["key"]
    assert key.startswith(settings.API_KEY_PREFIX)
    assert body["prefix"] == key.split(".")[0]
    assert body["rights"] == ["read", "write"]

    listed = client.get(base).json()["results"]
    assert {row["id"] for row in listed} >= {body["id"]}
    assert all("key" not in row for row in listed)
    retrieved = client.get(f"{base}/{body['id']}").json()
    assert "key" not in retrieved
    assert key not in client.get(base).content.decode()

    # and the shown key works
    me = api_client(key).get(ME).json()
    assert me["api_key"]["id"] == body["id"]


def test_it_stores_only_a_digest_of_the_secret(actors):
    base = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    body = api_client(actors.owner.key).post(base, {"name": "digest"}, content_type="application/json").json()
    secret = body["key"].split(".", 1)[1]
    row = ApiKey.unscoped.filter(public_id=body["id"]).values().get()
    assert all(secret not in str(value) for value in row.values()), row
    expected = hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()
    assert row["secret_digest"] == expected
    assert row["secret_digest"] != hashlib.sha256(secret.encode()).hexdigest()  # peppered, not a plain hash
    for entry in LogEntry.unscoped.filter(object_id=body["id"]):
        assert secret not in str(entry.data)


def test_it_does_not_persist_the_secret_outside_the_api_key_row_without_idempotency(actors):
    base = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    body = api_client(actors.owner.key).post(base, {"name": "plain"}, content_type="application/json").json()
    secret = body["key"].split(".", 1)[1]
    assert not IdempotencyRecord.objects.exists()
    assert not LogEntry.unscoped.filter(data__icontains=secret).exists()


def test_it_creates_read_only_keys_by_default(actors):
    base = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    body = api_client(actors.owner.key).post(base, {"name": "reader"}, content_type="application/json").json()
    assert body["can_write"] is False
    assert body["rights"] == ["read"]
    assert_envelope(
        api_client(body["key"]).post(base, {"name": "x"}, content_type="application/json"), 403, "E_API_KEY_READ_ONLY"
    )
