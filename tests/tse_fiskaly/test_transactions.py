"""Transactions with revisions, idempotent replay, listing, the counter quirk and exports."""

import base64
import uuid

import pytest

from tests.fakes.fiskaly_server import FakeFiskalyServer
from tests.tse_fiskaly.conftest import ADMIN_PIN, set_up_tss
from tse.backends.fiskaly_client import (
    ExportState,
    FiskalyError,
    Signature,
    TransactionState,
    TssState,
    parse_counter,
)

RECEIPT = {
    "receipt_type": "RECEIPT",
    "amounts_per_vat_rate": [{"vat_rate": "NORMAL", "amount": "11.90"}, {"vat_rate": "REDUCED_1", "amount": "3.21"}],
    "amounts_per_payment_type": [{"payment_type": "CASH", "amount": "15.11", "currency_code": "EUR"}],
}


def test_start_update_finish(fake, client, ready):
    tx_id = str(uuid.uuid4())
    start = client.upsert_transaction(
        ready.tss_id, tx_id, tx_revision=1, state=TransactionState.ACTIVE, client_id=ready.client_id
    )
    assert start.state is TransactionState.ACTIVE
    assert (start.revision, start.latest_revision) == (1, 1)
    assert start.number >= 1
    assert start.log.operation == "Start"
    assert start.signature is not None and start.signature.algorithm == "ecdsa-plain-SHA256"
    assert start.time_end is None and start.qr_code_data is None

    update = client.upsert_transaction(
        ready.tss_id, tx_id, tx_revision=2, state="ACTIVE", client_id=ready.client_id, receipt=RECEIPT
    )
    assert update.log.operation == "Update"
    assert update.number == start.number

    finish = client.upsert_transaction(
        ready.tss_id,
        tx_id,
        tx_revision=3,
        state=TransactionState.FINISHED,
        client_id=ready.client_id,
        receipt=RECEIPT,
        metadata={"pos_receipt_no": "R-000123"},
    )
    assert finish.state is TransactionState.FINISHED
    assert finish.log.operation == "Finish"
    assert finish.time_end >= finish.time_start == start.time_start
    assert finish.client_serial_number == ready.serial_number
    assert finish.metadata == {"pos_receipt_no": "R-000123"}
    assert finish.process_type == "Kassenbeleg-V1"
    assert base64.b64decode(finish.process_data).decode() == "Beleg^11.90_3.21_0.00_0.00_0.00^15.11:Bar"
    assert finish.schema["standard_v1"]["receipt"] == RECEIPT
    # Signature counters strictly increase (not necessarily by 1: system logs use values too).
    assert start.signature.counter < update.signature.counter < finish.signature.counter

    qr = finish.qr_code_data.split(";")
    assert len(qr) == 12
    assert qr[0] == "V0" and qr[1] == ready.serial_number and qr[2] == "Kassenbeleg-V1"
    assert qr[4] == str(finish.number) and qr[5] == str(finish.signature.counter)
    assert qr[10] == finish.signature.value and qr[11] == finish.signature.public_key

    # Retrieval: latest by default, by revision, and by transaction number.
    assert client.retrieve_transaction(ready.tss_id, tx_id).revision == 3
    first = client.retrieve_transaction(ready.tss_id, tx_id, tx_revision=1)
    assert (first.revision, first.latest_revision, first.state) == (1, 3, TransactionState.ACTIVE)
    assert client.retrieve_transaction(ready.tss_id, finish.number).id == tx_id


def test_same_revision_replay_returns_the_identical_result(fake, client, ready):
    tx_id = str(uuid.uuid4())
    kwargs = {"tx_revision": 1, "state": "ACTIVE", "client_id": ready.client_id}
    client.upsert_transaction(ready.tss_id, tx_id, **kwargs)
    finish_kwargs = {"tx_revision": 2, "state": "FINISHED", "client_id": ready.client_id, "receipt": RECEIPT}
    finish = client.upsert_transaction(ready.tss_id, tx_id, **finish_kwargs)
    counter_before = client.retrieve_tss(ready.tss_id).signature_counter

    replay = client.upsert_transaction(ready.tss_id, tx_id, **finish_kwargs)
    assert replay == finish
    assert replay.raw == finish.raw
    assert client.retrieve_tss(ready.tss_id).signature_counter == counter_before  # nothing new was signed


