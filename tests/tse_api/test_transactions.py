"""Transactions through the signing API: revisions, signatures, replays, limits, failures, the task."""

import base64
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.helpers import assert_envelope
from tests.tse import verifier
from tests.tse_api.conftest import RECEIPT
from tse.backends.base import TseError
from tse.backends.software import SoftwareTse
from tse.models import ApiTransactionRevision, LogMessage, RevisionStatus, SigningUnit
from tse.receipts.qr_code import verify_qr_code
from tse.tasks import sign_revision_task

pytestmark = pytest.mark.django_db


def verify_api_signature(tss, data: dict) -> None:
    """The answer's signature is the one of the stored log message and verifies with the TSS public key."""
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    log = LogMessage.unscoped.get(signing_unit=unit, signature_counter=data["signature"]["counter"])
    parsed = verifier.parse_log(bytes(log.der))
    signature = base64.b64decode(data["signature"]["value"])
    assert parsed.signature == signature
    assert parsed.transaction_number == data["number"]
    tss_key = tss.client.get(tss.url).json()["public_key"]
    assert data["signature"]["public_key"] == tss_key
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), base64.b64decode(tss_key))
    width = len(signature) // 2
    der_signature = encode_dss_signature(int.from_bytes(signature[:width], "big"),
                                         int.from_bytes(signature[width:], "big"))
    public_key.verify(der_signature, parsed.signed_message, ec.ECDSA(hashes.SHA256()))


def test_start_update_finish_with_verifying_signatures(tss):
    tx_id = str(uuid.uuid4())
    start = tss.put_tx(tx_id, 1, "ACTIVE")
    assert start.status_code == 200, start.content
    start = start.json()
    assert start["number"] == 1 and start["state"] == "ACTIVE" and start["latest_revision"] == 1
    assert start["log"] == {"operation": "Start", "timestamp_format": "unixTime", "timestamp": start["time_start"]}
    assert start["signature"]["algorithm"] == "ecdsa-plain-SHA256" and start["error"] is None
    assert start["client_id"] == tss.client_id and start["qr_code_data"] is None
    verify_api_signature(tss, start)

    update = tss.put_tx(tx_id, 2, "ACTIVE", RECEIPT).json()
    assert update["log"]["operation"] == "Update"
    assert update["signature"]["counter"] == start["signature"]["counter"] + 1
    verify_api_signature(tss, update)

    finish = tss.put_tx(tx_id, 3, "FINISHED", RECEIPT).json()
    assert finish["state"] == "FINISHED" and finish["number"] == 1 and finish["latest_revision"] == 3
    assert finish["log"]["operation"] == "Finish" and finish["time_end"] == finish["log"]["timestamp"]
    assert finish["signature"]["counter"] == update["signature"]["counter"] + 1
    verify_api_signature(tss, finish)
    assert verify_qr_code(finish["qr_code_data"]).valid
    assert finish["qr_code_data"].split(";")[1:4] == [
        "KASSE-01", "Kassenbeleg-V1", "Beleg^11.90_3.21_0.00_0.00_0.00^15.11:Bar"]

    second = tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").json()
    assert second["number"] == 2 and second["signature"]["counter"] == finish["signature"]["counter"] + 1

    assert tss.client.get(f"{tss.url}/tx/{tx_id}").json() == finish
    assert tss.client.get(f"{tss.url}/tx/{tx_id}?tx_revision=1").json()["log"]["operation"] == "Start"
    assert tss.client.get(f"{tss.url}/tx/{tx_id}?tx_revision=1").json()["latest_revision"] == 3
    assert_envelope(tss.client.get(f"{tss.url}/tx/{tx_id}?tx_revision=9"), 400, "E_TX_REVISION_NOT_FOUND")
    listing = tss.client.get(f"{tss.url}/tx", {"states[]": ["ACTIVE"]}).json()
    assert [row["_id"] for row in listing["results"]] == [second["_id"]]
    everything = tss.client.get(f"{tss.url}/tx").json()
    assert [row["number"] for row in everything["results"]] == [1, 2]
    assert_envelope(tss.client.get(f"{tss.url}/tx", {"states[]": ["NONSENSE"]}), 400, "E_VALIDATION")


