"""TSS set-up through the signing API: creation, admin PIN/PUK, states, clients, and who sees what."""

import uuid

import pytest
from django.contrib.auth.hashers import check_password

from portal.models import LogEntry
from tests.helpers import api_client, assert_actors, assert_envelope
from tests.tse_api.conftest import PIN, create_tss, post, put
from tse.models import SigningUnit, TssAdmin

pytestmark = pytest.mark.django_db


def test_create_is_idempotent_and_shows_the_puk_once(owner_client, actors):
    tss_id = str(uuid.uuid4())
    body = {"description": "Kasse Mitte", "metadata": {"shop": "1"}}
    first = put(owner_client, f"/api/v1/tss/{tss_id}", body)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["_id"] == tss_id and data["state"] == "CREATED"
    assert len(data["admin_puk"]) == 10 and data["admin_puk"].isdigit()
    assert data["signature_algorithm"] == "ecdsa-plain-SHA256"
    assert len(data["serial_number"]) == 64 and data["public_key"] and data["certificate"]
    assert first["Cache-Control"] == "no-store"

    replay = put(owner_client, f"/api/v1/tss/{tss_id}", body)
    assert replay.status_code == 200
    assert "admin_puk" not in replay.json()
    assert replay.json() == {k: v for k, v in data.items() if k != "admin_puk"}
    assert SigningUnit.unscoped.filter(public_id=tss_id).count() == 1

    unit = SigningUnit.unscoped.get(public_id=tss_id)
    assert unit.organization == actors.owner.organization  # from the key, never from the body
    admin = TssAdmin.unscoped.get(signing_unit=unit)
    assert admin.puk_hash != data["admin_puk"] and check_password(data["admin_puk"], admin.puk_hash)
    assert LogEntry.objects.filter(action="tse.tss.created", object_id=tss_id).count() == 1

    assert_envelope(put(owner_client, f"/api/v1/tss/{tss_id}", {"description": "Andere"}), 409, "E_TSS_CONFLICT")


def test_the_organization_in_the_body_is_ignored(owner_client, actors):
    tss_id = str(uuid.uuid4())
    response = put(owner_client, f"/api/v1/tss/{tss_id}",
                   {"description": "X", "organization": str(actors.stranger.organization.public_id)})
    assert response.status_code == 201
    assert SigningUnit.unscoped.get(public_id=tss_id).organization == actors.owner.organization


def test_admin_pin_lockout_after_five_failures_and_unlock_with_the_puk(owner_client, in_english):
    tss_id, data, _body = create_tss(owner_client)
    url = f"/api/v1/tss/{tss_id}"
    assert_envelope(post(owner_client, f"{url}/admin/auth", {"admin_pin": PIN}), 423, "E_ADMIN_PIN_BLOCKED")
    assert_envelope(post(owner_client, f"{url}/admin", {"admin_puk": "0000000000", "new_admin_pin": PIN}),
                    400, "E_CHANGE_ADMIN_PIN_FAILED")
    assert post(owner_client, f"{url}/admin", {"admin_puk": data["admin_puk"], "new_admin_pin": PIN}).status_code == 204
    for _attempt in range(4):
        assert_envelope(post(owner_client, f"{url}/admin/auth", {"admin_pin": "999999"}), 401, "E_ADMIN_LOGIN_FAILED")
    assert_envelope(post(owner_client, f"{url}/admin/auth", {"admin_pin": "999999"}), 423, "E_ADMIN_PIN_BLOCKED")
    assert_envelope(post(owner_client, f"{url}/admin/auth", {"admin_pin": PIN}), 423, "E_ADMIN_PIN_BLOCKED")
    assert post(owner_client, f"{url}/admin", {"admin_puk": data["admin_puk"], "new_admin_pin": "135797"}).status_code \
        == 204
    assert post(owner_client, f"{url}/admin/auth", {"admin_pin": "135797"}).status_code == 204


def test_state_changes_need_the_admin_login(owner_client):
    tss_id, data, _body = create_tss(owner_client)
    url = f"/api/v1/tss/{tss_id}"
    patch = lambda state: owner_client.patch(url, {"state": state}, content_type="application/json")  # noqa: E731
    assert_envelope(patch("INITIALIZED"), 400, "E_ILLEGAL_TSS_STATE_CHANGE")
    assert patch("UNINITIALIZED").json()["state"] == "UNINITIALIZED"
    assert_envelope(patch("INITIALIZED"), 423, "E_ADMIN_PIN_BLOCKED")  # no PIN yet
    post(owner_client, f"{url}/admin", {"admin_puk": data["admin_puk"], "new_admin_pin": PIN})
    assert_envelope(patch("INITIALIZED"), 401, "E_ADMIN_NOT_AUTHENTICATED")
    post(owner_client, f"{url}/admin/auth", {"admin_pin": PIN})
    initialized = patch("INITIALIZED").json()
    assert initialized["state"] == "INITIALIZED" and initialized["signature_counter"] == 2
    post(owner_client, f"{url}/admin/logout")
    assert_envelope(patch("DISABLED"), 401, "E_ADMIN_NOT_AUTHENTICATED")
    post(owner_client, f"{url}/admin/auth", {"admin_pin": PIN})
    assert patch("DISABLED").json()["state"] == "DISABLED"
    assert_envelope(patch("INITIALIZED"), 400, "E_ILLEGAL_TSS_STATE_CHANGE")
    actions = list(LogEntry.objects.filter(action="tse.tss.state_changed", object_id=tss_id)
                   .order_by("pk").values_list("data__to", flat=True))
    assert actions == ["UNINITIALIZED", "INITIALIZED", "DISABLED"]


