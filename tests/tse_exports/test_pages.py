"""Export jobs on the TSE detail page: three actors, a viewer may export, the list, htmx polling, download."""

import datetime as dt
import hashlib
import re

import pytest

from portal.models import LogEntry
from tests.factories import add_member, make_user
from tests.helpers import session_client
from tests.tse_exports.conftest import DAY_1
from tse.models import ExportState, LogMessage, TarExport
from tse.services import tar_jobs

pytestmark = pytest.mark.django_db


def _urls(owner, unit, export=None) -> dict:
    detail = f"/o/{owner.org_id}/tse/{unit.public_id}/"
    urls = {"detail": detail, "start": f"{detail}export/"}
    if export is not None:
        urls["row"] = f"{detail}exports/{export.public_id}/"
        urls["file"] = f"{detail}exports/{export.public_id}/file/"
    return urls


def _completed(unit) -> TarExport:
    export = TarExport.unscoped.create(organization=unit.organization, signing_unit=unit)
    return tar_jobs.run_export(export.pk)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_three_actors(actors, signed, django_capture_on_commit_callbacks):
    export = _completed(signed)
    urls = _urls(actors.owner, signed, export)
    for name, ok in (("stranger", False), ("partner", True), ("owner", True)):
        client = actors.session_client(name)
        for page in ("detail", "row", "file"):
            response = client.get(urls[page])
            assert response.status_code == (200 if ok else 404), f"{name} {page}: {response.status_code}"
            _body(response)
        before = TarExport.unscoped.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(urls["start"], {})
        assert response.status_code == (302 if ok else 404), f"{name} start: {response.status_code}"
        assert TarExport.unscoped.count() == before + (1 if ok else 0)
    partner_export = TarExport.unscoped.filter(requested_by=actors.partner.user).get()
    assert partner_export.state == ExportState.COMPLETED  # the (eager) job ran after the commit
    entry = LogEntry.unscoped.get(action="tse.export.requested", object_id=str(partner_export.public_id))
    assert entry.organization == actors.owner.organization
    assert entry.acting_organization == actors.partner.organization


def test_foreign_exports_do_not_exist(actors, signed, stranger_unit):
    foreign = _completed(stranger_unit)
    own = _completed(signed)
    client = actors.session_client("owner")
    base = f"/o/{actors.owner.org_id}/tse"
    for url in (f"{base}/{signed.public_id}/exports/{foreign.public_id}/",
                f"{base}/{signed.public_id}/exports/{foreign.public_id}/file/",
                f"{base}/{stranger_unit.public_id}/exports/{foreign.public_id}/file/",
                f"/o/{actors.stranger.org_id}/tse/{stranger_unit.public_id}/exports/{foreign.public_id}/file/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{base}/{stranger_unit.public_id}/export/", {}).status_code == 404
    # an export shown under another unit of the same operator does not exist either
    from tse.services.signing_units import create_signing_unit

    other = create_signing_unit(actor=None, organization=actors.owner.organization)
    assert client.get(f"{base}/{other.public_id}/exports/{own.public_id}/file/").status_code == 404
    assert TarExport.unscoped.filter(signing_unit=stranger_unit).count() == 1


def test_a_viewer_may_export(actors, signed, django_capture_on_commit_callbacks):
    viewer = make_user()
    add_member(actors.owner.organization, viewer, "viewer")
    client = session_client(viewer)
    urls = _urls(actors.owner, signed)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(urls["start"], {"date_from": "2026-08-01", "date_to": "2026-08-01"})
    assert response.status_code == 302 and response["Location"] == urls["detail"]
    export = TarExport.unscoped.get()
    assert export.requested_by == viewer and export.state == ExportState.COMPLETED
    # Berlin days: 1 August 00:00 CEST … 23:59:59.999999 CEST
    assert export.start_time == dt.datetime(2026, 7, 31, 22, 0, tzinfo=dt.UTC)
    assert export.end_time == dt.datetime(2026, 8, 1, 21, 59, 59, 999999, tzinfo=dt.UTC)
    assert export.log_count == LogMessage.unscoped.filter(signing_unit=signed, log_time=DAY_1).count() == 3
    response = client.get(f"{urls['detail']}exports/{export.public_id}/file/")
    assert response.status_code == 200 and hashlib.sha256(_body(response)).hexdigest() == export.sha256


