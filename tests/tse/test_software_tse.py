"""The software TSE: keys, certificates, log messages checked by the independent verifier, lifecycle."""

import datetime as dt
import hashlib

import pytest
import time_machine
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import DatabaseError, connection, transaction

from portal.crypto import decrypt
from portal.models import LogEntry
from tests.tse import verifier
from tests.tse.conftest import CURVES
from tse.backends.base import TseError
from tse.models import LogMessage, SigningUnit, SigningUnitState, TransactionState, TseTransaction
from tse.services.signing_units import (
    create_signing_unit,
    disable_signing_unit,
    get_backend,
    initialize_signing_unit,
)

CURVE_CLASSES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "brainpoolP256r1": ec.BrainpoolP256R1,
                 "brainpoolP384r1": ec.BrainpoolP384R1}


def _certificate(unit) -> x509.Certificate:
    return x509.load_pem_x509_certificate(unit.certificate.encode())


def _all_logs(unit) -> list[tuple[str, verifier.ParsedLog]]:
    rows = LogMessage.unscoped.filter(signing_unit=unit).order_by("signature_counter")
    return [(row.file_name, verifier.parse_log(bytes(row.der))) for row in rows]


def _error_code(call, *args, **kwargs) -> str:
    with pytest.raises(TseError) as info:
        call(*args, **kwargs)
    return info.value.code


@pytest.mark.parametrize("curve", CURVES)
def test_key_material_serial_and_certificate(operator, curve):
    unit = create_signing_unit(actor=None, organization=operator, curve=curve)
    certificate = _certificate(unit)
    public_key = certificate.public_key()
    assert isinstance(public_key.curve, CURVE_CLASSES[curve])
    point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert unit.serial_number == hashlib.sha256(point).hexdigest()
    assert bytes(unit.public_key) == public_key.public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    common_name = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert common_name == "Kassenportal Software-TSE – NOT CERTIFIED"
    assert unit.certificate_expires_at == certificate.not_valid_after_utc
    assert unit.state == SigningUnitState.UNINITIALIZED and unit.mode == "test"
    assert unit.bsi_certification_id == "" and unit.max_clients == 199
    assert unit.signature_algorithm == ("ecdsa-plain-SHA256" if "256" in curve else "ecdsa-plain-SHA384")
    entry = LogEntry.objects.get(action="tse.signing_unit.created")
    assert entry.organization == operator and entry.data["serial_number"] == unit.serial_number


def test_max_clients_defaults_and_configurable(operator):
    lan = create_signing_unit(actor=None, organization=operator, backend="lan")
    fiskaly = create_signing_unit(actor=None, organization=operator, backend="fiskaly")
    software = create_signing_unit(actor=None, organization=operator, max_clients=5)
    assert (lan.max_clients, fiskaly.max_clients, software.max_clients) == (3, 199, 5)
    assert lan.serial_number == "" and lan.encrypted_private_key is None
    assert _error_code(get_backend, lan) == "E_BACKEND_UNAVAILABLE"


def test_private_key_encrypted_at_rest(new_unit):
    stored = bytes(SigningUnit.unscoped.get(pk=new_unit.pk).encrypted_private_key)
    key = serialization.load_der_private_key(decrypt(stored, "tse-private-key"), password=None)
    assert key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo) == bytes(new_unit.public_key)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    for clear in (key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()),
                  key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()),
                  scalar):
        assert clear not in stored
    with pytest.raises(InvalidTag):
        decrypt(stored, "another-purpose")


def test_live_environment_refuses_the_software_tse(operator, new_unit, settings):
    settings.PORTAL_ENVIRONMENT = "live"
    assert _error_code(create_signing_unit, actor=None, organization=operator) == "E_SOFTWARE_TSE_NOT_ALLOWED"
    assert _error_code(initialize_signing_unit, actor=None, signing_unit=new_unit) == "E_SOFTWARE_TSE_NOT_ALLOWED"
    assert SigningUnit.unscoped.count() == 1
    assert not LogMessage.unscoped.exists()


