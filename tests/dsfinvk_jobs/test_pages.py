"""The DSFinV-K export page: three actors, the request form, Kassen-Nachschau, htmx rows, validation, download."""

import datetime as dt
import io
import zipfile

import pytest
import time_machine

from exports.models import DsfinvkExport, DsfinvkExportKind, DsfinvkExportState
from exports.services import export_jobs
from tests.dsfinvk_documents import make_document, simple_receipts
from tests.dsfinvk_jobs.conftest import NOV_1

pytestmark = pytest.mark.django_db


def _urls(owner, export=None) -> dict:
    base = f"/o/{owner.org_id}/dsfinvk/exports/"
    urls = {"page": base, "nachschau": f"{base}nachschau/"}
    if export is not None:
        urls["row"] = f"{base}{export.public_id}/"
        urls["file"] = f"{base}{export.public_id}/file/"
    return urls


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _completed(owner, callbacks, **filters) -> DsfinvkExport:
    with callbacks(execute=True):
        export = export_jobs.request_export(actor=None, organization=owner.organization, **filters)
    return DsfinvkExport.unscoped.get(pk=export.pk)


def test_three_actors(actors, closed, django_capture_on_commit_callbacks, in_english):
    export = _completed(actors.owner, django_capture_on_commit_callbacks)
    urls = _urls(actors.owner, export)
    for name, status in (("stranger", 404), ("partner", 200), ("owner", 200)):
        client = actors.session_client(name)
        for page in ("page", "row", "file"):
            response = client.get(urls[page])
            assert response.status_code == status, f"{name} {page}: {response.status_code}"
            _body(response)
    owner_page = actors.session_client("owner").get(urls["page"]).content.decode()
    partner_page = actors.session_client("partner").get(urls["page"]).content.decode()
    for text in ('data-testid="dsfinvk-export-form"', 'data-testid="nachschau-export"'):
        assert text in owner_page and text not in partner_page  # a dealer with `read` may not request
    assert f'id="export-{export.public_id}"' in partner_page and 'data-testid="export-download"' in partner_page

    expected = {"stranger": 404, "partner": 403, "owner": 302}
    for name, status in expected.items():
        client = actors.session_client(name)
        before = DsfinvkExport.unscoped.count()
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(urls["page"], {}).status_code == status, name
            assert client.post(urls["nachschau"], {}).status_code == status, name
        assert DsfinvkExport.unscoped.count() == before + (2 if status == 302 else 0)
    kinds = set(DsfinvkExport.unscoped.filter(requested_by=actors.owner.user).values_list("kind", flat=True))
    assert kinds == {DsfinvkExportKind.ON_DEMAND, DsfinvkExportKind.NACHSCHAU}


def test_foreign_exports_do_not_exist(actors, closed, django_capture_on_commit_callbacks):
    export = _completed(actors.owner, django_capture_on_commit_callbacks)
    client = actors.session_client("stranger")
    foreign = f"/o/{actors.stranger.org_id}/dsfinvk/exports/{export.public_id}/"
    assert client.get(foreign).status_code == 404
    assert client.get(f"{foreign}file/").status_code == 404


