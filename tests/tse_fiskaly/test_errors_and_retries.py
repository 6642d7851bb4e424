"""Error envelope mapping, the retry policy, Retry-After, timeouts per operation kind, request ids."""

import logging
import pickle
import socket
import threading
import time
import uuid
from email.utils import formatdate

import pytest

from tse.backends.fiskaly_client import (
    FiskalyClient,
    FiskalyConfig,
    FiskalyError,
    OperationKind,
    parse_retry_after,
)


def _start(client, ready, **kwargs):
    return client.upsert_transaction(
        ready.tss_id, kwargs.pop("tx_id", str(uuid.uuid4())), tx_revision=1, state="ACTIVE", client_id=ready.client_id
    )


def test_error_envelope_is_mapped(fake, client):
    with pytest.raises(FiskalyError) as excinfo:
        client.retrieve_tss(str(uuid.uuid4()))
    error = excinfo.value
    assert error.status_code == 404
    assert error.code == "E_TSS_NOT_FOUND"
    assert error.error == "Not Found"
    assert error.message
    assert error.retryable is False
    assert uuid.UUID(error.request_id)
    assert "E_TSS_NOT_FOUND" in str(error)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "E_FAILED_SCHEMA_VALIDATION"),
        (403, "E_ACCESS_DENIED"),
        (409, "E_EXPORT_IN_PROGRESS"),
        (423, "E_TSS_DEFECTIVE"),
        (432, "E_USE_MIDDLEWARE"),
        (444, "E_MIDDLEWARE_PENDING_REQUEST"),
    ],
)
def test_4xx_is_never_retried(fake, client, ready, sleeper, status, code):
    fake.inject_error(status, code=code, count=5, path_contains="/tx/")
    with pytest.raises(FiskalyError) as excinfo:
        _start(client, ready)
    assert (excinfo.value.status_code, excinfo.value.code, excinfo.value.retryable) == (status, code, False)
    assert len(fake.calls("PUT", "/tx/")) == 1
    assert sleeper.delays == []


def test_503_is_retried_honouring_retry_after(fake, client, ready, sleeper):
    fake.inject_error(503, code="E_TSS_LOCKED", retry_after="0.3", count=2, path_contains="/tx/")
    started = time.monotonic()
    tx = _start(client, ready)
    elapsed = time.monotonic() - started
    assert tx.revision == 1
    assert [r.status for r in fake.calls("PUT", "/tx/")] == [503, 503, 200]
    assert len(sleeper.delays) == 2
    assert all(delay >= 0.3 for delay in sleeper.delays)
    assert elapsed >= 0.6


def test_429_with_integer_retry_after(fake, client, ready, sleeper):
    fake.inject_error(429, retry_after="1", count=1, path_contains="/tx/")
    started = time.monotonic()
    _start(client, ready)
    assert time.monotonic() - started >= 1.0
    assert sleeper.delays == [1.0]
    assert [r.status for r in fake.calls("PUT", "/tx/")] == [429, 200]


def test_retry_after_beyond_the_cap_is_not_waited_for(fake, make_client, sleeper):
    client = make_client(retry_after_max=5)
    fake.inject_error(503, code="E_EXPORT_TEMPORARILY_UNAVAILABLE", retry_after="60", count=3)
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate()
    assert excinfo.value.retryable is True
    assert excinfo.value.retry_after == 60
    assert len(fake.requests) == 1
    assert sleeper.delays == []


def test_5xx_exhausts_max_attempts_with_exponential_backoff(fake, make_client, sleeper):
    client = make_client(max_attempts=4, backoff_base=0.02, backoff_max=0.05)
    fake.inject_error(500, count=10)
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate()
    assert (excinfo.value.status_code, excinfo.value.code, excinfo.value.retryable) == (500, "E_INTERNAL", True)
    assert len(fake.requests) == 4
    # Ceilings 0.02, 0.04, then capped at 0.05; jitter keeps each delay in [ceiling/2, ceiling].
    assert len(sleeper.delays) == 3
    for delay, ceiling in zip(sleeper.delays, (0.02, 0.04, 0.05), strict=True):
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("status", [499, 502])
def test_other_retryable_statuses(fake, client, ready, status):
    fake.inject_error(status, count=1, path_contains="/tx/")
    assert _start(client, ready).revision == 1
    assert [r.status for r in fake.calls("PUT", "/tx/")] == [status, 200]


def test_timeout_is_retried_then_raised_as_retryable(fake, make_client, ready):
    client = make_client(timeout_transaction=0.2, max_attempts=2)
    fake.inject_delay(1.0, count=2, path_contains="/tx/")
    started = time.monotonic()
    with pytest.raises(FiskalyError) as excinfo:
        _start(client, ready)
    assert time.monotonic() - started < 0.9  # the short transaction timeout applied
    error = excinfo.value
    assert (error.status_code, error.code, error.retryable) == (None, "E_TIMEOUT", True)
    assert len(fake.calls("PUT", "/tx/")) == 2