def test_software_tse_runs_in_test_mode_only(operator):
    code = _error_code(create_signing_unit, actor=None, organization=operator, mode="live")
    assert code == "E_SOFTWARE_TSE_NOT_ALLOWED"


def test_live_environment_refuses_signing_with_an_existing_unit(backend, settings):
    settings.PORTAL_ENVIRONMENT = "live"
    assert _error_code(backend.start_transaction, "KASSE-01") == "E_SOFTWARE_TSE_NOT_ALLOWED"


@pytest.mark.parametrize("curve", CURVES)
def test_whole_lifecycle_verifies_independently(operator, curve):
    unit = create_signing_unit(actor=None, organization=operator, curve=curve)
    unit = initialize_signing_unit(actor=None, signing_unit=unit)
    backend = get_backend(unit)
    backend.register_client("KASSE-01")
    backend.register_client("137741-0007 Hioneu")
    first = backend.start_transaction("KASSE-01")
    second = backend.start_transaction("137741-0007 Hioneu", "", b"")
    backend.update_transaction("KASSE-01", first.number, "Kassenbeleg-V1", b"Beleg^0.00_0.00_0.00_0.00_0.00^")
    backend.finish_transaction("KASSE-01", first.number, "Kassenbeleg-V1", b"Beleg^10.00_0.00_0.00_0.00_0.00^")
    backend.finish_transaction("137741-0007 Hioneu", second.number, "SonstigerVorgang", b"", cancelled=True)
    backend.deregister_client("KASSE-01")
    disable_signing_unit(actor=None, signing_unit=backend.signing_unit)

    certificate = _certificate(unit)
    logs = _all_logs(unit)
    for name, log in logs:
        verifier.check_log(log, certificate, name)
    parsed = [log for _name, log in logs]
    verifier.check_sequence(parsed)
    expected_oid = "0.4.0.127.0.7.1.1.4.1.3" if "256" in curve else "0.4.0.127.0.7.1.1.4.1.4"
    assert {log.algorithm for log in parsed} == {expected_oid}
    assert {log.certified_data_type for log in parsed} == {verifier.OID_TRANSACTION_LOG, verifier.OID_SYSTEM_LOG}
    assert {log.version for log in parsed} == {2}
    assert [log.operation_type for log in parsed] == [
        "initialize", "updateTime", "registerClient", "registerClient", "StartTransaction", "StartTransaction",
        "UpdateTransaction", "FinishTransaction", "FinishTransaction", "deregisterClient", "disableSecureElement",
    ]
    assert [log.transaction_number for log in parsed if log.kind == "transaction"] == [1, 2, 1, 1, 2]
    unit.refresh_from_db()
    assert unit.state == SigningUnitState.DISABLED
    assert (unit.signature_counter, unit.transaction_counter) == (11, 2)
    states = dict(TseTransaction.unscoped.filter(signing_unit=unit).values_list("number", "state"))
    assert states == {1: TransactionState.FINISHED, 2: TransactionState.CANCELLED}
    assert set(LogEntry.objects.filter(organization=operator).values_list("action", flat=True)) >= {
        "tse.signing_unit.created", "tse.signing_unit.initialized", "tse.signing_unit.disabled"}


