"""TAR exports in the signing API: PUT (idempotent, 409 on other filters), GET one/list, the file, three actors."""

import hashlib
import io
import re
import uuid

import pytest

from tests.helpers import api_client, assert_actors, assert_envelope
from tests.tse_api.conftest import RECEIPT, create_tss, setup_tss
from tse.models import ExportState, LogMessage, SigningUnit, TarExport
from tse.services.tar_export import write_tar_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def tss(actors):
    tss = setup_tss(api_client(actors.owner.key))
    tx_id = uuid.uuid4()
    assert tss.put_tx(tx_id, 1, "ACTIVE").status_code == 200
    assert tss.put_tx(tx_id, 2, "FINISHED", schema=RECEIPT).status_code == 200
    return tss


def _put(client, url, **query):
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    return client.put(f"{url}?{suffix}" if suffix else url, {}, content_type="application/json")


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_trigger_poll_and_download(tss, django_capture_on_commit_callbacks):
    export_id = str(uuid.uuid4())
    url = f"{tss.url}/export/{export_id}"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _put(tss.client, url)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["_id"] == export_id and data["_type"] == "EXPORT" and data["_env"] == "TEST"
    assert data["tss_id"] == tss.tss_id and data["state"] == "PENDING" and data["estimated_progress"] == 0
    assert data["time_start"] is None and data["time_end"] is None and isinstance(data["time_request"], int)
    assert data["sha256"] is None and data["size"] is None and data["error"] is None

    assert_envelope(tss.client.get(f"{url}/file"), 409, "E_EXPORT_NOT_READY")
    for callback in callbacks:
        callback()  # the (eager) job
    data = tss.client.get(url).json()
    assert data["state"] == "COMPLETED" and data["estimated_progress"] == 100
    assert data["time_start"] <= data["time_end"]
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    assert data["log_count"] == LogMessage.unscoped.filter(signing_unit=unit).count() == 5

    response = tss.client.get(f"{url}/file")
    body = _body(response)
    assert response.status_code == 200 and response["Content-Type"] == "application/x-tar"
    assert response["X-Content-SHA256"] == data["sha256"] == hashlib.sha256(body).hexdigest()
    assert int(response["Content-Length"]) == len(body) == data["size"]
    assert re.fullmatch(rf'attachment; filename="{unit.serial_number}_\d{{8}}T\d{{6}}Z\.tar"',
                        response["Content-Disposition"])
    export = TarExport.unscoped.get(public_id=export_id)
    expected = io.BytesIO()
    write_tar_export(unit, expected, export_time=export.started_at)
    assert body == expected.getvalue()


