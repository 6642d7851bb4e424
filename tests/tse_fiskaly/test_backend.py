"""The fiskaly SIGN DE backend (``tse.backends.fiskaly``) against the fake fiskaly server."""

import base64
import hashlib
import io
import json
import tarfile
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from portal.crypto import decrypt, encrypt
from portal.models import LogEntry
from tests.fakes.fiskaly_server import BSI_CERTIFICATION_ID, FakeFiskalyServer
from tests.helpers import api_client
from tests.tse_api.conftest import RECEIPT, put
from tests.tse_fiskaly.conftest import new_fiskaly_unit
from tse.backends import fiskaly as fiskaly_backend
from tse.backends.base import TseError
from tse.backends.fiskaly import ADMIN_PURPOSE, FiskalyTse, remote_client_id
from tse.models import (
    ApiTransactionRevision,
    ClientState,
    FiskalyTss,
    LogMessage,
    RevisionStatus,
    SigningUnit,
    SigningUnitState,
    TransactionState,
    TseClient,
    TseTransaction,
)
from tse.services.signing_units import disable_signing_unit, get_backend, initialize_signing_unit

PROCESS_DATA = "Beleg^11.90_3.21_0.00_0.00_0.00^15.11:Bar"


def _error(call, *args, **kwargs) -> TseError:
    with pytest.raises(TseError) as info:
        call(*args, **kwargs)
    return info.value


def _remote(fake, unit):
    return fake._tss[str(unit.public_id)]


def _verify(unit, signature: bytes, message: bytes) -> None:
    """``signature`` (r‖s) verifies with the unit's stored public key (raises otherwise)."""
    key = serialization.load_der_public_key(bytes(unit.public_key))
    half = len(signature) // 2
    der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
    key.verify(der, message, ec.ECDSA(hashes.SHA256()))


# --- registration, configuration --------------------------------------------------------------------


def test_fiskaly_units_get_the_fiskaly_backend(fiskaly_settings, fiskaly_operator):
    assert isinstance(get_backend(new_fiskaly_unit(fiskaly_operator)), FiskalyTse)


def test_not_configured_refuses_every_operation(fiskaly_settings, fiskaly_operator, fake, in_english):
    fiskaly_settings.FISKALY_API_KEY = ""
    backend = FiskalyTse(new_fiskaly_unit(fiskaly_operator))
    for call, args in [(backend.initialize, ()), (backend.info, ()), (backend.export, (io.BytesIO(),))]:
        error = _error(call, *args)
        assert (error.code, error.status) == ("E_BACKEND_NOT_CONFIGURED", 503)
        assert "not configured" in error.message
    assert fake.requests == []


def test_the_client_is_rebuilt_when_the_settings_change(fiskaly_settings):
    first = fiskaly_backend.fiskaly_client()
    assert fiskaly_backend.fiskaly_client() is first
    with FakeFiskalyServer() as other:
        fiskaly_settings.FISKALY_BASE_URL = other.base_url
        second = fiskaly_backend.fiskaly_client()
        assert second is not first and second.config.base_url == other.base_url


# --- initialization ---------------------------------------------------------------------------------


def test_initialize_personalises_the_tss_and_fills_the_unit(fake, fiskaly_unit):
    unit = fiskaly_unit
    remote = _remote(fake, unit)
    assert fake.tss_state(str(unit.public_id)) == "INITIALIZED"
    assert [(r.method, r.path.split("/", 3)[-1] if r.path.count("/") > 2 else "") for r in fake.calls(
        path_contains=str(unit.public_id))] == [
        ("GET", ""), ("PUT", ""), ("PATCH", ""), ("PATCH", "admin"), ("POST", "admin/auth"), ("PATCH", ""),
        ("POST", "admin/logout"), ("GET", ""),  # the last: update_time
    ]
    assert [r.body["state"] for r in fake.calls("PATCH") if r.path.endswith(str(unit.public_id))] == [
        "UNINITIALIZED", "INITIALIZED"]
    assert unit.state == SigningUnitState.INITIALIZED
    assert unit.serial_number == remote.serial_number
    point = base64.b64decode(remote.public_key_b64)
    public_key = serialization.load_der_public_key(bytes(unit.public_key))
    assert public_key.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint) == point
    assert hashlib.sha256(point).hexdigest() == unit.serial_number
    certificate = x509.load_pem_x509_certificate(unit.certificate.encode())
    assert certificate.public_key().public_numbers() == public_key.public_numbers()
    assert unit.certificate_expires_at == certificate.not_valid_after_utc
    assert (unit.curve, unit.signature_algorithm) == ("P-256", "ecdsa-plain-SHA256")
    assert unit.bsi_certification_id == BSI_CERTIFICATION_ID
    assert unit.last_time_sync_at is not None
    assert not LogMessage.unscoped.filter(signing_unit=unit).exists()