def test_revision_errors_are_final(fake, client, ready):
    tx_id = str(uuid.uuid4())
    with pytest.raises(FiskalyError) as excinfo:  # a new transaction must start with revision 1
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=2, state="ACTIVE", client_id=ready.client_id)
    assert (excinfo.value.status_code, excinfo.value.code) == (400, "E_TX_REVISION_NOT_FOUND")

    client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    client.upsert_transaction(
        ready.tss_id, tx_id, tx_revision=2, state="ACTIVE", client_id=ready.client_id, receipt=RECEIPT
    )
    calls_before = len(fake.calls("PUT", "/tx/"))

    with pytest.raises(FiskalyError) as excinfo:  # skipping a revision
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=4, state="FINISHED", client_id=ready.client_id)
    assert (excinfo.value.status_code, excinfo.value.code, excinfo.value.retryable) == (
        400,
        "E_TX_REVISION_NOT_FOUND",
        False,
    )
    with pytest.raises(FiskalyError) as excinfo:  # going back to an older revision
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    assert (excinfo.value.status_code, excinfo.value.code) == (409, "E_PENDING_TX_CONFLICT")
    with pytest.raises(FiskalyError) as excinfo:  # same revision, different body
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=2, state="ACTIVE", client_id=ready.client_id)
    assert excinfo.value.status_code == 409
    # Each 4xx was sent exactly once.
    assert len(fake.calls("PUT", "/tx/")) == calls_before + 3

    with pytest.raises(ValueError, match="tx_revision"):
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=0, state="ACTIVE", client_id=ready.client_id)


def test_finished_transaction_cannot_be_updated(client, ready):
    tx_id = str(uuid.uuid4())
    client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    cancelled = client.upsert_transaction(
        ready.tss_id,
        tx_id,
        tx_revision=2,
        state="CANCELLED",
        client_id=ready.client_id,
        receipt={**RECEIPT, "receipt_type": "CANCELLATION"},
    )
    assert cancelled.state is TransactionState.CANCELLED
    assert base64.b64decode(cancelled.process_data).decode().startswith("AVBelegabbruch^")
    with pytest.raises(FiskalyError) as excinfo:
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=3, state="FINISHED", client_id=ready.client_id)
    assert excinfo.value.status_code == 400


def test_unknown_client_and_bad_schema_are_400(client, ready):
    with pytest.raises(FiskalyError) as excinfo:
        client.upsert_transaction(
            ready.tss_id, str(uuid.uuid4()), tx_revision=1, state="ACTIVE", client_id=str(uuid.uuid4())
        )
    assert excinfo.value.status_code == 400
    bad = {**RECEIPT, "amounts_per_vat_rate": [{"vat_rate": "NORMAL", "amount": "11.9"}]}
    tx_id = str(uuid.uuid4())
    client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    with pytest.raises(FiskalyError) as excinfo:
        client.upsert_transaction(
            ready.tss_id, tx_id, tx_revision=2, state="FINISHED", client_id=ready.client_id, receipt=bad
        )
    assert (excinfo.value.status_code, excinfo.value.code) == (400, "E_FAILED_SCHEMA_VALIDATION")


