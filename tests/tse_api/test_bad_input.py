"""Bad input to the signing API gets a clear 4xx envelope, and nothing is written."""

import json
import uuid

import pytest

from tests.helpers import api_client, assert_envelope
from tse.models import SigningUnit, TseTransaction

pytestmark = pytest.mark.django_db


def test_malformed_json_creates_no_tss(actors):
    client = api_client(actors.owner.key)
    response = client.put(f"/api/v1/tss/{uuid.uuid4()}", "{not json", content_type="application/json")
    assert_envelope(response, 400, "E_PARSE")
    assert not SigningUnit.unscoped.exists()


@pytest.mark.parametrize("revision", ["x", "0", "-1", ""])
def test_a_bad_revision_is_refused_before_anything_is_stored(actors, revision):
    client = api_client(actors.owner.key)
    tss_id = uuid.uuid4()
    created = client.put(f"/api/v1/tss/{tss_id}", json.dumps({"description": "Kasse"}),
                         content_type="application/json")
    assert created.status_code == 201, created.content
    response = client.put(f"/api/v1/tss/{tss_id}/tx/{uuid.uuid4()}?tx_revision={revision}",
                          json.dumps({"state": "ACTIVE", "client_id": "KASSE-01"}), content_type="application/json")
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert "tx_revision" in body["details"]
    assert not TseTransaction.unscoped.exists()
