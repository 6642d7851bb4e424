"""The client's additions: ``schema.raw`` transactions and the export file download."""

import base64
import io
import tarfile
import uuid

import pytest

from tse.backends.fiskaly_client import ExportState, FiskalyError, TransactionState


def test_raw_schema_round_trip(fake, client, ready):
    tx_id = str(uuid.uuid4())
    client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    data = b"Beleg^1.00_0.00_0.00_0.00_0.00^1.00:Bar"
    finish = client.upsert_transaction(ready.tss_id, tx_id, tx_revision=2, state=TransactionState.FINISHED,
                                       client_id=ready.client_id, raw=("Kassenbeleg-V1", data))
    assert fake.calls("PUT", tx_id)[-1].body["schema"] == {
        "raw": {"process_type": "Kassenbeleg-V1", "process_data": base64.b64encode(data).decode()}}
    assert (finish.process_type, base64.b64decode(finish.process_data)) == ("Kassenbeleg-V1", data)
    assert finish.qr_code_data.split(";")[3] == data.decode()


def test_raw_and_receipt_exclude_each_other(client, ready):
    with pytest.raises(ValueError):
        client.upsert_transaction(ready.tss_id, str(uuid.uuid4()), tx_revision=1, state="ACTIVE",
                                  client_id=ready.client_id, receipt={}, raw=("", b""))


def test_raw_process_data_must_be_base64(fake, client, ready):
    tx_id = str(uuid.uuid4())
    client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    with pytest.raises(FiskalyError) as info:
        client._send("PUT", f"tss/{ready.tss_id}/tx/{tx_id}", params={"tx_revision": 2},
                     json={"state": "FINISHED", "client_id": ready.client_id,
                           "schema": {"raw": {"process_type": "Kassenbeleg-V1", "process_data": "%%%"}}})
    assert (info.value.status_code, info.value.code) == (400, "E_FAILED_SCHEMA_VALIDATION")


def test_download_export_file(fake, client, ready):
    client.upsert_transaction(ready.tss_id, str(uuid.uuid4()), tx_revision=1, state="ACTIVE",
                              client_id=ready.client_id)
    export_id = str(uuid.uuid4())
    client.trigger_export(ready.tss_id, export_id)
    with pytest.raises(FiskalyError) as info:
        client.download_export_file(ready.tss_id, export_id, io.BytesIO())
    assert (info.value.status_code, info.value.code, info.value.retry_after) == (404, "E_EXPORT_NOT_COMPLETED", 60)
    while client.retrieve_export(ready.tss_id, export_id).state != ExportState.COMPLETED:
        pass
    out = io.BytesIO()
    size = client.download_export_file(ready.tss_id, export_id, out)
    assert size == len(out.getvalue()) > 0
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as archive:
        members = archive.getmembers()
    assert all(member.isfile() for member in members)
    assert sum(1 for member in members if "_Log-Tra_No-1_Start_Client-KASSE-1" in member.name) == 1


def test_download_retries_a_5xx_and_reauthenticates(fake, client, ready, sleeper):
    export_id = str(uuid.uuid4())
    client.trigger_export(ready.tss_id, export_id)
    client.retrieve_export(ready.tss_id, export_id)
    client.retrieve_export(ready.tss_id, export_id)
    fake.inject_error(503, path_contains="/file")
    fake.expire_access_tokens()
    out = io.BytesIO()
    assert client.download_export_file(ready.tss_id, export_id, out) == len(out.getvalue()) > 0
    assert len(fake.calls("GET", "/file")) == 3  # 401 (re-auth, free), 503 (retried), 200
    assert len(sleeper.delays) == 1