def test_replay_and_conflict(tss, django_capture_on_commit_callbacks):
    url = f"{tss.url}/export/{uuid.uuid4()}"
    with django_capture_on_commit_callbacks(execute=True):
        first = _put(tss.client, url, start_date=1_700_000_000, end_transaction_number=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        replay = _put(tss.client, url, start_date=1_700_000_000, end_transaction_number=1)
    assert not callbacks  # no second job
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["_id"] == first.json()["_id"] and replay.json()["state"] == "COMPLETED"
    assert_envelope(_put(tss.client, url, start_date=1_700_000_001, end_transaction_number=1),
                    409, "E_EXPORT_CONFLICT")
    assert_envelope(_put(tss.client, url), 409, "E_EXPORT_CONFLICT")
    assert TarExport.unscoped.count() == 1


def test_filters_map_to_the_export(tss, django_capture_on_commit_callbacks):
    url = f"{tss.url}/export/{uuid.uuid4()}"
    with django_capture_on_commit_callbacks(execute=True):
        response = _put(tss.client, url, start_date=1_700_000_000, end_date=4_000_000_000,
                        start_transaction_number=1, end_transaction_number=1, client_id=tss.client_id)
    assert response.status_code == 201, response.content
    export = TarExport.unscoped.get(public_id=response.json()["_id"])
    assert export.client_id == "KASSE-01"  # the serial number behind the client's id
    assert int(export.start_time.timestamp()) == 1_700_000_000 and int(export.end_time.timestamp()) == 4_000_000_000
    assert (export.start_transaction_number, export.end_transaction_number) == (1, 1)
    assert export.state == ExportState.COMPLETED and export.log_count == 2


def test_bad_filters(tss, in_english):
    url = f"{tss.url}/export/{uuid.uuid4()}"
    assert_envelope(_put(tss.client, url, start_date=20, end_date=10), 400, "E_VALIDATION")
    assert_envelope(_put(tss.client, url, start_transaction_number=5, end_transaction_number=4), 400, "E_VALIDATION")
    assert_envelope(_put(tss.client, url, start_date="yesterday"), 400, "E_VALIDATION")
    assert_envelope(_put(tss.client, url, start_transaction_number=-1), 400, "E_VALIDATION")
    body = assert_envelope(_put(tss.client, url, client_id=uuid.uuid4()), 400, "E_CLIENT_NOT_FOUND")
    assert "client does not exist" in body["message"]
    assert_envelope(_put(tss.client, f"{tss.url}/export/not-a-uuid"), 404, "E_NOT_FOUND")
    assert not TarExport.unscoped.exists()


def test_an_unfinished_tss_cannot_be_exported(actors):
    client = api_client(actors.owner.key)
    tss_id, _data, _body = create_tss(client)
    assert_envelope(_put(client, f"/api/v1/tss/{tss_id}/export/{uuid.uuid4()}"), 409, "E_TSS_NOT_INITIALIZED")


def test_a_failed_export_reports_its_error(tss):
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    export = TarExport.unscoped.create(organization=unit.organization, signing_unit=unit, state=ExportState.FAILED,
                                       error_message="E_TSE_UNREACHABLE: The TSE does not answer.")
    url = f"{tss.url}/export/{export.public_id}"
    data = tss.client.get(url).json()
    assert data["state"] == "ERROR"
    assert data["error"] == {"code": "E_TSE_UNREACHABLE", "message": "The TSE does not answer."}
    assert_envelope(tss.client.get(f"{url}/file"), 409, "E_EXPORT_NOT_READY")


def test_three_actors(actors, tss, django_capture_on_commit_callbacks):
    url = f"{tss.url}/export/{uuid.uuid4()}"
    foreign = {"partner": 404, "stranger": 404}
    with django_capture_on_commit_callbacks(execute=True):
        assert_actors(actors.api_client, "PUT", url, {**foreign, "owner": 201})
    assert_actors(actors.api_client, "PUT", url, {**foreign, "owner": 200})
    assert_actors(actors.api_client, "GET", url, {**foreign, "owner": 200})
    responses = assert_actors(actors.api_client, "GET", f"{url}/file", {**foreign, "owner": 200})
    assert hashlib.sha256(_body(responses["owner"])).hexdigest() == responses["owner"]["X-Content-SHA256"]
    responses = assert_actors(actors.api_client, "GET", f"{tss.url}/export", {**foreign, "owner": 200})
    body = responses["owner"].json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 1
    assert body["results"][0]["_id"] == url.rsplit("/", 1)[1]
    assert TarExport.unscoped.count() == 1
    # a session (not an API key) is refused like everywhere in the signing API
    assert_envelope(actors.session_client("owner").get(url), 403, "E_API_KEY_REQUIRED")


def test_read_only_keys_read_but_do_not_start(tss, read_only_key, django_capture_on_commit_callbacks):
    reader = api_client(read_only_key[1])
    url = f"{tss.url}/export/{uuid.uuid4()}"
    assert_envelope(_put(reader, url), 403, "E_API_KEY_READ_ONLY")
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(tss.client, url).status_code == 201
    assert reader.get(url).json()["state"] == "COMPLETED"
    response = reader.get(f"{url}/file", headers={"Accept": "application/x-tar"})
    assert response.status_code == 200 and hashlib.sha256(_body(response)).hexdigest() == response["X-Content-SHA256"]


def test_the_list_is_paginated_newest_first(tss, django_capture_on_commit_callbacks):
    ids = [str(uuid.uuid4()) for _index in range(3)]
    for export_id in ids:
        assert _put(tss.client, f"{tss.url}/export/{export_id}").status_code == 201
    body = tss.client.get(f"{tss.url}/export?page_size=2").json()
    assert body["count"] == 3 and [row["_id"] for row in body["results"]] == ids[::-1][:2] and body["next"]
    assert [row["_id"] for row in tss.client.get(body["next"]).json()["results"]] == ids[:1]
