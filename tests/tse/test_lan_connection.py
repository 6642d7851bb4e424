"""LAN TSE units: validation, encrypted token, serial uniqueness, updates, worker queue; fiskaly creation guard."""

import json
import uuid
from unittest import mock

import pytest

from portal import crypto
from portal.models import LogEntry
from tests.factories import make_organization
from tse.backends.base import TseError
from tse.models import BackendType, LanTseConnection, SigningUnit, SigningUnitMode, TseClient
from tse.services.connections import (
    create_fiskaly_signing_unit,
    create_lan_signing_unit,
    lan_token,
    lan_worker_command,
    normalize_host,
    update_lan_connection,
)
from tse.services.signing_units import get_backend

pytestmark = pytest.mark.django_db

SERIAL = "ab" * 32
TOKEN = "s3cr3t-lan-token-7f1e"


def make_lan(operator, **overrides):
    data = {"actor": None, "organization": operator, "host": "tse.kasse.local", "token": TOKEN,
            "tse_serial_number": SERIAL, **overrides}
    return create_lan_signing_unit(**data)


def test_create_stores_unit_connection_and_encrypted_token(operator):
    unit = make_lan(operator, tse_serial_number=" " + SERIAL.upper() + " ", outlet=None, description="Theke",
                    max_clients=5, mode=SigningUnitMode.TEST)
    unit = SigningUnit.unscoped.get(pk=unit.pk)
    assert (unit.backend, unit.serial_number, unit.max_clients, unit.description, unit.mode, unit.state) == (
        BackendType.LAN, SERIAL, 5, "Theke", "test", "uninitialized")
    connection = LanTseConnection.unscoped.get(signing_unit=unit)
    assert (connection.host, connection.port, connection.tse_serial_number) == ("tse.kasse.local", 4433, SERIAL)
    stored = bytes(connection.encrypted_token)
    assert TOKEN.encode() not in stored
    assert crypto.decrypt(stored, "lan-tse-token") == TOKEN.encode()
    assert lan_token(connection) == TOKEN
    entries = LogEntry.unscoped.filter(organization=operator, action__startswith="tse.")
    assert {entry.action for entry in entries} == {"tse.signing_unit.created", "tse.lan_connection.created"}
    assert all(TOKEN not in json.dumps(entry.data) for entry in entries)


@pytest.mark.parametrize("host, expected", [
    ("TSE.Kasse.Local", "tse.kasse.local"),
    ("tse-1.example.com.", "tse-1.example.com"),
    ("localhost", "localhost"),
    ("192.168.178.20", "192.168.178.20"),
    ("fd00::1", "fd00::1"),
    ("[fd00::1]", "fd00::1"),
])
def test_valid_hosts(host, expected):
    assert normalize_host(host) == expected


@pytest.mark.parametrize("host, fragment", [
    ("", "Enter the host name"),
    ("https://tse.local", "without a scheme"),
    ("tse.local/api", "without a path"),
    ("tse.local:4433", "port in its own field"),
    ("192.168.1.1:4433", "port in its own field"),
    ("tse .local", "must not contain spaces"),
    (" tse.local", "must not contain spaces"),
    ("-tse.local", "valid host name"),
    ("tse_1.local", "valid host name"),
    ("tse..local", "valid host name"),
    ("a" * 64 + ".local", "valid host name"),
    ("999.1.1.1", "valid host name"),
    ("[192.168.1.1]", "Only IPv6"),
])
def test_invalid_hosts(operator, in_english, host, fragment):
    with pytest.raises(TseError) as exc:
        make_lan(operator, host=host)
    assert (exc.value.code, exc.value.status, exc.value.field) == ("E_VALIDATION", 400, "host")
    assert fragment in exc.value.message
    assert not SigningUnit.unscoped.filter(organization=operator).exists()


@pytest.mark.parametrize("field, overrides, fragment", [
    ("port", {"port": 0}, "from 1 to 65535"),
    ("port", {"port": 65536}, "from 1 to 65535"),
    ("port", {"port": "4433"}, "from 1 to 65535"),
    ("token", {"token": "   "}, "Enter the API token"),
    ("token", {"token": "x" * 513}, "not be longer than 512"),
    ("tse_serial_number", {"tse_serial_number": "ab" * 31}, "exactly 64 hex digits"),
    ("tse_serial_number", {"tse_serial_number": "zz" * 32}, "exactly 64 hex digits"),
    ("max_clients", {"max_clients": 0}, "from 1 to 999"),
    ("max_clients", {"max_clients": 1000}, "from 1 to 999"),
    ("mode", {"mode": "demo"}, "Unknown mode"),
])
def test_invalid_fields(operator, in_english, field, overrides, fragment):
    with pytest.raises(TseError) as exc:
        make_lan(operator, **overrides)
    assert (exc.value.code, exc.value.status, exc.value.field) == ("E_VALIDATION", 400, field)
    assert fragment in exc.value.message
    assert not LanTseConnection.unscoped.exists()


def test_limits_are_inclusive(operator):
    unit = make_lan(operator, port=65535, max_clients=999, token="t" * 512)
    assert (unit.lan_connection.port, unit.max_clients) == (65535, 999)


def test_serial_is_unique_across_units_and_organizations(operator, in_english):
    make_lan(operator)
    other = make_organization()
    with pytest.raises(TseError) as exc:
        make_lan(other, tse_serial_number=SERIAL.upper(), host="10.0.0.2")
    assert (exc.value.code, exc.value.status) == ("E_SERIAL_TAKEN", 409)
    assert not SigningUnit.unscoped.filter(organization=other).exists()