def test_replays_are_identical_and_conflicts_are_refused(tss):
    tx_id = str(uuid.uuid4())
    first = tss.put_tx(tx_id, 1, "ACTIVE")
    replay = tss.put_tx(tx_id, 1, "ACTIVE")
    assert replay.status_code == 200 and replay.content == first.content
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    logs = LogMessage.unscoped.filter(signing_unit=unit).count()

    assert_envelope(tss.put_tx(tx_id, 1, "ACTIVE", RECEIPT), 409, "E_TX_REVISION_CONFLICT")  # other body
    assert_envelope(tss.put_tx(tx_id, 3, "FINISHED", RECEIPT), 409, "E_TX_REVISION_CONFLICT")  # skipped
    assert_envelope(tss.put_tx(str(uuid.uuid4()), 2, "ACTIVE"), 409, "E_TX_REVISION_CONFLICT")  # no start
    finish = tss.put_tx(tx_id, 2, "FINISHED", RECEIPT)
    assert finish.status_code == 200
    assert tss.put_tx(tx_id, 2, "FINISHED", RECEIPT).content == finish.content
    assert_envelope(tss.put_tx(tx_id, 3, "CANCELLED", RECEIPT), 409, "E_TX_ALREADY_FINISHED")
    assert LogMessage.unscoped.filter(signing_unit=unit).count() == logs + 1


def test_validation_errors(tss):
    tx_id = str(uuid.uuid4())
    assert_envelope(tss.put_tx(tx_id, 1, "FINISHED"), 400, "E_TX_ILLEGAL_STATE")
    assert_envelope(tss.put_tx(tx_id, 1, "ACTIVE", client_id=str(uuid.uuid4())), 400, "E_CLIENT_NOT_FOUND")
    body = assert_envelope(tss.put_tx(tx_id, 1, "ACTIVE", {"standard_v1": {"receipt": {"receipt_type": "X"}}}),
                           400, "E_FAILED_SCHEMA_VALIDATION")
    assert {error["path"] for error in body["details"]} >= {"standard_v1.receipt.receipt_type"}
    assert_envelope(tss.client.put(f"{tss.url}/tx/{tx_id}", {"state": "ACTIVE", "client_id": tss.client_id},
                                   content_type="application/json"), 400, "E_VALIDATION")


