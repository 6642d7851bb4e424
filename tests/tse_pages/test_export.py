"""TAR export from the TSE detail page: start a job, the list shows it, download a valid archive with its SHA-256."""

import hashlib
import io
import re
import tarfile

import pytest

from tests.tse import verifier
from tests.tse_pages.conftest import DAY_2
from tse.models import ExportState, LogMessage, TarExport

pytestmark = pytest.mark.django_db


def _start(client, detail, data, callbacks_fixture) -> TarExport:
    with callbacks_fixture(execute=True):  # the (eager) job runs after the commit
        response = client.post(f"{detail}export/", data)
    assert response.status_code == 302 and response["Location"] == detail
    return TarExport.unscoped.latest("created_at")


def _download_link(client, detail, export) -> str:
    body = client.get(detail).content.decode()
    links = re.findall(r'href="([^"]+)" download', body)
    assert links == [f"{detail}exports/{export.public_id}/file/"]
    return links[0]


def test_export_job_and_download(actors, signed, django_capture_on_commit_callbacks):
    unit = signed[1].signing_unit
    client = actors.session_client("owner")
    detail = f"/o/{actors.owner.org_id}/tse/{unit.public_id}/"
    export = _start(client, detail, {}, django_capture_on_commit_callbacks)
    assert export.state == ExportState.COMPLETED and export.requested_by == actors.owner.user
    response = client.get(_download_link(client, detail, export))
    data = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/x-tar"
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest() == export.sha256
    assert int(response["Content-Length"]) == len(data)
    assert re.fullmatch(rf'attachment; filename="{unit.serial_number}_\d{{8}}T\d{{6}}Z\.tar"',
                        response["Content-Disposition"])
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
        assert all(member.isfile() for member in archive.getmembers())
    rows = list(LogMessage.unscoped.filter(signing_unit=unit).order_by("signature_counter"))
    assert names == ["info.csv", f"{unit.serial_number}_X509.pem", *[row.file_name for row in rows]]
    check = verifier.check_tar(data)
    verifier.check_sequence(list(check.logs.values()))


def test_export_of_one_berlin_day(actors, signed, django_capture_on_commit_callbacks):
    unit = signed[1].signing_unit
    client = actors.session_client("partner")
    detail = f"/o/{actors.owner.org_id}/tse/{unit.public_id}/"
    export = _start(client, detail, {"date_from": "2026-11-02", "date_to": "2026-11-02"},
                    django_capture_on_commit_callbacks)
    response = client.get(_download_link(client, detail, export))
    data = b"".join(response.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        logs = [name for name in archive.getnames() if name.endswith(".log")]
    expected = LogMessage.unscoped.filter(signing_unit=unit, log_time=DAY_2).order_by("signature_counter")
    assert logs == [row.file_name for row in expected] and len(logs) == 2  # start and finish of transaction 3


def test_export_rejects_an_inverted_range(actors, signed, in_english):
    unit = signed[1].signing_unit
    response = actors.session_client("owner").post(f"/o/{actors.owner.org_id}/tse/{unit.public_id}/export/", {
        "date_from": "2026-11-03", "date_to": "2026-11-01"})
    assert response.status_code == 400
    assert "must not be after its end" in response.content.decode()
    assert not TarExport.unscoped.exists()