def test_transaction_log_content_and_results(backend, ready_unit):
    start = backend.start_transaction("KASSE-01")
    finish = backend.finish_transaction("KASSE-01", start.number, "Kassenbeleg-V1", b"Beleg^1.00^Bar:1.00")
    start_log = verifier.parse_log(start.log_message.der)
    finish_log = verifier.parse_log(finish.log_message.der)
    assert (start_log.process_data, start_log.process_type) == (b"", "")
    assert b"\x82\x00\x83\x00\x85" in start.log_message.der  # empty mandatory fields are present
    assert (finish_log.operation_type, finish_log.client_id) == ("FinishTransaction", "KASSE-01")
    assert (finish_log.process_type, finish_log.process_data) == ("Kassenbeleg-V1", b"Beleg^1.00^Bar:1.00")
    assert finish_log.transaction_number == start.number == 1
    assert finish.signature.value == finish_log.signature and finish.signature.counter == finish_log.signature_counter
    assert finish.signature.algorithm == "ecdsa-plain-SHA256"
    assert finish.signature.serial_number == ready_unit.serial_number
    assert hashlib.sha256(finish.signature.public_key).hexdigest() == ready_unit.serial_number
    assert finish.time_start == start.time_start and finish.time_end == finish.log_message.log_time
    assert (finish.state, finish.revision) == (TransactionState.FINISHED, 2)
    verifier.verify_signature(finish_log, _certificate(ready_unit))


def test_system_log_operation_data(backend, ready_unit):
    logs = dict((log.operation_type, log) for _name, log in _all_logs(ready_unit))
    assert logs["initialize"].system_operation_data[0].contents == b"Kasse Mitte"
    old, new = logs["updateTime"].system_operation_data
    assert (old.tag, new.tag, int.from_bytes(old.contents, "big")) == (1, 2, 0)
    assert int.from_bytes(new.contents, "big") == logs["updateTime"].log_time
    assert logs["registerClient"].system_operation_data[0].contents == b"KASSE-02"


def test_unix_time_after_2038_is_minimal_der(backend, ready_unit):
    with time_machine.travel(dt.datetime(2040, 1, 1, tzinfo=dt.UTC), tick=False):
        backend.update_time()
        result = backend.start_transaction("KASSE-01")
    log = verifier.parse_log(result.log_message.der)
    assert log.log_time == int(dt.datetime(2040, 1, 1, tzinfo=dt.UTC).timestamp()) > 2**31
    assert bytes.fromhex("0205") + log.log_time.to_bytes(5, "big") in result.log_message.der
    verifier.check_log(log, _certificate(ready_unit), result.log_message.file_name)


def test_lifecycle_and_client_errors(operator, new_unit):
    backend = get_backend(new_unit)
    assert _error_code(backend.start_transaction, "KASSE-01") == "E_TSE_NOT_INITIALIZED"
    assert _error_code(backend.register_client, "KASSE-01") == "E_TSE_NOT_INITIALIZED"
    backend.initialize()
    assert _error_code(backend.initialize) == "E_TSE_ALREADY_INITIALIZED"
    backend.register_client("KASSE-01")
    assert _error_code(backend.start_transaction, "KASSE-01") == "E_TIME_NOT_SET"
    backend.update_time()
    assert _error_code(backend.register_client, "KASSE-01") == "E_CLIENT_ALREADY_REGISTERED"
    assert _error_code(backend.register_client, "KASSE/01") == "E_INVALID_CLIENT_ID"
    assert _error_code(backend.register_client, "K" * 31) == "E_INVALID_CLIENT_ID"
    assert _error_code(backend.start_transaction, "KASSE-09") == "E_CLIENT_NOT_REGISTERED"
    assert _error_code(backend.start_transaction, "KASSE-01", "x" * 101) == "E_INVALID_PROCESS_TYPE"
    start = backend.start_transaction("KASSE-01")
    assert _error_code(backend.deregister_client, "KASSE-01") == "E_OPEN_TRANSACTION_FOUND"
    backend.register_client("KASSE-02")
    assert _error_code(backend.finish_transaction, "KASSE-02", start.number, "", b"") == "E_CLIENT_MISMATCH"
    assert _error_code(backend.finish_transaction, "KASSE-01", 99, "", b"") == "E_TRANSACTION_NOT_FOUND"
    backend.finish_transaction("KASSE-01", start.number, "SonstigerVorgang", b"")
    assert _error_code(backend.update_transaction, "KASSE-01", start.number, "", b"") == "E_TRANSACTION_NOT_ACTIVE"
    backend.deregister_client("KASSE-01")
    backend.register_client("KASSE-01")  # a deregistered client may come back
    disable_signing_unit(actor=None, signing_unit=backend.signing_unit)
    for call, args in ((backend.start_transaction, ("KASSE-01",)), (backend.update_time, ()),
                       (backend.disable, ()), (backend.register_client, ("KASSE-03",))):
        assert _error_code(call, *args) == "E_TSE_DISABLED"
    assert _error_code(backend.initialize) == "E_TSE_ALREADY_INITIALIZED"  # disabling is irreversible
    verifier.check_sequence([log for _name, log in _all_logs(new_unit)])


