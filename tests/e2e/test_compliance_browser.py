"""Issue 8 in real Chromium: an operator opens the compliance centre, generates the notification file of its
Betriebsstätte (downloads the XML and checks it against the schema), confirms the submission in Mein ELSTER,
runs a Kassen-Nachschau for August 2026, watches it finish and downloads the bundle.

Set-up: the ``shop`` of ``tests/compliance_nachschau`` (Betriebsstätte "Café Mitte", cash registers ``KASSE-01``
and ``KASSE-02`` of a software TSE initialized on 1 July 2026, signed transactions and accepted closings in
August, one outage). The bundle is built by a real Celery worker thread on the ``exports`` queue; the page
follows it by htmx polling. Screenshots go to ``$E2E_ARTIFACTS_DIR`` (default ``test-results/e2e/``).
"""

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from compliance.models import BundleState, NachschauBundle, NotificationSubmission, TaxOfficeNotification
from compliance.notification import validate_notification_xml
from tests.compliance_nachschau.conftest import shop  # noqa: F401  (the fixture)
from tests.workers import thread_worker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")
TIMEOUT_MS = 120_000
TICKET = "et4f7a9b2c1d8e3f6a5b0c"


def _login(page, live_server, client) -> None:
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])


def _download(page, locator) -> bytes:
    with page.expect_download() as info:
        locator.click()
    return Path(info.value.path()).read_bytes()


def test_operator_notifies_and_runs_a_kassen_nachschau(page, live_server, actors, shop):  # noqa: F811
    _login(page, live_server, actors.session_client("owner"))
    base = f"{live_server.url}/o/{actors.owner.org_id}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # 1. the compliance centre, reached through the navigation
    page.goto(f"{base}/")
    page.get_by_test_id("nav-compliance").click()
    page.get_by_test_id("nav-compliance-centre").click()
    page.wait_for_url(f"{base}/compliance/")
    expect(page.get_by_test_id("centre-deadlines")).to_be_visible()
    expect(page.get_by_test_id("centre-notifications")).to_contain_text("Café Mitte")
    page.screenshot(path=str(ARTIFACTS / "compliance-centre.png"), full_page=True)

    # 2. the notifications page: the preview with its problems, then generate the file
    page.get_by_test_id("centre-notifications-link").click()
    page.wait_for_url(f"{base}/compliance/notifications/")
    section = page.get_by_test_id("notification-premises")
    expect(section.get_by_test_id("notification-system")).to_have_count(2)
    expect(section.get_by_test_id("notification-problems")).to_be_visible()  # the software TSE has no BSI id
    expect(page.get_by_test_id("elster-upload-hint")).to_contain_text("ERiC")
    section.get_by_test_id("generate-notification").click()
    page.wait_for_url(f"{base}/compliance/notifications/*/")
    notification = TaxOfficeNotification.unscoped.get()
    expect(page.get_by_test_id("notification-sha256")).to_have_text(notification.sha256)
    page.screenshot(path=str(ARTIFACTS / "compliance-notification.png"), full_page=True)

    # 3. the XML download: the stored file, valid against the schema, with both systems
    xml = _download(page, page.get_by_test_id("notification-download"))
    assert xml == notification.xml.encode()
    assert validate_notification_xml(xml) == []
    text = xml.decode()
    assert "<Bezeichnung>Café Mitte</Bezeichnung>" in text
    assert "<SeriennummerAS>KASSE-01</SeriennummerAS>" in text and "<SeriennummerAS>KASSE-02</SeriennummerAS>" in text

    # 4. confirm the submission in Mein ELSTER (today, the transfer ticket)
    form = page.get_by_test_id("confirm-form")
    form.locator("[name=transfer_ticket]").fill(TICKET)
    form.get_by_test_id("confirm-submission").click()
    expect(page.get_by_test_id("notification-submission")).to_contain_text(TICKET)
    submission = NotificationSubmission.unscoped.get()
    assert submission.notification_id == notification.pk and submission.confirmed_by == actors.owner.user
    page.screenshot(path=str(ARTIFACTS / "compliance-submitted.png"), full_page=True)

    # 5. Kassen-Nachschau for August 2026 from the centre
    page.goto(f"{base}/compliance/")
    page.get_by_test_id("centre-nachschau-link").click()
    page.wait_for_url(f"{base}/compliance/nachschau/")
    nachschau_form = page.get_by_test_id("nachschau-form")
    nachschau_form.locator("[name=date_from]").fill("2026-08-01")
    nachschau_form.locator("[name=date_to]").fill("2026-08-31")
    with thread_worker("exports"):
        nachschau_form.get_by_test_id("nachschau-start").click()
        page.wait_for_url(f"{base}/compliance/nachschau/*/")
        progress = page.get_by_test_id("nachschau-progress")
        expect(progress).to_be_visible()
        expect(page.get_by_test_id("nachschau-download")).to_be_visible(timeout=TIMEOUT_MS)
        expect(progress).to_have_attribute("data-state", BundleState.COMPLETED)
    page.screenshot(path=str(ARTIFACTS / "compliance-nachschau.png"), full_page=True)

    # 6. the bundle: a ZIP with the DSFinV-K export, a TAR of the TSE and the PDF summary
    bundle = NachschauBundle.unscoped.get()
    assert bundle.state == BundleState.COMPLETED
    content = _download(page, page.get_by_test_id("nachschau-download"))
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        dsfinvk = [name for name in names if name.startswith("dsfinvk/") and name.endswith(".zip")]
        tars = [name for name in names if name.endswith(".tar")]
        assert len(dsfinvk) == 1 and tars and "summary.pdf" in names
        with zipfile.ZipFile(io.BytesIO(archive.read(dsfinvk[0]))) as export:
            assert "index.xml" in export.namelist()
        with tarfile.open(fileobj=io.BytesIO(archive.read(tars[0]))) as tar:
            assert tar.getnames()
        assert archive.read("summary.pdf").startswith(b"%PDF")