def test_client_registration_is_idempotent_and_limited(tss):
    client = tss.client
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    SigningUnit.unscoped.filter(pk=unit.pk).update(max_clients=2)
    second = str(uuid.uuid4())
    url = f"{tss.url}/client/{second}"
    assert put(client, url, {"serial_number": "KASSE-02"}).status_code == 201
    replay = put(client, url, {"serial_number": "KASSE-02"})
    assert replay.status_code == 200 and replay.json()["serial_number"] == "KASSE-02"
    assert_envelope(put(client, url, {"serial_number": "KASSE-09"}), 409, "E_CLIENT_CONFLICT")
    assert_envelope(put(client, f"{tss.url}/client/{uuid.uuid4()}", {"serial_number": "KASSE-03"}),
                    409, "E_CLIENT_LIMIT")
    assert_envelope(put(client, f"{tss.url}/client/{uuid.uuid4()}", {"serial_number": "KASSE/03"}),
                    400, "E_ILLEGAL_CLIENT_SERIAL")
    listing = client.get(f"{tss.url}/client")
    assert [row["_id"] for row in listing.json()["results"]] == [tss.client_id, second]
    assert client.get(f"{tss.url}/client/{second}").json()["state"] == "REGISTERED"
    assert client.get(tss.url).json()["number_registered_clients"] == 2


def test_read_only_keys_cannot_change_anything(tss, read_only_key):
    reader = api_client(read_only_key[1])
    assert reader.get(tss.url).status_code == 200
    for url, body in ((f"/api/v1/tss/{uuid.uuid4()}", {"description": "X"}),
                      (f"{tss.url}/client/{uuid.uuid4()}", {"serial_number": "KASSE-05"}),
                      (tss.tx_url(uuid.uuid4(), 1), {"state": "ACTIVE", "client_id": tss.client_id})):
        assert_envelope(put(reader, url, body), 403, "E_API_KEY_READ_ONLY")
    assert_envelope(reader.patch(tss.url, {"state": "DISABLED"}, content_type="application/json"),
                    403, "E_API_KEY_READ_ONLY")


def test_sessions_are_refused(tss, actors):
    assert_envelope(actors.member_client("owner").get("/api/v1/tss"), 403, "E_API_KEY_REQUIRED")


def test_three_actors_on_every_tss_endpoint(tss, actors):
    url = tss.url
    tx_id = str(uuid.uuid4())
    assert tss.put_tx(tx_id, 1, "ACTIVE").status_code == 200
    own = {"partner": 404, "stranger": 404}
    assert_actors(actors.api_client, "GET", url, {**own, "owner": 200})
    assert_actors(actors.api_client, "PUT", url, {**own, "owner": 200}, data=tss.body)
    assert_actors(actors.api_client, "PATCH", url, {**own, "owner": 200}, data={"state": "INITIALIZED"})
    assert_actors(actors.api_client, "POST", f"{url}/admin", {**own, "owner": 204},
                  data={"admin_puk": tss.puk, "new_admin_pin": PIN})
    assert_actors(actors.api_client, "POST", f"{url}/admin/auth", {**own, "owner": 204}, data={"admin_pin": PIN})
    assert_actors(actors.api_client, "POST", f"{url}/admin/logout", {**own, "owner": 204})
    assert_actors(actors.api_client, "GET", f"{url}/client", {**own, "owner": 200})
    client_url = f"{url}/client/{tss.client_id}"
    assert_actors(actors.api_client, "GET", client_url, {**own, "owner": 200})
    assert_actors(actors.api_client, "PUT", client_url, {**own, "owner": 200}, data={"serial_number": "KASSE-01"})
    assert_actors(actors.api_client, "GET", f"{url}/tx", {**own, "owner": 200})
    assert_actors(actors.api_client, "GET", f"{url}/tx/{tx_id}", {**own, "owner": 200})
    assert_actors(actors.api_client, "PUT", tss.tx_url(tx_id, 2), {**own, "owner": 200},
                  data={"state": "FINISHED", "client_id": tss.client_id})
    responses = assert_actors(actors.api_client, "GET", "/api/v1/tss", {"owner": 200, "partner": 200, "stranger": 200})
    assert result_ids_of(responses["owner"]) == [tss.tss_id]
    assert result_ids_of(responses["partner"]) == [] and result_ids_of(responses["stranger"]) == []


def result_ids_of(response):
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return [row["_id"] for row in body["results"]]


def test_only_operators_create_a_tss(actors):
    response = put(actors.api_client("partner"), f"/api/v1/tss/{uuid.uuid4()}", {"description": "Haendler"})
    assert_envelope(response, 403, "E_ROLE_INACTIVE")
    assert not SigningUnit.unscoped.filter(organization=actors.partner.organization).exists()