def test_admin_puk_and_pin_are_stored_encrypted_only(fake, fiskaly_unit):
    remote = _remote(fake, fiskaly_unit)
    row = FiskalyTss.unscoped.get(signing_unit=fiskaly_unit)
    assert row.organization_id == fiskaly_unit.organization_id and row.remote_state == "INITIALIZED"
    assert decrypt(bytes(row.encrypted_admin_puk), ADMIN_PURPOSE).decode() == remote.admin_puk
    assert decrypt(bytes(row.encrypted_admin_pin), ADMIN_PURPOSE).decode() == remote.admin_pin
    assert len(remote.admin_pin) >= 6
    for secret in (remote.admin_puk, remote.admin_pin):
        assert secret.encode() not in bytes(row.encrypted_admin_puk) + bytes(row.encrypted_admin_pin)
        unit_row = SigningUnit.unscoped.filter(pk=fiskaly_unit.pk).values().first()
        unit_values = [str(value) for value in unit_row.values()]
        assert not any(secret in value for value in unit_values)
        audit = json.dumps(list(LogEntry.unscoped.values("data", "object_repr")), default=str)
        assert secret not in audit
    audit = LogEntry.unscoped.get(action="tse.signing_unit.initialized", object_id__in=[
        str(fiskaly_unit.pk), str(fiskaly_unit.public_id)])
    assert audit.data == {"signature_counters": [None, None]}


def test_initialize_twice_is_refused(fiskaly_unit):
    assert _error(FiskalyTse(fiskaly_unit).initialize).code == "E_TSE_ALREADY_INITIALIZED"


def test_initialize_resumes_after_a_failure_half_way(fake, fiskaly_settings, fiskaly_operator):
    unit = new_fiskaly_unit(fiskaly_operator)
    fake.inject_error(500, count=3, path_contains="/admin/auth")  # all three attempts of the client
    error = _error(FiskalyTse(unit).initialize)
    assert (error.code, error.status) == ("E_TSE_UNAVAILABLE", 503)
    tss_id = str(unit.public_id)
    assert fake.tss_state(tss_id) == "UNINITIALIZED"
    row = FiskalyTss.unscoped.get(signing_unit=unit)
    assert decrypt(bytes(row.encrypted_admin_puk), ADMIN_PURPOSE).decode() == _remote(fake, unit).admin_puk
    first_pin = decrypt(bytes(row.encrypted_admin_pin), ADMIN_PURPOSE).decode()
    assert row.remote_state == "UNINITIALIZED"
    unit.refresh_from_db()
    assert unit.state == SigningUnitState.UNINITIALIZED and unit.serial_number == ""

    FiskalyTse(unit).initialize()  # continues from UNINITIALIZED: no new TSS, same PIN
    unit.refresh_from_db()
    assert unit.state == SigningUnitState.INITIALIZED
    assert fake.tss_state(tss_id) == "INITIALIZED"
    assert len(fake.calls("PUT", tss_id)) == 1
    assert {call.body["new_admin_pin"] for call in fake.calls("PATCH", f"{tss_id}/admin")} == {first_pin}
    assert _remote(fake, unit).admin_pin == first_pin


def test_initialize_resumes_a_tss_left_in_created(fake, fiskaly_settings, fiskaly_operator):
    unit = new_fiskaly_unit(fiskaly_operator)
    fake.inject_error(400, code="E_INJECTED", method="PATCH")
    error = _error(FiskalyTse(unit).initialize)
    assert (error.code, error.status) == ("E_INJECTED", 400)
    assert fake.tss_state(str(unit.public_id)) == "CREATED"
    assert FiskalyTss.unscoped.get(signing_unit=unit).encrypted_admin_puk
    FiskalyTse(unit).initialize()
    assert fake.tss_state(str(unit.public_id)) == "INITIALIZED"


# --- clients ----------------------------------------------------------------------------------------


