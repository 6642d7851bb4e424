"""The TR-03153 TAR export: ustar container, names, info.csv, mtime, determinism, filters, signatures."""

import datetime as dt
import hashlib
import io

import pytest
import time_machine

from tests.tse import verifier
from tse.models import LogMessage
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit
from tse.services.tar_export import write_tar_export

EXPORT_TIME = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DAY_0 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)
DAY_1 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
DAY_2 = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)


class WriteOnly:
    """A sink that can neither seek nor tell: the export must stream."""

    def __init__(self):
        self.chunks = []

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _export(unit, **filters) -> tuple[bytes, object]:
    sink = WriteOnly()
    result = write_tar_export(unit, sink, export_time=EXPORT_TIME, **filters)
    return sink.value(), result


@pytest.fixture
def history(operator):
    """Day 0: set-up (4 system logs); day 1: transactions 1 (KASSE-01) and 2 (KASSE-02); day 2: time sync,
    transaction 3 (KASSE-01) and a new client."""
    with time_machine.travel(DAY_0, tick=False):
        unit = create_signing_unit(actor=None, organization=operator, description="Kasse Mitte")
        backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
        backend.register_client("KASSE-01")
        backend.register_client("KASSE-02")
    with time_machine.travel(DAY_1, tick=False):
        backend.update_time()
        one = backend.start_transaction("KASSE-01")
        two = backend.start_transaction("KASSE-02")
        backend.update_transaction("KASSE-01", one.number, "Kassenbeleg-V1", b"Beleg^1.00")
        backend.finish_transaction("KASSE-01", one.number, "Kassenbeleg-V1", b"Beleg^1.00^Bar:1.00")
        backend.finish_transaction("KASSE-02", two.number, "Kassenbeleg-V1", b"Beleg^2.00^Bar:2.00")
    with time_machine.travel(DAY_2, tick=False):
        backend.update_time()
        three = backend.start_transaction("KASSE-01")
        backend.register_client("KASSE-03")
        backend.finish_transaction("KASSE-01", three.number, "Kassenbeleg-V1", b"Beleg^3.00^Bar:3.00")
    return backend.signing_unit


def test_full_export_container_names_and_signatures(history):
    data, result = _export(history)
    check = verifier.check_tar(data)
    rows = list(LogMessage.unscoped.filter(signing_unit=history).order_by("signature_counter"))
    certificate_name = f"{history.serial_number}_X509.pem"
    assert check.names == ["info.csv", certificate_name, *[row.file_name for row in rows]]
    assert check.mtimes == {int(EXPORT_TIME.timestamp())} and result.mtime == int(EXPORT_TIME.timestamp())
    assert check.info_csv == ('"description:","Kasse Mitte","manufacturer:","Kassenportal","version:",'
                              '"Kassenportal Software-TSE 1 (TR-03151 log format v2, NOT CERTIFIED)"\n')
    assert list(check.certificates) == [history.serial_number]
    verifier.check_sequence(list(check.logs.values()))
    for row in rows:
        assert check.logs[row.file_name].signed_message in bytes(row.der)
    assert (result.log_count, result.first_signature_counter, result.last_signature_counter) == (len(rows), 1, 14)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert len(data) % 512 == 0 and data[-1024:] == b"\x00" * 1024


def test_export_is_deterministic(history):
    first, first_result = _export(history)
    second, second_result = _export(history)
    assert first == second and first_result.sha256 == second_result.sha256
    buffer = io.BytesIO()
    write_tar_export(history, buffer, export_time=EXPORT_TIME)
    assert buffer.getvalue() == first


def test_backend_export_is_the_tar_export(history):
    backend = get_backend(history)
    buffer = io.BytesIO()
    result = backend.export(buffer, export_time=EXPORT_TIME)
    assert buffer.getvalue() == _export(history)[0] and result.sha256 == hashlib.sha256(buffer.getvalue()).hexdigest()


def _operations(check) -> list[tuple[int, str, int | None]]:
    logs = sorted(check.logs.values(), key=lambda log: log.signature_counter)
    return [(log.signature_counter, log.operation_type, log.transaction_number) for log in logs]


def test_time_range_filter(history):
    check = verifier.check_tar(_export(history, time_from=DAY_2, time_to=DAY_2 + dt.timedelta(hours=1))[0])
    assert _operations(check) == [(11, "updateTime", None), (12, "StartTransaction", 3),
                                  (13, "registerClient", None), (14, "FinishTransaction", 3)]
    check = verifier.check_tar(_export(history, time_from=DAY_1, time_to=DAY_1)[0])
    assert [counter for counter, _op, _nr in _operations(check)] == list(range(5, 11))


def test_transaction_range_filter_keeps_system_logs_inside_the_counter_interval(history):
    check = verifier.check_tar(_export(history, transaction_from=2, transaction_to=3)[0])
    assert _operations(check) == [
        (7, "StartTransaction", 2), (10, "FinishTransaction", 2), (11, "updateTime", None),
        (12, "StartTransaction", 3), (13, "registerClient", None), (14, "FinishTransaction", 3),
    ]
    verifier.check_sequence([log for log in check.logs.values() if log.signature_counter >= 10], first_counter=10)


def test_client_filter(history):
    check = verifier.check_tar(_export(history, client_id="KASSE-02")[0])
    assert _operations(check) == [(7, "StartTransaction", 2), (10, "FinishTransaction", 2)]
    assert {log.client_id for log in check.logs.values()} == {"KASSE-02"}
    check = verifier.check_tar(_export(history, client_id="KASSE-01", transaction_from=3)[0])
    assert _operations(check) == [(12, "StartTransaction", 3), (13, "registerClient", None),
                                  (14, "FinishTransaction", 3)]


def test_filter_without_matches_exports_info_and_certificate(history):
    data, result = _export(history, transaction_from=50)
    check = verifier.check_tar(data)
    assert check.names == ["info.csv", f"{history.serial_number}_X509.pem"] and result.log_count == 0
    assert result.first_signature_counter is None
