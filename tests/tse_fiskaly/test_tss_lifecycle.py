"""TSS lifecycle, admin PIN/PUK handling and client registration against the fake over HTTP."""

import uuid

import pytest

from tests.tse_fiskaly.conftest import ADMIN_PIN, set_up_tss
from tse.backends.fiskaly_client import ClientState, FiskalyError, TssState


def _error(excinfo) -> tuple[int | None, str, bool]:
    return excinfo.value.status_code, excinfo.value.code, excinfo.value.retryable


def test_full_lifecycle(fake, client):
    tss_id = str(uuid.uuid4())
    created = client.create_tss(tss_id, metadata={"premise": "P1"})
    assert created.state is TssState.CREATED
    assert created.admin_puk and len(created.admin_puk) >= 10
    assert created.metadata == {"premise": "P1"}
    assert len(created.serial_number) == 64
    assert created.signature_algorithm == "ecdsa-plain-SHA256"
    # Repeatable while CREATED: the same PUK comes back, one TSS exists.
    assert client.create_tss(tss_id).admin_puk == created.admin_puk

    uninit = client.update_tss(tss_id, TssState.UNINITIALIZED)
    assert uninit.state is TssState.UNINITIALIZED
    assert uninit.admin_puk is None  # visible only while CREATED
    assert uninit.time_uninit is not None

    # The PIN is blocked right after creation.
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate_admin(tss_id, ADMIN_PIN)
    assert _error(excinfo) == (423, "E_ADMIN_PIN_BLOCKED", False)

    client.change_admin_pin(tss_id, created.admin_puk, ADMIN_PIN)
    # → INITIALIZED needs an admin login; that 401 is not a token problem: no re-authentication.
    with pytest.raises(FiskalyError) as excinfo:
        client.update_tss(tss_id, TssState.INITIALIZED)
    assert _error(excinfo) == (401, "E_ADMIN_NOT_AUTHENTICATED", False)
    assert fake.auth_grants == ["api_key"]

    client.authenticate_admin(tss_id, ADMIN_PIN)
    initialized = client.update_tss(tss_id, TssState.INITIALIZED, description="Kasse 1 (Theke)")
    assert initialized.state is TssState.INITIALIZED
    assert initialized.description == "Kasse 1 (Theke)"
    # System logs consume signature-counter values.
    assert initialized.signature_counter > uninit.signature_counter

    with pytest.raises(FiskalyError) as excinfo:
        client.create_tss(tss_id)
    assert _error(excinfo) == (409, "E_TSS_CONFLICT", False)

    with pytest.raises(FiskalyError) as excinfo:
        client.update_tss(tss_id, TssState.UNINITIALIZED)
    assert _error(excinfo) == (400, "E_ILLEGAL_TSS_STATE_CHANGE", False)

    # Same state with metadata = metadata update (merged).
    assert client.update_tss(tss_id, TssState.INITIALIZED, metadata={"x": "1"}).metadata == {"premise": "P1", "x": "1"}

    client.logout_admin(tss_id)
    client.logout_admin(tss_id)  # safe when not logged in
    with pytest.raises(FiskalyError) as excinfo:
        client.update_tss(tss_id, TssState.DISABLED)
    assert excinfo.value.code == "E_ADMIN_NOT_AUTHENTICATED"

    client.authenticate_admin(tss_id, ADMIN_PIN)
    disabled = client.update_tss(tss_id, TssState.DISABLED)
    assert disabled.state is TssState.DISABLED
    assert disabled.time_disable is not None
    assert client.retrieve_tss(tss_id).state is TssState.DISABLED
    assert fake.tss_state(tss_id) == "DISABLED"


def test_created_cannot_skip_to_initialized(client):
    tss_id = str(uuid.uuid4())
    client.create_tss(tss_id)
    with pytest.raises(FiskalyError) as excinfo:
        client.update_tss(tss_id, TssState.INITIALIZED)
    assert _error(excinfo) == (400, "E_ILLEGAL_TSS_STATE_CHANGE", False)


def test_non_uuid4_id_is_rejected(client):
    with pytest.raises(FiskalyError) as excinfo:
        client.create_tss("tss-1")
    assert _error(excinfo) == (400, "E_FAILED_SCHEMA_VALIDATION", False)


