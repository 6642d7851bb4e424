"""POS-device API keys: only the signing API of their own organization, never other endpoints or granted operators."""

import uuid

import pytest

from portal.models import LogEntry
from portal.tenancy import actor_for_api_key
from tenants.models import ApiKey
from tenants.services.api_keys import create_api_key
from tests.helpers import api_client, assert_actors, assert_envelope
from tests.tse_api.conftest import RECEIPT, create_tss, setup_tss

pytestmark = pytest.mark.django_db


def pos_key(organization, name="Kasse 1"):
    """A POS-device key asked for without write access: it gets write access anyway."""
    return create_api_key(actor=None, organization=organization, name=name, can_write=False, pos_device=True)


@pytest.fixture
def pos_keys(actors):
    return {actor.name: pos_key(actor.organization, f"{actor.name} till") for actor in actors}


def test_a_pos_key_has_write_access_and_it_is_audited(owner):
    api_key, _plaintext = pos_key(owner.organization)
    assert (api_key.pos_device, api_key.can_write) == (True, True)
    entry = LogEntry.unscoped.get(action="tenants.apikey.created", organization=owner.organization,
                                  data__name="Kasse 1")
    assert entry.data["pos_device"] is True and entry.data["rights"] == ["read", "write"]


def test_it_signs_through_the_signing_api_of_its_organization(owner):
    _api_key, key = pos_key(owner.organization)
    tss = setup_tss(api_client(key))
    tx_id = str(uuid.uuid4())
    start = tss.put_tx(tx_id, 1, "ACTIVE")
    assert start.status_code == 200, start.content
    finish = tss.put_tx(tx_id, 2, "FINISHED", schema=RECEIPT)
    assert finish.status_code == 200, finish.content
    body = finish.json()
    assert body["state"] == "FINISHED" and body["signature"] is not None and body["error"] is None
    listing = api_client(key).get("/api/v1/tss")
    assert [row["_id"] for row in listing.json()["results"]] == [tss.tss_id]


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/organizations"),
    ("get", "/api/v1/organizations/{org}"),
    ("patch", "/api/v1/organizations/{org}"),
    ("get", "/api/v1/organizations/{org}/api-keys"),
    ("post", "/api/v1/organizations/{org}/api-keys"),
    ("get", "/api/v1/organizations/{org}/memberships"),
    ("get", "/api/v1/schema/"),
    ("get", "/api/v1/tssx"),
    ("get", "/o/{org}/tse/"),
])
def test_every_other_endpoint_is_restricted(owner, in_english, method, path):
    _api_key, key = pos_key(owner.organization)
    url = path.format(org=owner.org_id)
    client = api_client(key)
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, {"name": "Zweiter Schlüssel"}, content_type="application/json")
    body = assert_envelope(response, 403, "E_API_KEY_RESTRICTED")
    assert "POS device" in body["message"] and "signing API" in body["message"]
    assert ApiKey.unscoped.filter(organization=owner.organization).count() == 2  # the actors' key and this one


def test_ordinary_keys_are_not_restricted(owner):
    assert api_client(owner.key).get("/api/v1/me").status_code == 200


def test_granted_operators_do_not_exist_for_it(actors, pos_keys):
    """The partner (a dealer) holds a grant on the owner; its POS key still sees only its own organization."""
    owner_tss_id, _data, _body = create_tss(api_client(actors.owner.key))
    url = f"/api/v1/tss/{owner_tss_id}"
    assert_actors(lambda name: api_client(pos_keys[name][1]), "GET", url,
                  {"owner": 200, "partner": 404, "stranger": 404})
    assert_actors(lambda name: api_client(pos_keys[name][1]), "PUT", f"{url}/client/{uuid.uuid4()}",
                  {"partner": 404, "stranger": 404}, data={"serial_number": "FREMD-01"})
    partner_pos = pos_keys["partner"][0]
    assert actor_for_api_key(partner_pos).visible_organization_ids == [actors.partner.organization.pk]
    assert actors.owner.organization.pk in actor_for_api_key(actors.partner.api_key).visible_organization_ids
    response = api_client(pos_keys["partner"][1]).get("/api/v1/tss")
    assert response.status_code == 200 and response.json()["results"] == []


# --- creation ------------------------------------------------------------------------------------


def test_created_on_the_api_keys_page(actors, in_english):
    url = f"/o/{actors.owner.org_id}/api-keys/"
    response = actors.session_client("owner").post(url, {"name": "Kasse Theke", "pos_device": "on"})
    assert response.status_code == 200
    api_key = ApiKey.unscoped.get(organization=actors.owner.organization, name="Kasse Theke")
    assert (api_key.pos_device, api_key.can_write) == (True, True)
    body = response.content.decode()
    assert 'data-testid="new-api-key"' in body and 'name="pos_device"' in body
    row = body.split(f'id="key-{api_key.public_id}"')[1].split("</tr>")[0]
    assert 'data-testid="pos-device-key"' in row and "POS device (signing API only)" in row
    other = body.split(f'id="key-{actors.owner.api_key.public_id}"')[1].split("</tr>")[0]
    assert 'data-testid="pos-device-key"' not in other
    for name in ("partner", "stranger"):
        assert actors.session_client(name).post(url, {"name": f"{name} till", "pos_device": "on"}).status_code == 404
    assert not ApiKey.unscoped.filter(name__in=["partner till", "stranger till"]).exists()


def test_the_page_form_leaves_ordinary_keys_unrestricted(actors):
    url = f"/o/{actors.owner.org_id}/api-keys/"
    assert actors.session_client("owner").post(url, {"name": "Rollout"}).status_code == 200
    api_key = ApiKey.unscoped.get(name="Rollout")
    assert (api_key.pos_device, api_key.can_write) == (False, False)


def test_created_through_the_api(actors):
    url = f"/api/v1/organizations/{actors.owner.org_id}/api-keys"
    responses = assert_actors(actors.api_client, "POST", url, {"partner": 404, "stranger": 404, "owner": 201},
                              data={"name": "Kasse API", "pos_device": True})
    body = responses["owner"].json()
    assert body["pos_device"] is True and body["can_write"] is True and body["rights"] == ["read", "write"]
    assert api_client(body["key"]).get("/api/v1/tss").status_code == 200
    assert_envelope(api_client(body["key"]).get("/api/v1/me"), 403, "E_API_KEY_RESTRICTED")
    listing = api_client(actors.owner.key).get(url).json()["results"]
    assert {row["name"]: row["pos_device"] for row in listing} == {"Kasse API": True, "owner write key": False}
    assert ApiKey.unscoped.filter(name="Kasse API").count() == 1


def test_the_api_documents_the_field(owner, in_english):
    schema = api_client(owner.key).get("/api/v1/schema/?format=json").json()
    field = schema["components"]["schemas"]["ApiKeyCreateRequest"]["properties"]["pos_device"]
    assert field["type"] == "boolean" and "E_API_KEY_RESTRICTED" in field["description"]
    read = schema["components"]["schemas"]["ApiKey"]["properties"]["pos_device"]
    assert read["readOnly"] is True and "signing API" in read["description"]