def test_register_and_deregister_clients_at_fiskaly(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    assert backend.register_client("KASSE-01") is None
    remote_id = remote_client_id(fiskaly_unit, "KASSE-01")
    assert uuid.UUID(remote_id).version == 4
    remote = _remote(fake, fiskaly_unit).clients[remote_id]
    assert (remote["serial_number"], remote["state"]) == ("KASSE-01", "REGISTERED")
    client = TseClient.unscoped.get(signing_unit=fiskaly_unit, client_id="KASSE-01")
    assert client.state == ClientState.REGISTERED
    assert not fake._admin_sessions  # logged out again
    assert _error(backend.register_client, "KASSE-01").code == "E_CLIENT_ALREADY_REGISTERED"

    backend.deregister_client("KASSE-01")
    assert remote["state"] == "DEREGISTERED"
    client.refresh_from_db()
    assert client.state == ClientState.DEREGISTERED

    backend.register_client("KASSE-01")  # re-registration: the same rows again
    assert remote["state"] == "REGISTERED"
    assert TseClient.unscoped.filter(signing_unit=fiskaly_unit).count() == 1
    assert len(_remote(fake, fiskaly_unit).clients) == 1


def test_client_limit_and_invalid_ids(fake, fiskaly_settings, fiskaly_operator):
    unit = initialize_signing_unit(actor=None, signing_unit=new_fiskaly_unit(fiskaly_operator, max_clients=1))
    backend = FiskalyTse(unit)
    backend.register_client("KASSE-01")
    assert _error(backend.register_client, "KASSE-02").code == "E_CLIENT_LIMIT_REACHED"
    assert _error(backend.register_client, "KASSE_02").code == "E_INVALID_CLIENT_ID"
    assert len(_remote(fake, unit).clients) == 1


def test_clients_need_an_initialized_unit(fiskaly_settings, fiskaly_operator):
    backend = FiskalyTse(new_fiskaly_unit(fiskaly_operator))
    assert _error(backend.register_client, "KASSE-01").code == "E_TSE_NOT_INITIALIZED"


# --- transactions -----------------------------------------------------------------------------------


def test_start_update_finish_with_raw_process_data(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    start = backend.start_transaction("KASSE-01")
    tx = TseTransaction.unscoped.get(signing_unit=fiskaly_unit, number=start.number)
    assert (tx.state, tx.last_revision, tx.client.client_id) == (TransactionState.ACTIVE, 1, "KASSE-01")
    assert start.log_message.operation_type == "StartTransaction"
    assert (start.log_message.der, start.log_message.file_name) == (b"", "")

    update = backend.update_transaction("KASSE-01", start.number, "Kassenbeleg-V1", b"Beleg^1.00_0.00")
    finish = backend.finish_transaction("KASSE-01", start.number, "Kassenbeleg-V1", PROCESS_DATA.encode())
    puts = fake.calls("PUT", f"/tx/{tx.public_id}")
    assert [dict(call.query)["tx_revision"] for call in puts] == ["1", "2", "3"]
    assert "schema" not in puts[0].body
    assert puts[2].body["schema"] == {"raw": {"process_type": "Kassenbeleg-V1", "process_data": base64.b64encode(
        PROCESS_DATA.encode()).decode()}}
    assert puts[2].body["client_id"] == remote_client_id(fiskaly_unit, "KASSE-01")
    tx.refresh_from_db()
    assert (tx.state, tx.last_revision, tx.process_type, bytes(tx.process_data)) == (
        TransactionState.FINISHED, 3, "Kassenbeleg-V1", PROCESS_DATA.encode())
    assert tx.time_end == finish.time_end and tx.time_start == start.time_start == finish.time_start
    assert update.signature.counter < finish.signature.counter
    assert (finish.state, finish.revision, finish.log_message.operation_type) == ("FINISHED", 3, "FinishTransaction")
    remote = _remote(fake, fiskaly_unit)
    assert finish.signature.public_key == base64.b64decode(remote.public_key_b64)
    assert finish.signature.serial_number == remote.serial_number
    unix = int(finish.log_message.log_time.timestamp())
    _verify(fiskaly_unit, finish.signature.value,
            f"Finish|{finish.number}|{finish.signature.counter}|{unix}|Kassenbeleg-V1|{PROCESS_DATA}".encode())
    fiskaly_unit.refresh_from_db()
    assert fiskaly_unit.signature_counter == finish.signature.counter
    assert fiskaly_unit.transaction_counter == finish.number
    assert not LogMessage.unscoped.filter(signing_unit=fiskaly_unit).exists()
    assert _error(backend.update_transaction, "KASSE-01", start.number, "", b"").code == "E_TRANSACTION_NOT_ACTIVE"


def test_cancel(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    start = backend.start_transaction("KASSE-01")
    cancelled = backend.finish_transaction("KASSE-01", start.number, "Kassenbeleg-V1", PROCESS_DATA.encode(),
                                           cancelled=True)
    assert cancelled.state == "CANCELLED"
    assert TseTransaction.unscoped.get(signing_unit=fiskaly_unit, number=start.number).state == "CANCELLED"


def test_a_5xx_burst_is_e_tse_unavailable(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    fake.inject_error(503, count=10, path_contains="/tx/")
    error = _error(backend.start_transaction, "KASSE-01")
    assert (error.code, error.status) == ("E_TSE_UNAVAILABLE", 503)
    assert len(fake.calls("PUT", "/tx/")) == 3  # the client retried
    assert not TseTransaction.unscoped.filter(signing_unit=fiskaly_unit).exists()


def test_a_timeout_is_e_tse_unavailable(fake, fiskaly_unit, fiskaly_settings):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    fiskaly_settings.FISKALY_MAX_ATTEMPTS = 1
    fake.inject_delay(6, path_contains="/tx/")  # longer than the 5 s transaction timeout
    error = _error(backend.start_transaction, "KASSE-01")
    assert (error.code, error.status) == ("E_TSE_UNAVAILABLE", 503)


def test_fiskaly_4xx_keep_their_code(fake, fiskaly_unit, in_english):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    _remote(fake, fiskaly_unit).state = "DISABLED"  # disabled at fiskaly behind the portal's back
    error = _error(backend.start_transaction, "KASSE-01")
    assert (error.code, error.status) == ("E_TSS_DISABLED", 409)
    assert error.message.startswith("fiskaly refused the request: ")
    _remote(fake, fiskaly_unit).state = "INITIALIZED"
    fake.inject_error(404, code="E_TX_NOT_FOUND", path_contains="/tx/")
    error = _error(backend.start_transaction, "KASSE-01")
    assert (error.code, error.status) == ("E_TX_NOT_FOUND", 404)
    assert len(fake.calls("PUT", "/tx/")) == 2  # 4xx are not retried


def test_wrong_api_key_is_a_configuration_error(fake, fiskaly_unit, fiskaly_settings):
    fiskaly_settings.FISKALY_API_SECRET = "wrong"
    error = _error(FiskalyTse(fiskaly_unit).info)
    assert (error.code, error.status) == ("E_BACKEND_NOT_CONFIGURED", 503)


# --- the signing API on a fiskaly unit ------------------------------------------------------------


@pytest.fixture
def api_unit(fiskaly_settings, actors):
    unit = initialize_signing_unit(actor=None, signing_unit=new_fiskaly_unit(actors.owner.organization))
    owner = api_client(actors.owner.key)
    client_id = str(uuid.uuid4())
    response = put(owner, f"/api/v1/tss/{unit.public_id}/client/{client_id}", {"serial_number": "KASSE-01"})
    assert response.status_code == 201, response.content
    return unit, owner, client_id


def _put_tx(owner, unit, tx_id, revision, state, client_id, schema=None):
    body = {"state": state, "client_id": client_id}
    if schema is not None:
        body["schema"] = schema
    return put(owner, f"/api/v1/tss/{unit.public_id}/tx/{tx_id}?tx_revision={revision}", body)


def test_a_receipt_signed_by_fiskaly_through_the_signing_api(fake, api_unit):
    unit, owner, client_id = api_unit
    assert _remote(fake, unit).clients[remote_client_id(unit, "KASSE-01")]["state"] == "REGISTERED"
    tx_id = str(uuid.uuid4())
    start = _put_tx(owner, unit, tx_id, 1, "ACTIVE", client_id)
    assert start.status_code == 200, start.content
    assert start.json()["signature"] is not None and start.json()["error"] is None
    finish = _put_tx(owner, unit, tx_id, 2, "FINISHED", client_id, RECEIPT)
    assert finish.status_code == 200, finish.content
    data = finish.json()
    assert data["error"] is None and data["state"] == "FINISHED"
    remote_tx = fake.calls("PUT", "/tx/")[-1]
    assert remote_tx.body["schema"]["raw"] == {"process_type": "Kassenbeleg-V1",
                                              "process_data": base64.b64encode(PROCESS_DATA.encode()).decode()}
    stored = _remote(fake, unit).txs[remote_tx.path.rsplit("/", 1)[-1]].revisions[-1][1]
    assert data["signature"]["value"] == stored["signature"]["value"]
    assert data["signature"]["counter"] == stored["signature"]["counter"]
    assert data["signature"]["public_key"] == _remote(fake, unit).public_key_b64
    assert data["number"] == stored["number"] and data["log"]["timestamp"] == stored["log"]["timestamp"]
    qr = data["qr_code_data"].split(";")
    assert qr[0] == "V0" and qr[1] == "KASSE-01" and qr[2] == "Kassenbeleg-V1" and qr[3] == PROCESS_DATA
    assert qr[4] == str(data["number"]) and qr[5] == str(data["signature"]["counter"])
    assert data["signature"]["value"] in qr and _remote(fake, unit).public_key_b64 in qr
    _verify(unit, base64.b64decode(data["signature"]["value"]),
            f"Finish|{data['number']}|{data['signature']['counter']}|{data['log']['timestamp']}|"
            f"Kassenbeleg-V1|{PROCESS_DATA}".encode())
    assert TseTransaction.unscoped.get(signing_unit=unit, number=data["number"]).state == TransactionState.FINISHED


def test_the_signing_api_answers_unsigned_when_fiskaly_is_down(fake, api_unit):
    unit, owner, client_id = api_unit
    fake.inject_error(500, count=10, path_contains="/tx/")
    response = _put_tx(owner, unit, str(uuid.uuid4()), 1, "ACTIVE", client_id)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["signature"] is None
    assert data["error"]["code"] == "E_TSE_UNAVAILABLE"
    assert ApiTransactionRevision.unscoped.get(api_transaction__signing_unit=unit).status == RevisionStatus.FAILED


# --- time, disable, info, export ------------------------------------------------------------------


def test_update_time_records_the_sync(fake, fiskaly_unit):
    before = fiskaly_unit.last_time_sync_at
    backend = FiskalyTse(fiskaly_unit)
    assert backend.update_time() is None
    fiskaly_unit.refresh_from_db()
    assert fiskaly_unit.last_time_sync_at > before


def test_info_from_fiskaly(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    start = backend.start_transaction("KASSE-01")
    info = backend.info()
    remote = _remote(fake, fiskaly_unit)
    assert info.backend == "fiskaly" and info.state == "initialized" and info.mode == "test"
    assert info.serial_number == remote.serial_number
    assert info.public_key == base64.b64decode(remote.public_key_b64)
    assert (info.signature_counter, info.transaction_counter) == (remote.signature_counter, 1)
    assert info.registered_clients == ["KASSE-01"] and info.open_transactions == [start.number]
    assert info.bsi_certification_id == BSI_CERTIFICATION_ID
    assert info.certified is False and info.remaining_signatures is None
    assert info.max_clients == 199 and info.time_format == "unixTime"


def test_disable_at_fiskaly_and_locally(fake, fiskaly_unit):
    unit = disable_signing_unit(actor=None, signing_unit=fiskaly_unit)
    assert unit.state == SigningUnitState.DISABLED
    assert fake.tss_state(str(unit.public_id)) == "DISABLED"
    assert FiskalyTss.unscoped.get(signing_unit=unit).remote_state == "DISABLED"
    assert LogEntry.unscoped.get(action="tse.signing_unit.disabled").data == {"signature_counter": None}
    assert _error(FiskalyTse(unit).start_transaction, "KASSE-01").code == "E_TSE_DISABLED"


def test_export_downloads_the_tar_with_its_sha256(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    backend.register_client("KASSE-01")
    start = backend.start_transaction("KASSE-01")
    finish = backend.finish_transaction("KASSE-01", start.number, "Kassenbeleg-V1", PROCESS_DATA.encode())
    out = io.BytesIO()
    result = backend.export(out)
    data = out.getvalue()
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data) > 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
    logs = [name for name in names if name.endswith(".log")]
    assert result.log_count == len(logs) == _remote(fake, fiskaly_unit).signature_counter
    assert (result.first_signature_counter, result.last_signature_counter) == (1, finish.signature.counter)
    assert f"{fiskaly_unit.serial_number}_X509.pem" in names
    assert len(fake.calls("GET", "/file")) == 1


def test_export_filters_go_to_fiskaly(fake, fiskaly_unit):
    backend = FiskalyTse(fiskaly_unit)
    backend.export(io.BytesIO(), transaction_from=2, transaction_to=5)
    backend.export(io.BytesIO(), client_id="KASSE-01")
    first, second = (dict(call.query) for call in fake.calls("PUT", "/export/"))
    assert first == {"start_transaction_number": "2", "end_transaction_number": "5"}
    assert second == {"client_id": remote_client_id(fiskaly_unit, "KASSE-01")}
    # fiskaly ignores every other filter next to client_id: refused rather than exporting more
    assert _error(backend.export, io.BytesIO(), client_id="KASSE-01", transaction_from=2).code == "E_VALIDATION"
    assert len(fake.calls("PUT", "/export/")) == 2


def test_export_failure_is_a_tse_error(fake, fiskaly_unit):
    fake.inject_error(409, code="E_TOO_MANY_EXPORTS", path_contains="/export/")
    error = _error(FiskalyTse(fiskaly_unit).export, io.BytesIO())
    assert (error.code, error.status) == ("E_TOO_MANY_EXPORTS", 409)
    fake.inject_error(500, count=5, path_contains="/file")
    error = _error(FiskalyTse(fiskaly_unit).export, io.BytesIO())
    assert error.code == "E_TSE_UNAVAILABLE"


def test_export_needs_an_initialized_unit(fiskaly_settings, fiskaly_operator):
    assert _error(FiskalyTse(new_fiskaly_unit(fiskaly_operator)).export, io.BytesIO()).code == "E_TSE_NOT_INITIALIZED"


@pytest.mark.django_db(transaction=True)
def test_secrets_survive_a_failed_initialize_signing_unit(fake, fiskaly_settings):
    """A failed personalisation keeps PUK and PIN (``initialize`` runs outside a transaction) and is red."""
    from tests.factories import make_organization

    unit = new_fiskaly_unit(make_organization(name="Fiskaly Durable GmbH"))
    fake.inject_error(500, count=3, path_contains="/admin/auth")
    assert _error(initialize_signing_unit, actor=None, signing_unit=unit).code == "E_TSE_UNAVAILABLE"
    assert fake.tss_state(str(unit.public_id)) == "UNINITIALIZED"
    row = FiskalyTss.unscoped.get(signing_unit=unit)
    assert decrypt(bytes(row.encrypted_admin_puk), ADMIN_PURPOSE).decode() == _remote(fake, unit).admin_puk
    assert decrypt(bytes(row.encrypted_admin_pin), ADMIN_PURPOSE).decode() == _remote(fake, unit).admin_pin
    unit.refresh_from_db()
    assert unit.state == SigningUnitState.UNINITIALIZED and unit.health == "red"

    unit = initialize_signing_unit(actor=None, signing_unit=unit)
    assert unit.health == "green"
    assert unit.state == SigningUnitState.INITIALIZED and fake.tss_state(str(unit.public_id)) == "INITIALIZED"
    FiskalyTse(unit).register_client("KASSE-01")  # needs the stored admin PIN
    assert FiskalyTss.unscoped.filter(signing_unit=unit).count() == 1


def test_a_refused_admin_login_is_not_the_callers_401(fake, fiskaly_unit):
    FiskalyTss.unscoped.filter(signing_unit=fiskaly_unit).update(
        encrypted_admin_pin=encrypt(b"999999", ADMIN_PURPOSE))
    error = _error(FiskalyTse(fiskaly_unit).register_client, "KASSE-01")
    assert (error.code, error.status) == ("E_ADMIN_LOGIN_FAILED", 502)
    assert not TseClient.unscoped.filter(signing_unit=fiskaly_unit).exists()


def test_info_of_a_unit_not_yet_at_fiskaly(fake, fiskaly_settings, fiskaly_operator):
    info = FiskalyTse(new_fiskaly_unit(fiskaly_operator)).info()
    assert (info.state, info.serial_number, info.signature_counter, info.public_key) == ("uninitialized", "", 0, b"")
