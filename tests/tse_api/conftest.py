"""Helpers of the signing API tests: a TSS set up through the API, clients and transactions."""

import uuid
from dataclasses import dataclass

import pytest

from tests.helpers import api_client

PIN = "246813"
RECEIPT = {"standard_v1": {"receipt": {
    "receipt_type": "RECEIPT",
    "amounts_per_vat_rate": [{"vat_rate": "NORMAL", "amount": "11.90"}, {"vat_rate": "REDUCED_1", "amount": "3.21"}],
    "amounts_per_payment_type": [{"payment_type": "CASH", "amount": "15.11", "currency_code": "EUR"}],
}}}


@dataclass
class Tss:
    client: object  # django.test.Client with the owner's write key
    tss_id: str
    puk: str
    client_id: str
    body: dict

    @property
    def url(self) -> str:
        return f"/api/v1/tss/{self.tss_id}"

    def tx_url(self, tx_id, revision: int) -> str:
        return f"{self.url}/tx/{tx_id}?tx_revision={revision}"

    def put_tx(self, tx_id, revision: int, state: str, schema=None, client_id=None):
        body = {"state": state, "client_id": client_id or self.client_id}
        if schema is not None:
            body["schema"] = schema
        return self.client.put(self.tx_url(tx_id, revision), body, content_type="application/json")


def put(client, url, data):
    return client.put(url, data, content_type="application/json")


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def create_tss(client, **body):
    tss_id = str(uuid.uuid4())
    body = {"description": "Kasse Mitte", **body}
    response = put(client, f"/api/v1/tss/{tss_id}", body)
    assert response.status_code == 201, response.content
    return tss_id, response.json(), body


def setup_tss(client, *, serial: str = "KASSE-01") -> Tss:
    """CREATED → UNINITIALIZED → PIN → admin login → INITIALIZED → one client → logout."""
    tss_id, data, body = create_tss(client)
    url = f"/api/v1/tss/{tss_id}"
    assert client.patch(url, {"state": "UNINITIALIZED"}, content_type="application/json").status_code == 200
    assert post(client, f"{url}/admin", {"admin_puk": data["admin_puk"], "new_admin_pin": PIN}).status_code == 204
    assert post(client, f"{url}/admin/auth", {"admin_pin": PIN}).status_code == 204
    response = client.patch(url, {"state": "INITIALIZED"}, content_type="application/json")
    assert response.status_code == 200, response.content
    client_id = str(uuid.uuid4())
    response = put(client, f"{url}/client/{client_id}", {"serial_number": serial})
    assert response.status_code == 201, response.content
    assert post(client, f"{url}/admin/logout").status_code == 204
    return Tss(client=client, tss_id=tss_id, puk=data["admin_puk"], client_id=client_id, body=body)


@pytest.fixture
def owner_client(actors):
    return api_client(actors.owner.key)


@pytest.fixture
def tss(owner_client):
    return setup_tss(owner_client)
