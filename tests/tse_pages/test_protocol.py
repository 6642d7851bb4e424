"""The fiscal protocol: filters, htmx partial, pagination, CSV export (header, rows, BOM, Berlin times)."""

import base64
import csv
import io

import pytest

from tests.tse import verifier
from tse.models import LogMessage
from tse.services.signing_units import create_signing_unit
from tse.views import protocol as protocol_views

pytestmark = pytest.mark.django_db


def _listed(response) -> list[int]:
    """Transaction numbers of the rows, in order."""
    body = response.content.decode()
    table = body.split('data-testid="protocol-table"')[1].split("</table>")[0]
    rows = table.split("<tr data-testid=\"tx-")[1:]
    return [int(row.split("<td>")[1].split("</td>")[0]) for row in rows]


@pytest.fixture
def url(owner):
    return f"/o/{owner.org_id}/tse/protocol/"


def test_lists_every_transaction_newest_first_and_marks_unsigned(actors, signed, url, in_english):
    response = actors.session_client("owner").get(url)
    assert _listed(response) == [3, 2, 1]  # 3 is the newest; 1 and 2 started at the same second
    body = response.content.decode()
    row_2 = body.split(f'data-testid="tx-{signed[2].public_id}"')[1].split("</tr>")[0]
    assert 'data-testid="unsigned"' in row_2 and "open / unsigned" in row_2
    row_1 = body.split(f'data-testid="tx-{signed[1].public_id}"')[1].split("</tr>")[0]
    assert 'data-testid="unsigned"' not in row_1
    assert f"/tse/transactions/{signed[1].public_id}/receipt/" in row_1
    assert "3 transactions" in body


@pytest.mark.parametrize(("query", "expected"), [
    ({"date_from": "2026-07-04", "date_to": "2026-07-04"}, [2, 1]),  # 00:30 in Berlin, 22:30 UTC the day before
    ({"date_to": "2026-07-03"}, []),
    ({"date_from": "2026-07-05"}, [3]),
    ({"client": "KASSE-02"}, [2]),
    ({"number": "3"}, [3]),
    ({"process_type": "Bestellung-V1"}, [3]),
    ({"unsigned_only": "on"}, [2]),
    ({"client": "KASSE-01", "unsigned_only": "on"}, []),
])
def test_filters(actors, signed, url, query, expected):
    assert _listed(actors.session_client("owner").get(url, query)) == expected


def test_filter_by_signing_unit(actors, signed, url):
    other = create_signing_unit(actor=None, organization=actors.owner.organization, description="Leer")
    client = actors.session_client("owner")
    assert _listed(client.get(url, {"signing_unit": str(other.public_id)})) == []
    assert _listed(client.get(url, {"signing_unit": str(signed[1].signing_unit.public_id)})) == [3, 2, 1]


def test_htmx_request_gets_the_partial(actors, signed, url):
    response = actors.session_client("partner").get(url, {"client": "KASSE-02"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'data-testid="protocol-table"' in body
    assert _listed(response) == [2]
    assert "client=KASSE-02&amp;format=csv" in body  # the CSV link keeps the filter


def test_pagination(actors, signed, url, monkeypatch):
    monkeypatch.setattr(protocol_views, "PAGE_SIZE", 2)
    client = actors.session_client("owner")
    first = client.get(url, {"client": "KASSE-01"})
    assert _listed(first) == [3, 1]
    assert _listed(client.get(url)) == [3, 2]
    second = client.get(url, {"page": "2"})
    assert _listed(second) == [1] and "2 / 2" in second.content.decode()


def _csv(response) -> tuple[bytes, list[list[str]]]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="tse-protocol_')
    data = b"".join(response.streaming_content)
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_csv_export(actors, signed, url):
    data, rows = _csv(actors.session_client("owner").get(url, {"format": "csv"}))
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert rows[0] == ["tss_serial_number", "client_id", "transaction_number", "process_type", "time_start",
                       "time_end", "signature_counter", "signature", "state"]
    serial = signed[1].signing_unit.serial_number
    finish_1 = LogMessage.unscoped.get(transaction_number=1, operation_type="FinishTransaction")
    finish_3 = LogMessage.unscoped.get(transaction_number=3, operation_type="FinishTransaction")
    signature_1 = base64.b64encode(verifier.parse_log(bytes(finish_1.der)).signature).decode()
    signature_3 = base64.b64encode(verifier.parse_log(bytes(finish_3.der)).signature).decode()
    assert rows[1:] == [
        [serial, "KASSE-01", "3", "Bestellung-V1", "2026-11-02T11:00:00+01:00", "2026-11-02T11:00:00+01:00",
         str(finish_3.signature_counter), signature_3, "FINISHED"],
        [serial, "KASSE-02", "2", "", "2026-07-04T00:30:00+02:00", "", "", "", "ACTIVE"],
        [serial, "KASSE-01", "1", "Kassenbeleg-V1", "2026-07-04T00:30:00+02:00", "2026-07-04T00:30:00+02:00",
         str(finish_1.signature_counter), signature_1, "FINISHED"],
    ]


def test_csv_export_applies_the_filter(actors, signed, url, stranger_unit):
    _data, rows = _csv(actors.session_client("partner").get(url, {"format": "csv", "unsigned_only": "on"}))
    assert [row[2] for row in rows[1:]] == ["2"]
    _data, rows = _csv(actors.session_client("owner").get(url, {"format": "csv"}))
    assert stranger_unit.serial_number not in {row[0] for row in rows}


def test_system_log_view(actors, signed, url, stranger_unit):
    unit = signed[1].signing_unit
    response = actors.session_client("partner").get(url, {"show": "system"})
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="system-log-table"' in body
    assert 'data-testid="protocol-table"' not in body
    expected = list(LogMessage.unscoped.filter(signing_unit=unit, kind="system")
                    .order_by("-log_time", "-signature_counter").values_list("signature_counter", flat=True))
    assert expected and [int(part.split('"')[0]) for part in body.split('data-testid="log-')[1:]] == expected
    assert "registerClient" in body and "initialize" in body and "FinishTransaction" not in body
    assert stranger_unit.serial_number[:12] not in body
    # a date filter applies (the set-up was on 1 July)
    later = actors.session_client("owner").get(url, {"show": "system", "date_from": "2026-07-02"})
    assert 'data-testid="log-' not in later.content.decode()


def test_an_invalid_filter_shows_nothing_and_refuses_the_csv(actors, signed, url):
    client = actors.session_client("owner")
    response = client.get(url, {"date_from": "gestern", "number": "x"})
    assert response.status_code == 200 and _listed(response) == []
    assert client.get(url, {"date_from": "gestern", "format": "csv"}).status_code == 400
