"""In real Chromium: a running export row polls (htmx, every 2 s) and turns into a download once completed.

The browser fixtures (Debian Chromium, headless) come from ``tests/conftest.py``."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from tse.models import ExportState, TarExport
from tse.services import tar_jobs

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]


def test_a_running_export_turns_into_a_download(page, live_server, actors, signed, settings):
    settings.LANGUAGE_CODE = "en"
    export = TarExport.unscoped.create(organization=signed.organization, signing_unit=signed,
                                       state=ExportState.RUNNING, progress=20, requested_by=actors.owner.user)
    session = actors.session_client("owner").cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/o/{actors.owner.org_id}/tse/{signed.public_id}/")
    row = page.locator(f"#export-{export.public_id}")
    expect(row).to_have_attribute("data-state", "running")
    expect(row.get_by_test_id("export-progress")).to_have_attribute("aria-valuenow", "20")
    TarExport.unscoped.filter(pk=export.pk).update(progress=60)
    expect(row.get_by_test_id("export-progress")).to_have_attribute("aria-valuenow", "60", timeout=6000)

    tar_jobs.run_export(export.pk)  # the worker finishes it
    expect(row).to_have_attribute("data-state", "completed", timeout=6000)
    export.refresh_from_db()
    expect(page.get_by_test_id("export-sha256")).to_have_text(export.sha256)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tse-exports.png"), full_page=True)
    with page.expect_download() as download:
        row.get_by_test_id("export-download").click()
    path = download.value.path()
    with tar_jobs.open_export_file(export) as stored:
        assert Path(path).read_bytes() == stored.read()
    assert download.value.suggested_filename.startswith(signed.serial_number)