def test_serial_of_a_software_tse_is_taken_too(new_unit, in_english):
    with pytest.raises(TseError) as exc:
        make_lan(new_unit.organization, tse_serial_number=new_unit.serial_number)
    assert exc.value.code == "E_SERIAL_TAKEN"


def make_outlet(organization, number=1):
    from tenants.models import Outlet

    return Outlet.unscoped.create(organization=organization, number=number, name=f"Filiale {number}", street="A",
                                  house_number="1", postal_code="10115", city="Berlin")


def test_outlet_must_be_the_operators(operator):
    own = make_outlet(operator)
    assert make_lan(operator, outlet=own).outlet == own
    with pytest.raises(TseError) as exc:
        make_lan(operator, outlet=make_outlet(make_organization()), tse_serial_number="cd" * 32)
    assert exc.value.code == "E_OUTLET_NOT_FOUND"
    assert not LanTseConnection.unscoped.filter(tse_serial_number="cd" * 32).exists()


def test_update_keeps_token_when_blank_and_replaces_it_when_given(operator):
    unit = make_lan(operator)
    for blank in (None, "", "   "):
        update_lan_connection(actor=None, signing_unit=unit, host="10.1.2.3", port=8443, token=blank, max_clients=7)
        connection = LanTseConnection.unscoped.get(signing_unit=unit)
        assert (connection.host, connection.port, lan_token(connection)) == ("10.1.2.3", 8443, TOKEN)
    assert SigningUnit.unscoped.get(pk=unit.pk).max_clients == 7
    update_lan_connection(actor=None, signing_unit=unit, host="10.1.2.3", port=8443, token="new-token",
                          max_clients=7)
    assert lan_token(LanTseConnection.unscoped.get(signing_unit=unit)) == "new-token"
    entries = LogEntry.unscoped.filter(action="tse.lan_connection.updated").order_by("pk")
    assert [entry.data["changed"] for entry in entries] == [["host", "port", "max_clients"], [], [], ["token"]]
    assert all("new-token" not in json.dumps(entry.data) for entry in entries)


def test_update_validates_and_changes_nothing_on_error(operator, in_english):
    unit = make_lan(operator)
    with pytest.raises(TseError) as exc:
        update_lan_connection(actor=None, signing_unit=unit, host="http://x", port=4433, max_clients=3)
    assert exc.value.field == "host"
    with pytest.raises(TseError) as exc:
        update_lan_connection(actor=None, signing_unit=unit, host="x.local", port=4433, token="y" * 600,
                              max_clients=3)
    assert exc.value.field == "token"
    connection = LanTseConnection.unscoped.get(signing_unit=unit)
    assert (connection.host, lan_token(connection)) == ("tse.kasse.local", TOKEN)


def test_update_refuses_fewer_clients_than_registered(operator, in_english):
    unit = make_lan(operator)
    for number in (1, 2):
        TseClient.unscoped.create(organization=operator, signing_unit=unit, client_id=f"KASSE-0{number}")
    with pytest.raises(TseError) as exc:
        update_lan_connection(actor=None, signing_unit=unit, host="tse.kasse.local", port=4433, max_clients=1)
    assert exc.value.field == "max_clients" and "2 POS are registered" in exc.value.message


def test_update_of_a_software_tse_is_refused(new_unit):
    with pytest.raises(TseError) as exc:
        update_lan_connection(actor=None, signing_unit=new_unit, host="x.local", port=1, max_clients=1)
    assert exc.value.code == "E_NOT_A_LAN_TSE"


def test_worker_command_and_no_driver(operator):
    unit = make_lan(operator)
    assert lan_worker_command(unit) == f"celery -A portal worker -Q tse.{unit.public_id} --concurrency 1"
    with pytest.raises(TseError) as exc:
        get_backend(unit)
    assert exc.value.code == "E_BACKEND_UNAVAILABLE"


def test_fiskaly_needs_the_portal_account(operator, settings, in_english):
    settings.FISKALY_API_KEY = ""
    with pytest.raises(TseError) as exc:
        create_fiskaly_signing_unit(actor=None, organization=operator, description="Cloud")
    assert (exc.value.code, exc.value.status) == ("E_BACKEND_NOT_CONFIGURED", 503)
    assert not SigningUnit.unscoped.filter(organization=operator).exists()
    settings.FISKALY_API_KEY = "test_key"
    unit = create_fiskaly_signing_unit(actor=None, organization=operator, description="Cloud")
    assert (unit.backend, unit.mode, unit.max_clients) == (BackendType.FISKALY, "live", 199)


def test_signing_on_a_lan_unit_goes_to_its_own_queue(operator):
    from tse.models import ApiTransaction, ApiTransactionRevision
    from tse.services import signing

    unit = make_lan(operator)
    SigningUnit.unscoped.filter(pk=unit.pk).update(state="initialized")
    unit.refresh_from_db()
    client = TseClient.unscoped.create(organization=operator, signing_unit=unit, client_id="KASSE-01")
    row, created = signing.submit_revision(unit=unit, tx_id=uuid.uuid4(), revision=1,
                                           data={"state": "ACTIVE", "client_id": str(client.public_id)})
    assert created and ApiTransaction.unscoped.filter(signing_unit=unit).count() == 1
    with mock.patch("tse.tasks.sign_revision_task.apply_async") as apply_async:
        signing.dispatch_revision(row)
    assert apply_async.call_args.kwargs["queue"] == f"tse.{unit.public_id}"
    assert apply_async.call_args.kwargs["kwargs"] == {"organization_id": operator.pk, "revision_id": row.pk}
    assert ApiTransactionRevision.unscoped.get(pk=row.pk).status != "signed"
