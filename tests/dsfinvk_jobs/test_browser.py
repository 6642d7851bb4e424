"""In real Chromium: the operator requests a DSFinV-K export, watches it progress, sees it validated, downloads the ZIP.

The browser fixtures (Debian Chromium, headless) come from ``tests/conftest.py``. The job is not sent
to the (eager) worker: the test runs it itself, so the page shows the PENDING/WORKING row first."""

import io
import os
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from exports.models import DsfinvkExport, DsfinvkExportState
from exports.services import export_jobs
from exports.tasks import archives

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]


def test_request_progress_validation_and_download(page, live_server, actors, closed, settings, monkeypatch):
    settings.LANGUAGE_CODE = "en"
    sent = []
    monkeypatch.setattr(archives.export_dsfinvk_task, "apply_async", lambda **kwargs: sent.append(kwargs))
    session = actors.session_client("owner").cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/o/{actors.owner.org_id}/dsfinvk/exports/")
    expect(page.get_by_test_id("nachschau-export")).to_be_visible()  # (texts follow the browser's language)

    form = page.get_by_test_id("dsfinvk-export-form")
    form.locator('input[name="date_from"]').fill("2026-11-01")
    form.locator('input[name="date_to"]').fill("2026-11-01")
    form.get_by_test_id("export-submit").click()
    expect(page.locator(".alert-success")).to_be_visible()

    export = DsfinvkExport.unscoped.get()
    assert sent and sent[0]["kwargs"]["export_id"] == export.pk
    row = page.locator(f"#export-{export.public_id}")
    expect(row).to_have_attribute("data-state", "PENDING")
    expect(row.get_by_test_id("export-progress")).to_have_attribute("aria-valuenow", "0")
    DsfinvkExport.unscoped.filter(pk=export.pk).update(state=DsfinvkExportState.WORKING, progress=45)
    expect(row).to_have_attribute("data-state", "WORKING", timeout=6000)
    expect(row.get_by_test_id("export-progress")).to_have_attribute("aria-valuenow", "45")

    export_jobs.run_export(export.pk)  # the worker finishes it
    expect(row).to_have_attribute("data-state", "COMPLETED", timeout=6000)
    export.refresh_from_db()
    expect(row.get_by_test_id("export-validation")).to_have_attribute("data-passed", "true")
    expect(row.get_by_test_id("export-sha256")).to_have_text(export.sha256)
    expect(row.get_by_test_id("export-summary")).to_contain_text("3")
    expect(row.get_by_test_id("export-retain-until")).to_have_text("31.12.2036")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dsfinvk-exports.png"), full_page=True)

    with page.expect_download() as download:
        row.get_by_test_id("export-download").click()
    content = Path(download.value.path()).read_bytes()
    with export_jobs.open_export_file(export) as stored:
        assert content == stored.read()
    assert download.value.suggested_filename.startswith("dsfinvk_20261101-20261101_")
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert "index.xml" in archive.namelist() and "gdpdu-01-09-2004.dtd" in archive.namelist()
    assert b"<DataSet>" in archive.read("index.xml")