def test_admin_pin_blocks_after_five_failures_and_puk_unblocks(fake, client):
    tss_id = str(uuid.uuid4())
    puk = client.create_tss(tss_id).admin_puk
    client.update_tss(tss_id, TssState.UNINITIALIZED)
    client.change_admin_pin(tss_id, puk, ADMIN_PIN)

    for _ in range(5):
        with pytest.raises(FiskalyError) as excinfo:
            client.authenticate_admin(tss_id, "999999")
        assert _error(excinfo) == (401, "E_ADMIN_LOGIN_FAILED", False)
    # Now even the right PIN is refused.
    with pytest.raises(FiskalyError) as excinfo:
        client.authenticate_admin(tss_id, ADMIN_PIN)
    assert _error(excinfo) == (423, "E_ADMIN_PIN_BLOCKED", False)
    # Nothing was retried, and no wrong-PIN 401 caused a re-authentication.
    assert len(fake.calls("POST", "/admin/auth")) == 6
    assert fake.auth_grants == ["api_key"]

    with pytest.raises(FiskalyError) as excinfo:
        client.change_admin_pin(tss_id, "0000000000", "654321")
    assert _error(excinfo) == (400, "E_CHANGE_ADMIN_PIN_FAILED", False)

    client.change_admin_pin(tss_id, puk, "654321")
    client.authenticate_admin(tss_id, "654321")
    assert client.update_tss(tss_id, TssState.INITIALIZED).state is TssState.INITIALIZED


def test_short_pin_is_rejected(client):
    tss_id = str(uuid.uuid4())
    puk = client.create_tss(tss_id).admin_puk
    client.update_tss(tss_id, TssState.UNINITIALIZED)
    with pytest.raises(FiskalyError) as excinfo:
        client.change_admin_pin(tss_id, puk, "12345")
    assert _error(excinfo) == (400, "E_FAILED_SCHEMA_VALIDATION", False)


def test_client_creation_is_idempotent(fake, client):
    ready = set_up_tss(client)
    client.authenticate_admin(ready.tss_id, ADMIN_PIN)
    again = client.create_client(ready.tss_id, ready.client_id, ready.serial_number)
    assert again.id == ready.client_id
    assert again.state is ClientState.REGISTERED
    assert client.retrieve_tss(ready.tss_id).number_registered_clients == 1

    with pytest.raises(FiskalyError) as excinfo:
        client.create_client(ready.tss_id, ready.client_id, "KASSE-2")
    assert _error(excinfo) == (409, "E_CLIENT_CONFLICT", False)

    with pytest.raises(FiskalyError) as excinfo:
        client.create_client(ready.tss_id, str(uuid.uuid4()), "KASSE/2")
    assert _error(excinfo) == (400, "E_ILLEGAL_CLIENT_SERIAL", False)

    # client_id is unique system-wide.
    other = set_up_tss(client)
    client.authenticate_admin(other.tss_id, ADMIN_PIN)
    with pytest.raises(FiskalyError) as excinfo:
        client.create_client(other.tss_id, ready.client_id, "KASSE-1")
    assert excinfo.value.code == "E_CLIENT_CONFLICT"


def test_client_needs_initialized_tss_and_admin(client):
    tss_id = str(uuid.uuid4())
    client.create_tss(tss_id)
    with pytest.raises(FiskalyError) as excinfo:
        client.create_client(tss_id, str(uuid.uuid4()), "KASSE-1")
    assert _error(excinfo) == (400, "E_TSS_NOT_INITIALIZED", False)

    ready = set_up_tss(client)  # logs out at the end
    with pytest.raises(FiskalyError) as excinfo:
        client.create_client(ready.tss_id, str(uuid.uuid4()), "KASSE-9")
    assert _error(excinfo) == (401, "E_ADMIN_NOT_AUTHENTICATED", False)


def test_client_deregister_and_register_again(client):
    ready = set_up_tss(client)
    client.authenticate_admin(ready.tss_id, ADMIN_PIN)
    updated = client.update_client(ready.tss_id, ready.client_id, ClientState.DEREGISTERED, metadata={"why": "x"})
    assert updated.state is ClientState.DEREGISTERED
    assert updated.metadata == {"why": "x"}
    assert client.retrieve_client(ready.tss_id, ready.client_id).state is ClientState.DEREGISTERED
    assert client.update_client(ready.tss_id, ready.client_id, "REGISTERED").state is ClientState.REGISTERED
