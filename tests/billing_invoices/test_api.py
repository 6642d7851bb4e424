"""The invoices API: list, detail with lines, files; members and own keys only (partner, stranger 404)."""

import uuid
from decimal import Decimal

import pytest

from tests.helpers import api_client, assert_actors, assert_envelope, result_ids

THREE = {"partner": 404, "stranger": 404, "owner": 200}


def _base(actor) -> str:
    return f"/api/v1/organizations/{actor.org_id}/invoices"


def test_list_three_actors(actors, invoice, dealer_invoice):
    responses = assert_actors(actors.api_client, "GET", _base(actors.owner), THREE)
    assert result_ids(responses["owner"]) == [str(invoice.public_id)]
    row = responses["owner"].json()["results"][0]
    assert row["number"] == invoice.number and row["kind"] == "invoice" and row["corrects"] is None
    assert Decimal(row["gross_total"]) == Decimal("53.55")
    assert_actors(actors.session_client, "GET", _base(actors.owner), THREE)
    dealer = assert_actors(actors.api_client, "GET", _base(actors.partner),
                           {"owner": 404, "stranger": 404, "partner": 200})
    assert result_ids(dealer["partner"]) == [str(dealer_invoice.public_id)]


def test_detail_with_lines(actors, invoice):
    url = f"{_base(actors.owner)}/{invoice.public_id}"
    body = assert_actors(actors.api_client, "GET", url, THREE)["owner"].json()
    assert body["id"] == str(invoice.public_id)
    assert body["recipient"]["name"] == "Owner Betriebs GmbH"
    assert body["issuer"]["vat_id"] == "DE999999999"
    assert body["vat_breakdown"] == [{"rate": "19.00", "net": "45.00", "vat": "8.55"}]
    assert [line["position"] for line in body["lines"]] == [1, 2]
    assert body["lines"][1]["transactions"] == 31500 and body["lines"][1]["net_amount"] == "36.00"


@pytest.mark.parametrize(("suffix", "content_type", "start"), [
    ("pdf", "application/pdf", b"%PDF"),
    ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbf"),
    ("xml", "application/xml", b"<?xml"),
])
def test_files_three_actors(actors, invoice, suffix, content_type, start):
    url = f"{_base(actors.owner)}/{invoice.public_id}/{suffix}"
    response = assert_actors(actors.api_client, "GET", url, THREE)["owner"]
    assert response["Content-Type"] == content_type
    assert response.content.startswith(start)
    accepted = actors.api_client("owner").get(url, headers={"Accept": content_type.split(";")[0]})
    assert accepted.status_code == 200


def test_read_only_key_reads_invoices(actors, invoice, read_only_key):
    response = api_client(read_only_key[1]).get(f"{_base(actors.owner)}/{invoice.public_id}")
    assert response.status_code == 200


def test_unknown_invoice_and_writes(actors, invoice):
    client = actors.api_client("owner")
    assert_envelope(client.get(f"{_base(actors.owner)}/{uuid.uuid4()}"), 404, "E_NOT_FOUND")
    assert_envelope(client.get(f"{_base(actors.owner)}/{uuid.uuid4()}/pdf"), 404, "E_NOT_FOUND")
    assert_envelope(client.delete(f"{_base(actors.owner)}/{invoice.public_id}"), 405)
    assert_envelope(client.post(_base(actors.owner), {}, content_type="application/json"), 405)