def test_the_form_requests_an_export_with_filters(actors, registers, closed, django_capture_on_commit_callbacks,
                                                  in_english):
    client = actors.member_client("owner")  # a member (no 2FA needed) may export
    urls = _urls(actors.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(urls["page"], {"cash_registers": [registers[0].pk], "z_nr_from": "2",
                                              "z_nr_to": "2"}, follow=True)
    assert response.status_code == 200
    assert "The export was requested." in response.content.decode()
    export = DsfinvkExport.unscoped.get()
    assert export.requested_by == actors.owner.member and list(export.cash_registers.all()) == [registers[0]]
    assert (export.z_nr_from, export.z_nr_to, export.state, export.closing_count) == (2, 2, "COMPLETED", 1)


@pytest.mark.parametrize(("data", "message"), [
    ({"date_from": "2026-11-01", "z_nr_from": "1"}, "not both"),
    ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "must not be after"),
    ({"z_nr_from": "1"}, "needs exactly one cash register"),
    ({"date_from": "2026-12-01"}, "No accepted cash point closing"),
])
def test_form_errors(actors, closed, data, message, in_english):
    response = actors.session_client("owner").post(_urls(actors.owner)["page"], data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert DsfinvkExport.unscoped.count() == 0


def test_foreign_cash_registers_are_no_choice(actors, closed, in_english):
    from exports.models import CashRegister

    foreign = CashRegister.unscoped.get(client__client_id="KASSE-01")
    response = actors.session_client("stranger").post(_urls(actors.stranger)["page"],
                                                      {"cash_registers": [foreign.pk]})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert DsfinvkExport.unscoped.count() == 0


@time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False)
def test_nachschau_is_explained_and_started(actors, closed, django_capture_on_commit_callbacks, in_english):
    client = actors.session_client("owner")
    urls = _urls(actors.owner)
    page = client.get(urls["page"]).content.decode()
    assert "Kassen-Nachschau: export now" in page and "01.01.2025 – 01.12.2026" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(urls["nachschau"], follow=True)
    assert "The Kassen-Nachschau export was started" in response.content.decode()
    export = DsfinvkExport.unscoped.get()
    assert export.kind == DsfinvkExportKind.NACHSCHAU and export.state == DsfinvkExportState.COMPLETED
    assert (export.date_from, export.date_to, export.closing_count) == (dt.date(2025, 1, 1), dt.date(2026, 12, 1), 3)


def test_rows_poll_while_unfinished_and_show_the_result(actors, closed, django_capture_on_commit_callbacks,
                                                        in_english):
    client = actors.session_client("owner")
    with django_capture_on_commit_callbacks(execute=False):
        export = export_jobs.request_export(actor=None, organization=actors.owner.organization)
    urls = _urls(actors.owner, export)
    DsfinvkExport.unscoped.filter(pk=export.pk).update(state=DsfinvkExportState.WORKING, progress=40)
    row = client.get(urls["row"]).content.decode()
    assert 'hx-trigger="every 2s"' in row and f'hx-get="{urls["row"]}"' in row
    assert 'aria-valuenow="40"' in row and 'data-state="WORKING"' in row
    assert 'data-testid="export-download"' not in row
    assert client.get(urls["file"]).status_code == 404  # nothing to download yet

    export = export_jobs.run_export(export.pk)
    row = client.get(urls["row"]).content.decode()
    assert "hx-trigger" not in row and 'data-state="COMPLETED"' in row
    assert export.sha256 in row and "31.12.2036" in row and "3 closings" in row and "6 transactions" in row
    assert 'data-passed="true"' in row and "validation passed" in row
    response = client.get(urls["file"])
    content = _body(response)
    assert response["Content-Type"] == "application/zip" and response["X-Content-SHA256"] == export.sha256
    assert "index.xml" in zipfile.ZipFile(io.BytesIO(content)).namelist()


def test_a_failed_validation_is_shown_prominently(actors, registers, closings, django_capture_on_commit_callbacks,
                                                  in_english):
    document = make_document(simple_receipts(2), start=NOV_1)
    document["cash_per_currency"][0]["ZAHLART_BETRAG_WAEH"] = "0.01"  # a broken total, written directly
    closings.add(registers[0], 1, NOV_1, document=document)
    export = _completed(actors.owner, django_capture_on_commit_callbacks)
    assert export.validation_passed is False
    row = actors.session_client("owner").get(_urls(actors.owner, export)["row"]).content.decode()
    assert 'data-passed="false"' in row and "validation FAILED" in row
    assert '<details data-testid="export-findings" open>' in row
    first = export.validation_report["findings"][0]
    assert first["code"] in row


def test_a_failed_export_shows_its_error(actors, closed, monkeypatch, django_capture_on_commit_callbacks):
    from exports.dsfinvk import writer

    def broken(records, fileobj, *, progress=None):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "write_export", broken)
    export = _completed(actors.owner, django_capture_on_commit_callbacks)
    row = actors.session_client("owner").get(_urls(actors.owner, export)["row"]).content.decode()
    assert 'data-state="ERROR"' in row and "E_EXPORT_FAILED" in row and "export-download" not in row
