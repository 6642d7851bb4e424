"""A Kassen-Nachschau bundle built by a REAL Celery worker on the ``exports`` queue (Redis broker), end to end."""

import hashlib
import io
import json
import time
import zipfile

import pytest
from django.conf import settings

from compliance.models import BundleState, NachschauBundle
from exports.dsfinvk.validator import validate_export

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker"),
]


def _finished(bundle_pk, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bundle = NachschauBundle.unscoped.get(pk=bundle_pk)
        if bundle.state in (BundleState.COMPLETED, BundleState.ERROR):
            return bundle
        time.sleep(0.1)
    return bundle


def test_the_worker_builds_the_bundle_started_on_the_page(actors, shop, exports_worker):
    client = actors.session_client("owner")
    base = f"/o/{actors.owner.org_id}/compliance/nachschau/"
    response = client.post(base, {"betriebsstaette": str(shop.premises.public_id), "date_from": "2026-08-01",
                                  "date_to": "2026-08-31"})
    assert response.status_code == 302
    bundle = _finished(NachschauBundle.unscoped.get().pk)
    assert bundle.state == BundleState.COMPLETED, bundle.error_message
    partial = client.get(f"{base}{bundle.public_id}/progress/").content.decode()
    assert "hx-get" not in partial and 'data-testid="nachschau-download"' in partial
    download = client.get(f"{base}{bundle.public_id}/download/")
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == bundle.sha256 == download["X-Content-SHA256"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        export = archive.read("dsfinvk/dsfinvk_20260801-20260831.zip")
        assert {item["name"] for item in manifest["members"]} | {"manifest.json"} == set(archive.namelist())
    assert validate_export(io.BytesIO(export)).passed