def test_client_limit(operator):
    unit = create_signing_unit(actor=None, organization=operator, max_clients=1)
    unit = initialize_signing_unit(actor=None, signing_unit=unit)
    backend = get_backend(unit)
    backend.register_client("KASSE-01")
    assert _error_code(backend.register_client, "KASSE-02") == "E_CLIENT_LIMIT_REACHED"
    backend.deregister_client("KASSE-01")
    backend.register_client("KASSE-02")


def test_refused_operations_use_no_counter(backend, ready_unit):
    before = SigningUnit.unscoped.get(pk=ready_unit.pk).signature_counter
    _error_code(backend.start_transaction, "KASSE-09")
    _error_code(backend.finish_transaction, "KASSE-01", 42, "", b"")
    unit = SigningUnit.unscoped.get(pk=ready_unit.pk)
    assert unit.signature_counter == before == LogMessage.unscoped.filter(signing_unit=unit).count()
    assert unit.transaction_counter == 0


@pytest.mark.usefixtures("in_english")
def test_info_labels_the_software_tse_not_certified(backend, ready_unit):
    backend.start_transaction("KASSE-01")
    info = backend.info()
    assert info.certified is False and "not certified" in info.certification_label
    assert info.backend == "software" and info.bsi_certification_id == ""
    assert info.serial_number == ready_unit.serial_number and info.time_format == "unixTime"
    assert (info.signature_counter, info.transaction_counter, info.max_clients) == (5, 1, 199)
    assert info.registered_clients == ["KASSE-01", "KASSE-02"] and info.open_transactions == [1]
    assert hashlib.sha256(info.public_key).hexdigest() == ready_unit.serial_number


def test_outlet_of_another_organization_is_refused(operator):
    from tenants.models import Outlet
    from tests.factories import make_organization

    other = make_organization()
    outlet = Outlet.unscoped.create(organization=other, number=1, name="Fremd", street="A", house_number="1",
                                    postal_code="10115", city="Berlin")
    assert _error_code(create_signing_unit, actor=None, organization=operator, outlet=outlet) == "E_OUTLET_NOT_FOUND"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL")
def test_log_messages_are_append_only(backend, ready_unit):
    row = LogMessage.unscoped.filter(signing_unit=ready_unit).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LogMessage.unscoped.filter(pk=row.pk).update(der=b"tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LogMessage.unscoped.filter(pk=row.pk).delete()
    assert bytes(LogMessage.unscoped.get(pk=row.pk).der) == bytes(row.der)


def test_verifier_rejects_a_tampered_log(backend, ready_unit):
    from cryptography.exceptions import InvalidSignature

    start = backend.start_transaction("KASSE-01")
    finish = backend.finish_transaction("KASSE-01", start.number, "Kassenbeleg-V1", b"Beleg^1.00")
    tampered = finish.log_message.der.replace(b"Beleg^1.00", b"Beleg^9.00")
    with pytest.raises(InvalidSignature):
        verifier.verify_signature(verifier.parse_log(tampered), _certificate(ready_unit))
    other = create_signing_unit(actor=None, organization=ready_unit.organization)
    with pytest.raises(AssertionError, match="serialNumber"):
        verifier.verify_signature(verifier.parse_log(finish.log_message.der), _certificate(other))
