"""DSFinV-K exports in the API: PUT (idempotent, 409), GET one/list, download, errors, three actors."""

import hashlib
import io
import re
import uuid
import zipfile

import pytest

from exports.models import DsfinvkExport, DsfinvkExportState
from portal.models import LogEntry
from tenants.services.grants import grant_right
from tests.dsfinvk_documents import make_document, simple_receipts
from tests.dsfinvk_jobs.conftest import NOV_1
from tests.helpers import api_client, assert_actors, assert_envelope

pytestmark = pytest.mark.django_db


def _url(export_id=None, suffix="") -> str:
    return "/api/v1/exports" + (f"/{export_id}" if export_id else "") + suffix


def _put(client, export_id, body=None):
    return client.put(_url(export_id), body or {}, content_type="application/json")


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _client_id(register) -> str:
    return str(register.client.public_id)


@pytest.fixture
def completed(owner, registers, closed, django_capture_on_commit_callbacks) -> DsfinvkExport:
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(api_client(owner.key), export_id).status_code == 201
    return DsfinvkExport.unscoped.get(public_id=export_id)


def test_request_poll_and_download(owner, registers, closed, django_capture_on_commit_callbacks):
    client = api_client(owner.key)
    export_id = str(uuid.uuid4())
    body = {"client_ids": [_client_id(registers[0])], "start_date": "2026-11-01", "end_date": "2026-11-01"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _put(client, export_id, body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["_id"] == export_id and data["_type"] == "DSFINVK_EXPORT" and data["state"] == "PENDING"
    assert data["organization_id"] == owner.org_id and data["kind"] == "on_demand" and data["progress"] == 0
    assert data["client_ids"] == [_client_id(registers[0])]
    assert (data["start_date"], data["end_date"], data["z_nr_start"]) == ("2026-11-01", "2026-11-01", None)
    assert data["sha256"] is None and data["validation"] is None and data["error"] is None
    assert_envelope(client.get(_url(export_id, "/download")), 409, "E_EXPORT_NOT_READY")

    for callback in callbacks:
        callback()  # the (eager) job
    data = client.get(_url(export_id)).json()
    assert data["state"] == "COMPLETED" and data["progress"] == 100
    assert (data["closing_count"], data["transaction_count"]) == (2, 4)
    assert data["validation"] == {"passed": True, "finding_count": 0, "findings": []}
    assert data["retain_until"] == "2036-12-31" and data["time_request"] <= data["time_start"] <= data["time_end"]

    response = client.get(_url(export_id, "/download"))
    content = _body(response)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["X-Content-SHA256"] == data["sha256"] == hashlib.sha256(content).hexdigest()
    assert response["X-Validation-Passed"] == "true"
    assert int(response["Content-Length"]) == len(content) == data["size"]
    assert re.fullmatch(rf'attachment; filename="dsfinvk_20261101-20261101_{export_id[:8]}\.zip"',
                        response["Content-Disposition"])
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert "index.xml" in names and "cashpointclosing.csv" in names


def test_replay_and_conflict(owner, registers, closed, django_capture_on_commit_callbacks):
    client = api_client(owner.key)
    export_id = uuid.uuid4()
    body = {"client_id": _client_id(registers[0]), "z_nr_start": 1, "z_nr_end": 2}
    with django_capture_on_commit_callbacks(execute=True):
        first = _put(client, export_id, body)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        replay = _put(client, export_id, {**body, "format": "zip"})
    assert not callbacks  # no second job
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["_id"] == str(export_id) and replay.json()["state"] == "COMPLETED"
    assert replay.json()["closing_count"] == 2
    assert_envelope(_put(client, export_id, {**body, "z_nr_end": 1}), 409, "E_EXPORT_CONFLICT")
    assert DsfinvkExport.unscoped.count() == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"start_date": "2026-11-01", "z_nr_start": 1}, 400, "E_VALIDATION"),
    ({"start_date": "2026-11-02", "end_date": "2026-11-01"}, 400, "E_VALIDATION"),
    ({"z_nr_start": 1}, 400, "E_VALIDATION"),  # a Z_NR range without a client
    ({"start_date": "01.11.2026"}, 400, "E_VALIDATION"),
    ({"z_nr_start": -1}, 400, "E_VALIDATION"),
    ({"format": "tar"}, 400, "E_VALIDATION"),
    ({"start": "2026-11-01"}, 400, "E_VALIDATION"),  # unknown field
    ({"client_id": str(uuid.uuid4())}, 404, "E_CASH_REGISTER_NOT_FOUND"),
    ({"start_date": "2026-12-01"}, 404, "E_CASH_POINT_CLOSING_NOT_FOUND"),
])
def test_bad_requests(owner, closed, body, status, code):
    assert_envelope(_put(api_client(owner.key), uuid.uuid4(), body), status, code)
    assert DsfinvkExport.unscoped.count() == 0


def test_keys_and_sessions(actors, read_only_key, completed, django_capture_on_commit_callbacks):
    read_only = api_client(read_only_key[1])
    assert read_only.get(_url(completed.public_id)).status_code == 200
    download = read_only.get(_url(completed.public_id, "/download"))
    assert download.status_code == 200 and _body(download)
    assert_envelope(_put(read_only, uuid.uuid4()), 403, "E_API_KEY_READ_ONLY")
    # a browser session: the member's only organization is meant
    session = actors.member_client("owner")
    assert [row["_id"] for row in session.get(_url()).json()["results"]] == [str(completed.public_id)]
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(session, export_id).status_code == 201
    export = DsfinvkExport.unscoped.get(public_id=export_id)
    assert export.organization == actors.owner.organization and export.requested_by == actors.owner.member


