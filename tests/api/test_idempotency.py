"""``Idempotency-Key`` on unsafe API calls (portal.idempotency)."""

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

import tenants.api.views
from portal.models import IdempotencyRecord
from tenants.models import ApiKey
from tests.helpers import api_client, assert_envelope


def _keys_url(actor):
    return f"/api/v1/organizations/{actor.org_id}/api-keys"


def _post(client, url, body, key):
    return client.post(url, json.dumps(body), content_type="application/json", headers={"Idempotency-Key": key})


@pytest.mark.django_db
def test_it_replays_the_stored_response_and_creates_nothing_new(actors):
    client = api_client(actors.owner.key)
    url = _keys_url(actors.owner)
    first = _post(client, url, {"name": "till 1"}, "create-till-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    replay = _post(client, url, {"name": "till 1"}, "create-till-1")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["Content-Type"].startswith("application/json")
    assert replay.json() == first.json()
    assert ApiKey.unscoped.filter(organization=actors.owner.organization, name="till 1").count() == 1


@pytest.mark.django_db
def test_it_keeps_a_new_api_key_only_encrypted_and_still_replays_it(actors):
    client = api_client(actors.owner.key)
    first = _post(client, _keys_url(actors.owner), {"name": "till 2"}, "create-till-2")
    secret = first.json()["key"]
    assert first["Cache-Control"] == "no-store"
    record = IdempotencyRecord.objects.get(key="create-till-2")
    stored = bytes(record.body)
    assert secret.encode() not in stored and secret.split(".")[1].encode() not in stored
    replay = _post(client, _keys_url(actors.owner), {"name": "till 2"}, "create-till-2")
    assert replay.json()["key"] == secret
    assert replay["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_replays_an_idempotent_revocation(actors):
    from tests.factories import make_api_key

    target, _key = make_api_key(actors.owner.organization)
    client = api_client(actors.owner.key, **{"Idempotency-Key": "revoke-1"})
    url = f"{_keys_url(actors.owner)}/{target.public_id}"
    assert client.delete(url).status_code == 204
    target.refresh_from_db()
    revoked_at = target.revoked_at
    replay = client.delete(url)
    assert replay.status_code == 204
    assert replay["Idempotent-Replayed"] == "true"
    target.refresh_from_db()
    assert target.revoked_at == revoked_at


@pytest.mark.django_db
def test_it_refuses_the_same_key_for_a_different_body(actors):
    client = api_client(actors.owner.key)
    url = _keys_url(actors.owner)
    assert _post(client, url, {"name": "till 1"}, "k-1").status_code == 201
    response = _post(client, url, {"name": "till 2"}, "k-1")
    assert_envelope(response, 409, "E_IDEMPOTENCY_KEY_REUSED")
    assert not ApiKey.unscoped.filter(name="till 2").exists()


@pytest.mark.django_db
def test_it_refuses_the_same_key_for_a_different_path_or_method(actors):
    client = api_client(actors.owner.key)
    assert _post(client, _keys_url(actors.owner), {"name": "till 1"}, "k-2").status_code == 201
    response = client.patch(
        f"/api/v1/organizations/{actors.owner.org_id}",
        {"city": "Kiel", "postal_code": "24103"},
        content_type="application/json",
        headers={"Idempotency-Key": "k-2"},
    )
    assert_envelope(response, 409, "E_IDEMPOTENCY_KEY_REUSED")
    actors.owner.organization.refresh_from_db()
    assert actors.owner.organization.city == "Berlin"


@pytest.mark.django_db
@pytest.mark.parametrize("bad_key", ["", "has space", "x" * 256, "tab\there", "ümlaut"])
def test_it_refuses_an_invalid_key(actors, bad_key):
    response = api_client(actors.owner.key).post(
        _keys_url(actors.owner),
        {"name": "invalid"},
        content_type="application/json",
        headers={"Idempotency-Key": bad_key},
    )
    assert_envelope(response, 400, "E_IDEMPOTENCY_KEY_INVALID")
    assert not ApiKey.unscoped.filter(name="invalid").exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_it_accepts_a_key_of_255_printable_characters(actors):
    response = _post(api_client(actors.owner.key), _keys_url(actors.owner), {"name": "long"}, "~" * 255)
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_it_keeps_keys_per_actor(actors):
    # the stranger uses the owner's key string for its own organization: an independent request
    body = {"name": "same name"}
    owner = _post(api_client(actors.owner.key), _keys_url(actors.owner), body, "shared-key")
    stranger = _post(api_client(actors.stranger.key), _keys_url(actors.stranger), body, "shared-key")
    assert owner.status_code == stranger.status_code == 201
    assert "Idempotent-Replayed" not in stranger
    assert owner.json()["id"] != stranger.json()["id"]
    assert ApiKey.unscoped.filter(name="same name", organization=actors.stranger.organization).count() == 1
    assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2


@pytest.mark.django_db
def test_it_never_replays_one_actors_response_to_another(actors):
    # same key, same path, same body by the partner: no replay of the owner's response (with its secret)
    body = {"name": "secret holder"}
    owner = _post(api_client(actors.owner.key), _keys_url(actors.owner), body, "k-leak")
    assert owner.status_code == 201
    for name in ("partner", "stranger"):
        response = _post(api_client(actors[name].key), _keys_url(actors.owner), body, "k-leak")
        assert_envelope(response, 404, "E_NOT_FOUND")
        assert owner.json()["key"] not in response.content.decode()


@pytest.mark.django_db
def test_it_keeps_keys_per_user_for_session_users(actors):
    body = {"name": "by session"}
    first = _post(actors.session_client("owner"), _keys_url(actors.owner), body, "session-key")
    assert first.status_code == 201
    replay = _post(actors.session_client("owner"), _keys_url(actors.owner), body, "session-key")
    assert replay["Idempotent-Replayed"] == "true"
    # the owner's API key is a different actor than the owner in person
    by_key = _post(api_client(actors.owner.key), _keys_url(actors.owner), body, "session-key")
    assert by_key.status_code == 201
    assert "Idempotent-Replayed" not in by_key
    assert ApiKey.unscoped.filter(name="by session").count() == 2


@pytest.mark.django_db
def test_it_ignores_the_header_on_safe_methods(actors):
    client = api_client(actors.owner.key)
    for _ in range(2):
        response = client.get("/api/v1/me", headers={"Idempotency-Key": "get-1"})
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_it_does_not_store_a_conflict_so_the_key_stays_usable(actors):
    # a 409 (the last owner) is a "retry later" answer: not stored, the retry runs again
    from tenants.models import Membership

    membership = Membership.unscoped.get(organization=actors.owner.organization, user=actors.owner.user)
    url = f"/api/v1/organizations/{actors.owner.org_id}/memberships/{membership.public_id}"
    client = actors.session_client("owner")
    for _ in range(2):
        response = client.patch(
            url, {"role": "admin"}, content_type="application/json", headers={"Idempotency-Key": "demote"}
        )
        assert_envelope(response, 409, "E_LAST_OWNER")
        assert "Idempotent-Replayed" not in response
    assert not IdempotencyRecord.objects.filter(key="demote").exists()


@pytest.mark.django_db
def test_it_stores_a_validation_error_and_replays_it(actors):
    client = api_client(actors.owner.key)
    first = _post(client, _keys_url(actors.owner), {}, "bad-body")
    assert_envelope(first, 400, "E_VALIDATION")
    replay = _post(client, _keys_url(actors.owner), {}, "bad-body")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()


@pytest.mark.django_db
def test_it_runs_again_once_the_record_has_expired(actors, settings):
    from datetime import timedelta

    from django.utils import timezone

    client = api_client(actors.owner.key)
    assert _post(client, _keys_url(actors.owner), {"name": "old"}, "ttl-key").status_code == 201
    IdempotencyRecord.objects.filter(key="ttl-key").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    )
    again = _post(client, _keys_url(actors.owner), {"name": "old"}, "ttl-key")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert ApiKey.unscoped.filter(name="old").count() == 2


# --- concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_answers_in_progress_to_a_concurrent_duplicate_and_creates_one_key(actors, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test needs PostgreSQL")

    entered, release = threading.Event(), threading.Event()
    real_create = tenants.api.views.create_api_key

    def blocking_create(**kwargs):
        entered.set()
        assert release.wait(timeout=20), "the test never released the first request"
        return real_create(**kwargs)

    monkeypatch.setattr(tenants.api.views, "create_api_key", blocking_create)
    url, body, key = _keys_url(actors.owner), {"name": "concurrent"}, "concurrent-1"
    results = {}

    def first_request():
        try:
            results["first"] = _post(api_client(actors.owner.key), url, body, key)
        except BaseException as exc:  # surface errors of the thread in the test
            results["first_error"] = exc
        finally:
            connections.close_all()

    def second_request():
        try:
            results["second"] = _post(Client(headers={"Authorization": f"Bearer {actors.owner.key}"}), url, body, key)
        except BaseException as exc:
            results["second_error"] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=first_request)
    first.start()
    try:
        assert entered.wait(timeout=20), "the first request never reached the service"
        second = threading.Thread(target=second_request)
        second.start()
        second.join(timeout=20)
        assert not second.is_alive()
    finally:
        release.set()
        first.join(timeout=20)
    assert not first.is_alive()
    assert "first_error" not in results and "second_error" not in results, results

    response = results["second"]
    assert_envelope(response, 409, "E_IDEMPOTENCY_IN_PROGRESS")
    assert response["Retry-After"] == "1"
    assert results["first"].status_code == 201, results["first"].content
    assert ApiKey.unscoped.filter(name="concurrent").count() == 1

    # once finished, the duplicate is a replay of the first response
    replay = _post(api_client(actors.owner.key), url, body, key)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == results["first"].json()["id"]
    assert ApiKey.unscoped.filter(name="concurrent").count() == 1
