"""TAR export download: a valid tar, SHA-256 header matches the bytes, file name, time-range filter."""

import datetime as dt
import hashlib
import io
import re
import tarfile

import pytest

from tests.tse import verifier
from tests.tse_pages.conftest import DAY_2
from tse.models import LogMessage

pytestmark = pytest.mark.django_db


def _download(client, url, data=None) -> tuple[object, bytes]:
    response = client.post(url, data or {})
    assert response.status_code == 200, response.status_code
    return response, b"".join(response.streaming_content)


def test_export_download(actors, signed):
    unit = signed[1].signing_unit
    url = f"/o/{actors.owner.org_id}/tse/{unit.public_id}/export/"
    response, data = _download(actors.session_client("owner"), url)
    assert response["Content-Type"] == "application/x-tar"
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert int(response["Content-Length"]) == len(data)
    disposition = response["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="{unit.serial_number}_\d{{8}}T\d{{6}}Z\.tar"', disposition)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
        assert all(member.isfile() for member in archive.getmembers())
    rows = list(LogMessage.unscoped.filter(signing_unit=unit).order_by("signature_counter"))
    assert names == ["info.csv", f"{unit.serial_number}_X509.pem", *[row.file_name for row in rows]]
    check = verifier.check_tar(data)
    verifier.check_sequence(list(check.logs.values()))


def test_export_with_time_range(actors, signed):
    unit = signed[1].signing_unit
    url = f"/o/{actors.owner.org_id}/tse/{unit.public_id}/export/"
    # DAY_2 is 11:00 in Berlin; the form takes local (Europe/Berlin) times
    local = DAY_2.astimezone(dt.timezone(dt.timedelta(hours=1))).replace(tzinfo=None)
    response, data = _download(actors.session_client("partner"), url, {
        "time_from": (local - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        "time_to": (local + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
    })
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        logs = [name for name in archive.getnames() if name.endswith(".log")]
    expected = LogMessage.unscoped.filter(signing_unit=unit, log_time=DAY_2).order_by("signature_counter")
    assert logs == [row.file_name for row in expected] and len(logs) == 2  # start and finish of transaction 3


def test_export_rejects_an_inverted_range(actors, signed, in_english):
    unit = signed[1].signing_unit
    response = actors.session_client("owner").post(f"/o/{actors.owner.org_id}/tse/{unit.public_id}/export/", {
        "time_from": "2026-11-03T00:00", "time_to": "2026-11-01T00:00"})
    assert response.status_code == 400
    assert "must not be after its end" in response.content.decode()
