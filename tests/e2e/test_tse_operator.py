"""Issue 4 in real Chromium: an operator watches its TSE, searches the fiscal protocol, opens a receipt
with its QR code, starts a TAR export and downloads it.

The till signs through the signing API (eager tasks in the live server's process); one signing fails,
so the dashboard shows the TSE yellow with one failed signing and the open outage. The operator's
session (password + TOTP already done) is handed to the browser as its session cookie.
Screenshots go to ``$E2E_ARTIFACTS_DIR`` (default ``test-results/e2e/``).
"""

import hashlib
import io
import os
import re
import tarfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from tests.helpers import api_client
from tests.tse_api.conftest import RECEIPT, setup_tss
from tse.backends.base import TseError
from tse.backends.software import SoftwareTse
from tse.models import SigningUnit, TarExport, TseTransaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")


def _sign_receipts(tss, count: int) -> None:
    for _receipt in range(count):
        tx_id = str(uuid.uuid4())
        assert tss.put_tx(tx_id, 1, "ACTIVE").json()["signature"] is not None
        assert tss.put_tx(tx_id, 2, "FINISHED", RECEIPT).json()["qr_code_data"]


def test_operator_status_protocol_receipt_and_tar_export(page, live_server, actors, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    tss = setup_tss(api_client(actors.owner.key))
    _sign_receipts(tss, 3)
    unit = SigningUnit.unscoped.get(public_id=tss.tss_id)
    original = SoftwareTse.start_transaction
    monkeypatch.setattr(SoftwareTse, "start_transaction", lambda self, *a, **k: (_ for _ in ()).throw(
        TseError("E_TSE_UNAVAILABLE", "the TSE does not answer", status=503)))
    failed = tss.put_tx(str(uuid.uuid4()), 1, "ACTIVE").json()
    assert failed["signature"] is None and failed["error"]["code"] == "E_TSE_UNAVAILABLE"
    monkeypatch.setattr(SoftwareTse, "start_transaction", original)

    session = actors.session_client("owner").cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])
    base = f"{live_server.url}/o/{actors.owner.org_id}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # 1. the dashboard shows the TSE yellow with one failed signing and the open outage
    page.goto(f"{base}/")
    card = page.get_by_test_id("tse-dashboard")
    expect(card.get_by_test_id("tse-health")).to_have_attribute("data-health", "yellow")
    expect(card.get_by_test_id("tse-health")).to_contain_text("1")
    expect(card.get_by_test_id("tse-open-outages")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "tse-dashboard.png"), full_page=True)

    # 2. the fiscal protocol: search transaction number 2 (htmx swaps the rows in)
    page.goto(f"{base}/tse/protocol/")
    expect(page.get_by_test_id("protocol-table").locator("tbody tr")).to_have_count(3)
    page.get_by_test_id("protocol-filter").locator("[name=number]").fill("2")
    page.get_by_test_id("protocol-filter").locator("button[type=submit]").click()
    rows = page.get_by_test_id("protocol-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    second = TseTransaction.unscoped.get(signing_unit=unit, number=2)
    expect(page.get_by_test_id(f"tx-{second.public_id}")).to_be_visible()
    expect(page).to_have_url(re.compile(r".*number=2.*"))

    # 3. the receipt with all § 6 fields and its QR code
    page.get_by_test_id(f"tx-{second.public_id}").get_by_role("link").click()
    expect(page.get_by_test_id("receipt-transaction-number")).to_have_text("2")
    expect(page.get_by_test_id("receipt-tse-serial")).to_have_text(unit.serial_number)
    expect(page.get_by_test_id("receipt-test-mode")).to_be_visible()
    qr = page.get_by_test_id("receipt-qr").locator("svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] > 100
    png_link = page.get_by_test_id("receipt-qr").locator("xpath=..").locator("a").get_attribute("href")
    png = page.request.get(live_server.url + png_link)
    assert png.ok and png.body()[:8] == b"\x89PNG\r\n\x1a\n"
    page.screenshot(path=str(ARTIFACTS / "tse-receipt.png"), full_page=True)

    # 4. a TAR export of everything: started on the TSE page, run by the (eager) job, downloaded
    page.goto(f"{base}/tse/{unit.public_id}/")
    page.get_by_test_id("export-tse").locator("button[type=submit]").click()
    row = page.get_by_test_id("export-row").first
    expect(row).to_have_attribute("data-state", "completed", timeout=10000)
    export = TarExport.unscoped.get(signing_unit=unit)
    expect(page.get_by_test_id("export-sha256").first).to_have_text(export.sha256)
    page.screenshot(path=str(ARTIFACTS / "tse-export.png"), full_page=True)
    with page.expect_download() as download:
        row.get_by_test_id("export-download").click()
    data = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(data).hexdigest() == export.sha256
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
    assert names[:2] == ["info.csv", f"{unit.serial_number}_X509.pem"]
    logs = [name for name in names if name.endswith(".log")]
    assert len(logs) == unit.log_messages.count() == export.log_count
    assert sum("_Log-Tra_No-" in name for name in logs) == 6  # 3 receipts × start + finish