def test_list_transactions_with_states_filter(fake, client, ready):
    open_id, done_id = str(uuid.uuid4()), str(uuid.uuid4())
    for tx_id in (open_id, done_id):
        client.upsert_transaction(ready.tss_id, tx_id, tx_revision=1, state="ACTIVE", client_id=ready.client_id)
    client.upsert_transaction(
        ready.tss_id, done_id, tx_revision=2, state="FINISHED", client_id=ready.client_id, receipt=RECEIPT
    )

    active = client.list_transactions(ready.tss_id, states=[TransactionState.ACTIVE])
    assert [t.id for t in active.data] == [open_id]
    assert active.count == 1
    assert [r.query for r in fake.calls("GET", "/tx")][-1] == [
        ("limit", "100"),
        ("offset", "0"),
        ("states[0]", "ACTIVE"),
    ]

    both = client.list_transactions(ready.tss_id, states=["ACTIVE", "FINISHED"], order="desc")
    assert [t.id for t in both.data] == [done_id, open_id]
    assert [t.state for t in client.list_transactions(ready.tss_id, states=["FINISHED"]).data] == ["FINISHED"]
    assert client.list_transactions(ready.tss_id, limit=1, offset=1).data[0].id == done_id
    with pytest.raises(ValueError):
        client.list_transactions(ready.tss_id, limit=101)


@pytest.mark.parametrize("as_string", [False, True])
def test_signature_counter_as_string_or_number(make_client, as_string):
    with FakeFiskalyServer(counter_as_string=as_string) as server:
        client = make_client(server)
        ready = set_up_tss(client)
        tx = client.upsert_transaction(
            ready.tss_id, str(uuid.uuid4()), tx_revision=1, state="ACTIVE", client_id=ready.client_id
        )
        raw_counter = tx.raw["signature"]["counter"]
        assert isinstance(raw_counter, str) is as_string
        assert isinstance(tx.signature.counter, int)
        assert tx.signature.counter == int(raw_counter)


def test_parse_counter_edge_cases():
    assert parse_counter(7) == 7
    assert parse_counter("42") == 42
    assert parse_counter(" 42 ") == 42
    assert parse_counter(3.0) == 3
    assert parse_counter("123456789012345678901234567890") == 123456789012345678901234567890
    for bad in (True, "x1", "-1", 1.5, None, ""):
        with pytest.raises(FiskalyError) as excinfo:
            parse_counter(bad)
        assert excinfo.value.code == "E_INVALID_RESPONSE"
    sig = Signature.from_api({"value": "c2ln", "algorithm": "ecdsa-plain-SHA256", "counter": "9", "public_key": "cGs="})
    assert sig.counter == 9


def test_exports(fake, client, ready):
    tss_id = str(uuid.uuid4())
    client.create_tss(tss_id)
    with pytest.raises(FiskalyError) as excinfo:
        client.trigger_export(tss_id, str(uuid.uuid4()))
    assert (excinfo.value.status_code, excinfo.value.code) == (409, "E_TSS_ILLEGAL_STATE_TO_PERFORM_EXPORT")

    export_id = str(uuid.uuid4())
    export = client.trigger_export(ready.tss_id, export_id, start_signature_counter=1, end_signature_counter=500)
    assert export.state is ExportState.PENDING
    assert dict(fake.calls("PUT", "/export/")[-1].query) == {
        "start_signature_counter": "1",
        "end_signature_counter": "500",
    }
    assert client.trigger_export(ready.tss_id, export_id).id == export_id  # idempotent
    assert client.retrieve_export(ready.tss_id, export_id).state is ExportState.WORKING
    done = client.retrieve_export(ready.tss_id, export_id)
    assert done.state is ExportState.COMPLETED
    assert done.time_expiration is not None


def test_transactions_need_initialized_tss(client, ready):
    client.authenticate_admin(ready.tss_id, ADMIN_PIN)
    client.update_tss(ready.tss_id, TssState.DISABLED)
    with pytest.raises(FiskalyError) as excinfo:
        client.upsert_transaction(
            ready.tss_id, str(uuid.uuid4()), tx_revision=1, state="ACTIVE", client_id=ready.client_id
        )
    assert (excinfo.value.status_code, excinfo.value.code) == (400, "E_TSS_DISABLED")