def test_the_form_filters_and_rejects_bad_input(actors, signed, in_english, django_capture_on_commit_callbacks):
    client = actors.session_client("owner")
    url = _urls(actors.owner, signed)["start"]
    for data, message in (({"date_from": "2026-08-03", "date_to": "2026-08-01"}, "must not be after its end"),
                          ({"start_transaction_number": "3", "end_transaction_number": "1"}, "must not be greater"),
                          ({"client_id": "KASSE-99"}, "Select a valid choice"),
                          ({"start_transaction_number": "0"}, "greater than or equal to 1")):
        response = client.post(url, data)
        assert response.status_code == 400 and message in response.content.decode(), data
    assert not TarExport.unscoped.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"client_id": "KASSE-01", "start_transaction_number": "1",
                                     "end_transaction_number": "1"})
    assert response.status_code == 302
    export = TarExport.unscoped.get()
    assert (export.client_id, export.start_transaction_number, export.end_transaction_number) == ("KASSE-01", 1, 1)
    assert export.log_count == 2  # start and finish of transaction 1


def test_an_uninitialized_unit_shows_the_reason(actors, new_unit, in_english):
    response = actors.session_client("owner").post(_urls(actors.owner, new_unit)["start"], {})
    assert response.status_code == 400 and "not initialized yet" in response.content.decode()
    assert not TarExport.unscoped.exists()


def test_the_list_polls_unfinished_rows_only(actors, signed, in_english):
    done = _completed(signed)
    running = TarExport.unscoped.create(organization=signed.organization, signing_unit=signed,
                                        state=ExportState.RUNNING, progress=35, requested_by=actors.owner.user)
    failed = TarExport.unscoped.create(organization=signed.organization, signing_unit=signed,
                                       state=ExportState.FAILED, error_message="E_TSE_UNREACHABLE: gone")
    client = actors.session_client("owner")
    urls = _urls(actors.owner, signed, running)
    body = client.get(urls["detail"]).content.decode()
    assert 'data-testid="tse-exports"' in body and 'data-testid="export-tse"' in body
    rows = re.findall(r'<tr id="export-([0-9a-f-]+)"[^>]*>', body)
    assert rows == [str(failed.public_id), str(running.public_id), str(done.public_id)]  # newest first
    polling = re.findall(r'<tr id="export-([0-9a-f-]+)"[^>]*hx-trigger="every 2s"', body)
    assert polling == [str(running.public_id)]
    assert done.sha256 in body and "E_TSE_UNREACHABLE: gone" in body and "Olga Owner" in body
    assert body.count('data-testid="export-download"') == 1
    assert f'exports/{done.public_id}/file/' in body

    row = client.get(urls["row"]).content.decode()
    assert 'hx-trigger="every 2s"' in row and 'aria-valuenow="35"' in row and "<table" not in row
    tar_jobs.run_export(running.pk)
    row = client.get(urls["row"]).content.decode()
    assert "hx-trigger" not in row and 'data-testid="export-download"' in row
    assert TarExport.unscoped.get(pk=running.pk).sha256 in row


def test_download_headers(actors, signed):
    export = _completed(signed)
    response = actors.session_client("partner").get(_urls(actors.owner, signed, export)["file"])
    data = _body(response)
    assert response.status_code == 200 and response["Content-Type"] == "application/x-tar"
    assert response["X-Content-SHA256"] == export.sha256 == hashlib.sha256(data).hexdigest()
    assert int(response["Content-Length"]) == len(data) == export.size
    assert re.fullmatch(rf'attachment; filename="{signed.serial_number}_\d{{8}}T\d{{6}}Z\.tar"',
                        response["Content-Disposition"])


def test_an_unfinished_export_cannot_be_downloaded(actors, signed):
    pending = TarExport.unscoped.create(organization=signed.organization, signing_unit=signed)
    response = actors.session_client("owner").get(_urls(actors.owner, signed, pending)["file"])
    assert response.status_code == 404