def test_organization_id_names_the_operator(actors, registers, completed, django_capture_on_commit_callbacks):
    partner = api_client(actors.partner.key)
    named = f"?organization_id={actors.owner.org_id}"
    rows = partner.get(_url() + named).json()["results"]
    assert [row["_id"] for row in rows] == [str(completed.public_id)]
    assert partner.get(f"{_url()}?organization_id={actors.partner.org_id}").json()["results"] == []
    assert_envelope(partner.get(f"{_url()}?organization_id=nope"), 400, "E_VALIDATION")
    assert_envelope(api_client(actors.stranger.key).get(_url() + named), 404, "E_NOT_FOUND")
    assert_envelope(partner.put(_url(uuid.uuid4()) + named, {}, content_type="application/json"), 403,
                    "E_PERMISSION_DENIED")  # `read` only
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="configure")
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        response = partner.put(_url(export_id) + named, {}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert DsfinvkExport.unscoped.get(public_id=export_id).organization == actors.owner.organization
    body = {"client_id": _client_id(registers[0])}
    assert_envelope(partner.put(f"{_url(uuid.uuid4())}?organization_id={actors.partner.org_id}", body,
                                content_type="application/json"), 400, "E_VALIDATION")


def test_three_actors_on_every_endpoint(actors, registers, completed, django_capture_on_commit_callbacks):
    url = _url(completed.public_id)
    lists = assert_actors(actors.api_client, "GET", _url(), {"owner": 200, "partner": 200, "stranger": 200})
    ids = {name: [row["_id"] for row in response.json()["results"]] for name, response in lists.items()}
    assert ids == {"owner": [str(completed.public_id)], "partner": [str(completed.public_id)], "stranger": []}
    assert_actors(actors.api_client, "GET", url, {"owner": 200, "partner": 200, "stranger": 404})
    downloads = assert_actors(actors.api_client, "GET", f"{url}/download",
                              {"owner": 200, "partner": 200, "stranger": 404})
    with completed.file.open("rb") as stored:
        assert _body(downloads["partner"]) == stored.read()  # dealers with `read` may download
    _body(downloads["owner"])
    body = {"client_id": _client_id(registers[0])}
    # the stored id: the stranger does not see it, the partner may not request for the operator
    assert_actors(actors.api_client, "PUT", url, {"stranger": 404, "partner": 403}, data=body)
    # … and another operator (the partner's own organization) cannot take it
    assert_envelope(_put(actors.api_client("partner"), completed.public_id), 409, "E_EXPORT_CONFLICT")
    new = _url(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        assert_actors(actors.api_client, "PUT", new, {
            "stranger": (404, "E_CASH_REGISTER_NOT_FOUND"), "partner": (403, "E_PERMISSION_DENIED"), "owner": 201,
        }, data=body)
    assert DsfinvkExport.unscoped.count() == 2


def test_a_partner_with_configure_may_request(actors, registers, closed, django_capture_on_commit_callbacks):
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="configure")
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        response = _put(api_client(actors.partner.key), export_id, {"client_ids": [_client_id(r) for r in registers]})
    assert response.status_code == 201, response.content
    export = DsfinvkExport.unscoped.get(public_id=export_id)
    assert export.organization == actors.owner.organization and export.state == DsfinvkExportState.COMPLETED
    entry = LogEntry.unscoped.get(action="exports.dsfinvk_export.requested")
    assert entry.organization == actors.owner.organization
    assert entry.acting_organization == actors.partner.organization
    # without client ids the key's own organization is meant: the dealer has nothing to export
    assert_envelope(_put(api_client(actors.partner.key), uuid.uuid4()), 404, "E_CASH_POINT_CLOSING_NOT_FOUND")


def test_cash_registers_of_two_operators_cannot_be_mixed(actors, registers, closed):
    grant_right(actor=None, operator=actors.owner.organization, dealer=actors.partner.organization,
                right="configure")
    from tests.dsfinvk_jobs.conftest import make_register
    from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

    unit = create_signing_unit(actor=None, organization=actors.partner.organization)
    get_backend(initialize_signing_unit(actor=None, signing_unit=unit)).register_client("EIGEN-01")
    own = make_register(actors.partner.organization, unit.clients.get(), 1)
    body = {"client_ids": [_client_id(registers[0]), _client_id(own)]}
    assert_envelope(_put(api_client(actors.partner.key), uuid.uuid4(), body), 400, "E_VALIDATION")


def test_a_failed_validation_is_prominent(owner, registers, closings, django_capture_on_commit_callbacks):
    document = make_document(simple_receipts(2), start=NOV_1)
    document["payment"][0]["Z_ZAHLART_BETRAG"] = "123.45"  # a broken total, written directly
    closings.add(registers[0], 1, NOV_1, document=document)
    client = api_client(owner.key)
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(client, export_id).status_code == 201
    data = client.get(_url(export_id)).json()
    assert data["state"] == "COMPLETED" and data["validation"]["passed"] is False
    assert data["validation"]["finding_count"] >= 1
    assert {"code", "severity", "file", "line", "message"} <= set(data["validation"]["findings"][0])
    download = client.get(_url(export_id, "/download"))
    assert download["X-Validation-Passed"] == "false" and _body(download)


def test_a_failed_export_shows_its_error(owner, closed, monkeypatch, django_capture_on_commit_callbacks):
    from exports.dsfinvk import writer

    def broken(records, fileobj, *, progress=None):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "write_export", broken)
    client = api_client(owner.key)
    export_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(client, export_id).status_code == 201
    data = client.get(_url(export_id)).json()
    assert data["state"] == "ERROR" and data["error"]["code"] == "E_EXPORT_FAILED" and data["sha256"] is None
    assert_envelope(client.get(_url(export_id, "/download")), 409, "E_EXPORT_NOT_READY")
