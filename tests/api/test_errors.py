"""One error envelope ``{status_code, error, code, message}`` for every API error."""

import logging
import uuid

import pytest
from django.test import Client

from portal.api.throttling import ActorRateThrottle
from portal.models import IdempotencyRecord
from tests.helpers import api_client, assert_envelope

pytestmark = pytest.mark.django_db


def test_it_answers_400_with_details_for_invalid_input(actors):
    response = api_client(actors.owner.key).post(
        f"/api/v1/organizations/{actors.owner.org_id}/api-keys",
        {"can_write": "perhaps"},
        content_type="application/json",
    )
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert set(body["details"]) == {"name", "can_write"}
    assert isinstance(body["details"]["name"], list)
    assert body["message"].startswith("Invalid input: ")


def test_it_answers_400_with_field_details_for_a_bad_postal_code(actors):
    response = api_client(actors.owner.key).patch(
        f"/api/v1/organizations/{actors.owner.org_id}", {"postal_code": "123"}, content_type="application/json"
    )
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert "postal_code" in body["details"]
    actors.owner.organization.refresh_from_db()
    assert actors.owner.organization.postal_code == "10115"


def test_it_answers_400_for_malformed_json(actors):
    response = api_client(actors.owner.key).post(
        f"/api/v1/organizations/{actors.owner.org_id}/api-keys", "{not json", content_type="application/json"
    )
    assert_envelope(response, 400, "E_PARSE")


def test_it_answers_401_without_credentials(db):
    response = Client().get("/api/v1/organizations")
    assert_envelope(response, 401, "E_UNAUTHORIZED")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_answers_401_for_a_bad_key(db):
    assert_envelope(api_client("kp_test_nope.nope").get("/api/v1/organizations"), 401, "E_UNAUTHORIZED")


def test_it_answers_403_for_a_missing_capability(actors, read_only_key):
    assert_envelope(
        api_client(read_only_key[1]).delete(
            f"/api/v1/organizations/{actors.owner.org_id}/api-keys/{actors.owner.api_key.public_id}"
        ),
        403,
        "E_API_KEY_READ_ONLY",
    )
    assert_envelope(
        actors.member_client("owner").get(f"/api/v1/organizations/{actors.owner.org_id}/api-keys"),
        403,
        "E_PERMISSION_DENIED",
    )


def test_it_answers_404_for_an_unknown_object(actors):
    client = api_client(actors.owner.key)
    base = f"/api/v1/organizations/{actors.owner.org_id}"
    for url in (
        f"/api/v1/organizations/{uuid.uuid4()}",
        f"{base}/memberships/{uuid.uuid4()}",
        f"{base}/api-keys/{uuid.uuid4()}",
        f"{base}/api-keys/not-a-uuid",
    ):
        body = assert_envelope(client.get(url), 404, "E_NOT_FOUND")
        assert body["message"] == "Not found."


@pytest.mark.parametrize("url", ["/api/v1/nothing-here", "/api/v1/organizations/x/y/z", "/api/v2/organizations"])
def test_it_answers_404_envelope_for_an_unknown_url_under_the_api(actors, url):
    response = api_client(actors.owner.key).get(url)
    assert_envelope(response, 404, "E_NOT_FOUND")


def test_it_answers_404_envelope_for_an_unknown_url_even_anonymously(db):
    assert_envelope(Client().get("/api/v1/nothing-here"), 404, "E_NOT_FOUND")


def test_it_answers_html_404_outside_the_api(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("delete", "/api/v1/organizations"),
        ("post", "/api/v1/organizations"),
        ("post", "/api/v1/me"),
        ("put", "/api/v1/organizations/{org}/memberships/{membership}"),
        ("patch", "/api/v1/organizations/{org}/api-keys/{key}"),
    ],
)
def test_it_answers_405_envelope_for_a_wrong_method(actors, method, url):
    from tenants.models import Membership

    membership = Membership.unscoped.filter(organization=actors.owner.organization).first()
    url = url.format(org=actors.owner.org_id, membership=membership.public_id, key=actors.owner.api_key.public_id)
    response = getattr(actors.session_client("owner"), method)(url, {}, content_type="application/json")
    assert_envelope(response, 405, "E_METHOD_NOT_ALLOWED")
    assert "Allow" in response


def test_it_answers_429_envelope_with_retry_after_when_throttled(actors, monkeypatch):
    monkeypatch.setattr(ActorRateThrottle, "rate", "3/min", raising=False)
    owner = api_client(actors.owner.key)
    for _ in range(3):
        assert owner.get("/api/v1/me").status_code == 200
    response = owner.get("/api/v1/me")
    body = assert_envelope(response, 429, "E_THROTTLED")
    assert int(response["Retry-After"]) >= 1
    assert body["message"].startswith("Too many requests")
    # the budget is per actor: another key of the same organization is not throttled
    assert api_client(actors.partner.key).get("/api/v1/me").status_code == 200


def test_it_throttles_session_users_per_user(actors, monkeypatch):
    monkeypatch.setattr(ActorRateThrottle, "rate", "2/min", raising=False)
    client = actors.member_client("owner")
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
    assert actors.member_client("stranger").get("/api/v1/me").status_code == 200


@pytest.fixture
def quiet_api_logger():
    # the envelope handler logs the unhandled error with a traceback; keep test output readable
    logger = logging.getLogger("portal.api")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(previous)


@pytest.mark.urls("tests.api.urls_500")
def test_it_answers_500_envelope_for_an_error_in_an_api_view(actors, quiet_api_logger):
    response = api_client(actors.owner.key).get("/api/v1/test/explode")
    body = assert_envelope(response, 500, "E_INTERNAL")
    assert body["message"] == "An internal error occurred."
    assert "boom" not in response.content.decode()
    # the real API is still mounted in this URLconf
    assert api_client(actors.owner.key).get("/api/v1/me").status_code == 200


@pytest.mark.urls("tests.api.urls_500")
def test_it_answers_500_envelope_for_an_error_in_a_plain_view_under_the_api(actors, caplog):
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {actors.owner.key}"})
    with caplog.at_level(logging.CRITICAL, logger="django.request"):
        response = client.get("/api/v1/test/explode-plain")
    body = assert_envelope(response, 500, "E_INTERNAL")
    assert "<html" not in response.content.decode().lower()
    assert body["message"] == "An internal error occurred."


@pytest.mark.urls("tests.api.urls_500")
def test_it_does_not_store_a_500_for_an_idempotency_key(actors, quiet_api_logger):
    client = api_client(actors.owner.key, **{"Idempotency-Key": "boom-1"})
    assert_envelope(client.post("/api/v1/test/explode", {}, content_type="application/json"), 500, "E_INTERNAL")
    assert not IdempotencyRecord.objects.filter(key="boom-1").exists()
    # the key stays usable: a retry runs again instead of replaying the error
    response = client.post("/api/v1/test/explode", {}, content_type="application/json")
    assert response.status_code == 500
    assert "Idempotent-Replayed" not in response