def test_open_transaction_limit(tss, settings):
    settings.TSE_MAX_OPEN_TRANSACTIONS = 2
    first = str(uuid.uuid4())
    assert tss.put_tx(first, 1, "ACTIVE").status_code == 200
    assert tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").status_code == 200
    assert_envelope(tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE"), 409, "E_TOO_MANY_OPEN_TRANSACTIONS")
    assert tss.put_tx(first, 2, "CANCELLED").json()["state"] == "CANCELLED"
    assert tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").status_code == 200


def test_a_failing_backend_gives_an_unsigned_answer_and_keeps_the_request(tss, monkeypatch):
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    logs = LogMessage.unscoped.filter(signing_unit=unit).count()

    def broken(self, *args, **kwargs):
        raise TseError("E_TSE_UNAVAILABLE", "The TSE is not reachable.", status=503)

    monkeypatch.setattr(SoftwareTse, "start_transaction", broken)
    tx_id = str(uuid.uuid4())
    response = tss.put_tx(tx_id, 1, "ACTIVE")
    assert response.status_code == 200
    data = response.json()
    assert data["signature"] is None and data["log"] is None and data["number"] is None
    assert data["error"] == {"code": "E_TSE_UNAVAILABLE", "message": "The TSE is not reachable."}
    assert isinstance(data["time_start"], int)
    row = ApiTransactionRevision.unscoped.get(api_transaction__tx_id=tx_id, revision=1)
    assert row.status == RevisionStatus.FAILED and row.attempts == 1
    assert LogMessage.unscoped.filter(signing_unit=unit).count() == logs

    monkeypatch.setattr(SoftwareTse, "start_transaction", lambda self, *a, **k: 1 / 0)
    data = tss.put_tx(tx_id, 1, "ACTIVE").json()
    assert data["signature"] is None and data["error"]["code"] == "E_TSE_UNAVAILABLE"

    monkeypatch.undo()  # the TSE is back: the replay signs the stored request, once
    data = tss.put_tx(tx_id, 1, "ACTIVE").json()
    assert data["signature"] is not None and data["number"] == 1 and data["error"] is None
    assert LogMessage.unscoped.filter(signing_unit=unit).count() == logs + 1
    assert tss.put_tx(tx_id, 2, "FINISHED", RECEIPT).json()["signature"]["counter"] == logs + 2


def test_a_finish_after_an_unsigned_start_signs_start_and_finish_in_order(tss, monkeypatch):
    original = SoftwareTse.start_transaction
    monkeypatch.setattr(SoftwareTse, "start_transaction",
                        lambda self, *a, **k: (_ for _ in ()).throw(TseError("E_TSE_UNAVAILABLE", "down", status=503)))
    tx_id = str(uuid.uuid4())
    assert tss.put_tx(tx_id, 1, "ACTIVE").json()["signature"] is None
    monkeypatch.setattr(SoftwareTse, "start_transaction", original)
    finish = tss.put_tx(tx_id, 2, "FINISHED", RECEIPT).json()
    assert finish["signature"] is not None and finish["log"]["operation"] == "Finish"
    start = tss.client.get(f"{tss.url}/tx/{tx_id}?tx_revision=1").json()
    assert start["signature"]["counter"] == finish["signature"]["counter"] - 1


def test_a_timeout_gives_an_unsigned_answer_and_a_late_result_is_kept(tss, monkeypatch):
    from tse import tasks

    monkeypatch.setattr(tasks.sign_revision_task, "apply_async", lambda **kwargs: _TimedOut())
    tx_id = str(uuid.uuid4())
    data = tss.put_tx(tx_id, 1, "ACTIVE").json()
    assert data["signature"] is None and data["error"]["code"] == "E_TSE_TIMEOUT"
    row = ApiTransactionRevision.unscoped.get(api_transaction__tx_id=tx_id, revision=1)
    assert row.status == RevisionStatus.PENDING
    # the task runs late (a worker picked it up after the answer): the result is stored
    assert sign_revision_task(organization_id=row.organization_id, revision_id=row.pk) == RevisionStatus.SIGNED
    monkeypatch.undo()
    late = tss.client.get(f"{tss.url}/tx/{tx_id}").json()
    assert late["signature"] is not None and late["number"] == 1


class _TimedOut:
    def get(self, **kwargs):
        from celery.exceptions import TimeoutError

        raise TimeoutError("timed out")


def test_the_task_signs_once_however_often_it_runs(tss, monkeypatch):
    from tse import tasks

    monkeypatch.setattr(tasks.sign_revision_task, "apply_async", lambda **kwargs: _TimedOut())
    tx_id = str(uuid.uuid4())
    tss.put_tx(tx_id, 1, "ACTIVE")
    row = ApiTransactionRevision.unscoped.get(api_transaction__tx_id=tx_id, revision=1)
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    before = LogMessage.unscoped.filter(signing_unit=unit).count()
    for _delivery in range(3):
        assert sign_revision_task(organization_id=row.organization_id, revision_id=row.pk) == RevisionStatus.SIGNED
    assert LogMessage.unscoped.filter(signing_unit=unit).count() == before + 1
    assert LogMessage.unscoped.filter(signing_unit=unit, operation_type="StartTransaction").count() == 1
    row.refresh_from_db()
    assert row.attempts == 1
    assert sign_revision_task.name == "tse.sign_revision"