def test_timeout_then_success_leaves_one_transaction(fake, make_client, ready):
    """The timed-out attempt still lands at the server (a lost response); the retry is idempotent."""
    client = make_client(timeout_transaction=0.2)
    tx_id = str(uuid.uuid4())
    fake.inject_delay(0.4, count=1, path_contains="/tx/")
    tx = _start(client, ready, tx_id=tx_id)
    time.sleep(0.5)  # let the delayed first attempt finish at the fake
    puts = fake.calls("PUT", "/tx/")
    assert len(puts) == 2 and {r.status for r in puts} == {200}
    listed = client.list_transactions(ready.tss_id)
    assert [t.id for t in listed.data] == [tx_id]
    assert client.retrieve_transaction(ready.tss_id, tx_id) == tx


def test_long_operations_get_the_long_timeout(fake, make_client):
    client = make_client(timeout_transaction=0.2, timeout_default=0.2, timeout_long=3.0)
    client.authenticate()
    fake.inject_delay(0.5, count=1, method="PUT", path_contains="/tss/")
    tss_id = str(uuid.uuid4())
    assert client.create_tss(tss_id).state == "CREATED"
    fake.inject_delay(0.5, count=1, method="PATCH")
    assert client.update_tss(tss_id, "UNINITIALIZED").state == "UNINITIALIZED"
    assert len(fake.calls("PUT")) == 1
    assert len(fake.calls("PATCH")) == 1


def test_network_error_is_retryable(make_client, sleeper):
    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}/api/v2", max_attempts=3)
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate()
    assert (excinfo.value.status_code, excinfo.value.code, excinfo.value.retryable) == (None, "E_NETWORK", True)
    assert len(sleeper.delays) == 2


def test_request_id_is_logged(fake, client, caplog):
    caplog.set_level(logging.DEBUG, logger="tse.backends.fiskaly_client")
    client.authenticate()
    with pytest.raises(FiskalyError) as excinfo:
        client.retrieve_tss(str(uuid.uuid4()))
    messages = [r.getMessage() for r in caplog.records]
    assert any("POST auth -> 200 request-id=" in m for m in messages)
    assert any(f"request-id={excinfo.value.request_id}" in m and "E_TSS_NOT_FOUND" in m for m in messages)
    assert not any(fake.api_secret in m for m in messages)


def test_502_gateway_error_is_retried_then_raised(fake, client):
    fake.inject_error(502, count=3, code="SMAERS_GATEWAY_ERROR_PRECONDITION_UNEXPORTED_LOGS")
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate()
    assert excinfo.value.code == "SMAERS_GATEWAY_ERROR_PRECONDITION_UNEXPORTED_LOGS"
    assert excinfo.value.retryable


def test_parse_retry_after():
    assert parse_retry_after(None) is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(formatdate(1000.0 + 30, usegmt=True), now=lambda: 1000.0) == 30.0


def test_config_validation_and_timeouts():
    config = FiskalyConfig("key", "secret")
    assert config.timeout_for(OperationKind.TRANSACTION) == 5.0
    assert config.timeout_for(OperationKind.LONG) >= 30.0
    assert "secret" not in repr(config)
    with pytest.raises(ValueError):
        FiskalyConfig("key", "")
    with pytest.raises(ValueError):
        FiskalyConfig("key", "secret", max_attempts=0)
    with pytest.raises(ValueError):
        FiskalyConfig("key", "secret", timeout_transaction=0)
    with FiskalyClient(config) as client:
        assert client.auth_info is None


def test_error_survives_pickling():
    error = FiskalyError(503, "E_TSS_LOCKED", "maintenance", True, error="Service Unavailable", retry_after=2.0)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status_code, copy.code, copy.message, copy.retryable) == (503, "E_TSS_LOCKED", "maintenance", True)
    assert (copy.error, copy.retry_after, str(copy)) == ("Service Unavailable", 2.0, str(error))


def test_concurrent_first_calls_authenticate_once(fake, client):
    errors: list[BaseException] = []

    def work() -> None:
        try:
            client.create_tss(str(uuid.uuid4()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fake.auth_grants == ["api_key"]
    assert len(fake.calls("PUT")) == 8


def test_ids_cannot_change_the_path(fake, client):
    with pytest.raises(FiskalyError) as excinfo:
        client.retrieve_tss("../auth")
    assert excinfo.value.status_code == 404
    assert fake.calls("GET")[-1].path == "/tss/..%2Fauth"
