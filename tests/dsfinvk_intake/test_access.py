"""Who may hand in and read closings: owner, partner with `read`, stranger, read-only and POS-device keys."""

import uuid

import pytest

from exports.models import CashPointClosing
from tenants.services.api_keys import create_api_key
from tests.dsfinvk_closings import closing_json, closing_url, put_closing, receipt, signed_closing_payload
from tests.helpers import api_client, assert_actors, assert_envelope

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/cash_point_closings"


@pytest.fixture
def completed(register, submit):
    _response, closing = submit(signed_closing_payload(register, [receipt("3.20")]))
    closing.refresh_from_db()
    assert closing.state == "COMPLETED"
    return closing


def test_reading_closings(actors, completed):
    url = closing_url(completed.closing_id)
    for path in (url, f"{url}/details"):
        responses = assert_actors(actors.api_client, "GET", path, {"owner": 200, "partner": 200, "stranger": 404})
        assert responses["owner"].json() == responses["partner"].json()
    responses = assert_actors(actors.api_client, "GET", LIST_URL, {"owner": 200, "partner": 200, "stranger": 200})
    ids = {name: [row["closing_id"] for row in response.json()["results"]] for name, response in responses.items()}
    assert ids == {"owner": [str(completed.closing_id)], "partner": [str(completed.closing_id)], "stranger": []}
    responses = assert_actors(actors.session_client, "GET", url, {"owner": 200, "partner": 200, "stranger": 404})
    assert responses["owner"].json()["state"] == "COMPLETED"


def test_handing_in_needs_configure_on_the_operator(actors, register, django_capture_on_commit_callbacks):
    payload = signed_closing_payload(register, [receipt("3.20")])
    body = closing_json(payload)
    url = closing_url(uuid.uuid4())
    for name, status, code in (("stranger", 404, "E_CASH_REGISTER_NOT_FOUND"), ("partner", 403, "E_PERMISSION_DENIED")):
        response = actors.api_client(name).put(url, body, content_type="application/json")
        assert_envelope(response, status, code)
        response = actors.session_client(name).put(url, body, content_type="application/json")
        assert_envelope(response, status, code)
    assert not CashPointClosing.unscoped.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = actors.member_client("owner").put(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert CashPointClosing.unscoped.get().state == "COMPLETED"
    # an existing closing stays out of reach too
    assert_envelope(actors.api_client("partner").put(url, body, content_type="application/json"), 403)
    assert_envelope(actors.api_client("stranger").put(url, body, content_type="application/json"), 404,
                    "E_CASH_REGISTER_NOT_FOUND")


def test_a_read_only_key_cannot_hand_in(owner, register, read_only_key):
    payload = signed_closing_payload(register, [receipt("3.20")])
    response = put_closing(api_client(read_only_key[1]), uuid.uuid4(), payload)
    assert_envelope(response, 403, "E_API_KEY_READ_ONLY")
    assert not CashPointClosing.unscoped.exists()
    assert api_client(read_only_key[1]).get(LIST_URL).status_code == 200


def test_a_pos_device_key_hands_in_closings(owner, register, django_capture_on_commit_callbacks):
    _api_key, key = create_api_key(actor=None, organization=owner.organization, name="Kasse 1", can_write=False,
                                   pos_device=True)
    closing_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        response = put_closing(api_client(key), closing_id, signed_closing_payload(register, [receipt("3.20")]))
    assert response.status_code == 200, response.content
    assert api_client(key).get(closing_url(closing_id)).json()["state"] == "COMPLETED"
    assert api_client(key).get(LIST_URL).status_code == 200
    assert_envelope(api_client(key).get("/api/v1/cash_point_closingsx"), 403, "E_API_KEY_RESTRICTED")
    assert_envelope(api_client(key).get("/api/v1/me"), 403, "E_API_KEY_RESTRICTED")
