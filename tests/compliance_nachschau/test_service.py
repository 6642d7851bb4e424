"""The Kassen-Nachschau bundle service: contents on real data, period filter, validation, failures."""

import datetime as dt
import hashlib
import io
import json
import tarfile

import pytest

from compliance.models import BundleState, NachschauBundle
from compliance.services import nachschau
from exports.dsfinvk.validator import validate_export
from portal.models.audit import LogEntry
from tests.compliance_nachschau.conftest import AUGUST, build, bundle_bytes, make_premises, open_zip
from tse.models import LogMessage

pytestmark = pytest.mark.django_db


def _members(archive) -> dict:
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_bundle_holds_every_part_with_its_hashes(shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks)
    assert bundle.state == BundleState.COMPLETED, bundle.error_message
    assert bundle.progress == 100 and bundle.started_at and bundle.finished_at
    assert bundle.retain_until == dt.date(2036, 12, 31)
    data = bundle_bytes(bundle)
    assert hashlib.sha256(data).hexdigest() == bundle.sha256 and len(data) == bundle.size
    assert bundle.file.name.endswith(".zip")
    serial = shop.unit.serial_number
    with open_zip(data) as archive:
        members = _members(archive)
    assert sorted(members) == sorted([
        "dsfinvk/dsfinvk_20260801-20260831.zip", f"tse/{serial[:16]}-20260801-20260831.tar", "summary.pdf",
        "manifest.json"])
    manifest = json.loads(members["manifest.json"])
    assert manifest["date_from"] == "2026-08-01" and manifest["date_to"] == "2026-08-31"
    assert manifest["betriebsstaette"] == {"id": str(shop.premises.public_id), "name": "Café Mitte"}
    listed = {item["name"]: item for item in manifest["members"]}
    assert set(listed) == set(members) - {"manifest.json"}
    for name, item in listed.items():
        assert item["sha256"] == hashlib.sha256(members[name]).hexdigest(), name
        assert item["size"] == len(members[name]), name
    stored = {item["name"]: item for item in bundle.members}
    assert set(stored) == set(members)
    assert stored["manifest.json"]["sha256"] == hashlib.sha256(members["manifest.json"]).hexdigest()
    actions = list(LogEntry.unscoped.filter(object_id=str(bundle.public_id)).values_list("action", flat=True))
    assert sorted(actions) == ["compliance.nachschau.completed", "compliance.nachschau.requested"]


def test_the_dsfinvk_part_passes_the_validator_and_covers_only_the_period(shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks)
    with open_zip(bundle_bytes(bundle)) as archive:
        export = archive.read("dsfinvk/dsfinvk_20260801-20260831.zip")
    report = validate_export(io.BytesIO(export))
    assert report.passed, [f.code for f in report.findings]
    assert report.stats["closings"] == 4  # Z 1 and 2 of both registers; the September closings stay out
    with open_zip(export) as dsfinvk:
        rows = dsfinvk.read("cashpointclosing.csv").decode("utf-8").split("\r\n")[1:-1]
    assert sorted((row.split(";")[0], row.split(";")[2]) for row in rows) == [
        ("KASSE-01", "1"), ("KASSE-01", "2"), ("KASSE-02", "1"), ("KASSE-02", "2")]


def test_the_tar_part_holds_the_periods_log_messages(shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks)
    start = dt.datetime(2026, 7, 31, 22, 0, tzinfo=dt.UTC)  # midnight in Berlin (summer time)
    end = dt.datetime(2026, 8, 31, 22, 0, tzinfo=dt.UTC)
    expected = list(LogMessage.unscoped.filter(signing_unit=shop.unit, log_time__gte=start, log_time__lt=end)
                    .order_by("signature_counter").values_list("file_name", flat=True))
    outside = set(LogMessage.unscoped.filter(signing_unit=shop.unit).exclude(file_name__in=expected)
                  .values_list("file_name", flat=True))
    assert len(expected) == 12 and outside  # 3 days x 2 POS x (start + finish); July and September stay out
    with open_zip(bundle_bytes(bundle)) as archive:
        tar_bytes = archive.read(f"tse/{shop.unit.serial_number[:16]}-20260801-20260831.tar")
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        names = tar.getnames()
        first = tar.extractfile(expected[0]).read()
    assert names[0] == "info.csv" and names[1] == f"{shop.unit.serial_number}_X509.pem"
    assert names[2:] == expected and not outside & set(names)
    assert first == bytes(LogMessage.unscoped.get(signing_unit=shop.unit, file_name=expected[0]).der)


def test_the_pdf_summary_names_systems_tses_outages_and_contents(shop, django_capture_on_commit_callbacks,
                                                                 in_english):
    bundle = build(shop, django_capture_on_commit_callbacks)
    with open_zip(bundle_bytes(bundle)) as archive:
        pdf = archive.read("summary.pdf")
        manifest = json.loads(archive.read("manifest.json"))
    assert pdf.startswith(b"%PDF")
    serial = shop.unit.serial_number
    for text in ("Kassen-Nachschau", "Recording systems", "KASSE-01", "KASSE-02", "Kassenbau K1", "KassenSoft 4.2",
                 "Technical security systems", serial[:32], serial[32:], "not certified / unknown",
                 "TSE outages in the period",
                 "signing failed", "05.08.2026 12:00", "01.08.2026", "31.08.2026", "Contents of the bundle",
                 f"tse/{serial[:16]}-20260801-20260831.tar", "No procedure documentation has been generated"):
        assert text.encode() in pdf, text
    for item in manifest["members"]:
        if item["name"] != "summary.pdf":
            for half in (item["sha256"][:32], item["sha256"][32:]):
                assert half.encode() in pdf, item["name"]


def test_the_pdf_names_the_latest_procedure_documentation(shop, django_capture_on_commit_callbacks, in_english):
    from django.core.files.base import ContentFile

    from compliance.models import ProcedureDocument

    for number in (1, 2):
        document = ProcedureDocument(organization=shop.organization, number=number, content={}, html="<p></p>",
                                     sha256=f"{number}" * 64, note=f"Stand {number}")
        document.pdf.save("v.pdf", ContentFile(b"%PDF-1.4"), save=False)
        document.save()
    bundle = build(shop, django_capture_on_commit_callbacks)
    with open_zip(bundle_bytes(bundle)) as archive:
        pdf = archive.read("summary.pdf")
    assert b"Latest version: 2" in pdf and b"2" * 32 in pdf and b"Stand 2" in pdf


def test_a_berlin_day_period_takes_log_messages_until_midnight(shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks, dt.date(2026, 8, 31), dt.date(2026, 8, 31))
    assert bundle.state == BundleState.COMPLETED, bundle.error_message
    with open_zip(bundle_bytes(bundle)) as archive:
        tar_bytes = archive.read(f"tse/{shop.unit.serial_number[:16]}-20260831-20260831.tar")
        export = archive.read("dsfinvk/dsfinvk_20260831-20260831.zip")
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        assert len(tar.getnames()) == 2 + 4  # 23:30 on 31 August: both POS, start and finish
    report = validate_export(io.BytesIO(export))
    assert report.stats["closings"] == 0  # no closing that day: the tables are there, empty


@pytest.mark.parametrize(("date_from", "date_to", "message"), [
    (dt.date(2026, 8, 31), dt.date(2026, 8, 1), "must not be after"),
    (dt.date(2016, 8, 1), dt.date(2026, 8, 1), "at most 10 years"),
    (None, dt.date(2026, 8, 1), "Choose the first and the last day"),
    (dt.datetime(2026, 8, 1, tzinfo=dt.UTC), dt.date(2026, 8, 2), "Choose the first and the last day"),
])
def test_invalid_periods_are_refused(shop, date_from, date_to, message, in_english):
    with pytest.raises(nachschau.NachschauError) as raised:
        nachschau.request_bundle(None, shop.premises, date_from, date_to)
    assert raised.value.code == "E_VALIDATION" and message in raised.value.message
    assert not NachschauBundle.unscoped.exists()


def test_ten_years_exactly_are_allowed_and_the_future_is_not(shop, django_capture_on_commit_callbacks, in_english):
    today = nachschau.berlin_today()
    with pytest.raises(nachschau.NachschauError, match="future"):
        nachschau.request_bundle(None, shop.premises, today, today + dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=False):
        bundle = nachschau.request_bundle(None, shop.premises, dt.date(2016, 8, 2), dt.date(2026, 8, 1))
    assert bundle.state == BundleState.PENDING


def test_a_betriebsstaette_without_cash_register_is_refused(owner, in_english):
    empty = make_premises(owner.organization, "Lager")
    with pytest.raises(nachschau.NachschauError) as raised:
        nachschau.request_bundle(None, empty, *AUGUST)
    assert raised.value.code == "E_NO_CASH_REGISTER" and "Lager has no cash register" in raised.value.message


def test_a_failure_keeps_no_file(shop, django_capture_on_commit_callbacks, monkeypatch, media_root, in_english):
    from tse.services import tar_export

    def broken(*args, **kwargs):
        raise OSError("/var/secret/disk full")

    monkeypatch.setattr(tar_export, "write_tar_export", broken)
    bundle = build(shop, django_capture_on_commit_callbacks)
    assert bundle.state == BundleState.ERROR and not bundle.file and not bundle.sha256
    assert "could not be built (OSError)" in bundle.error_message and "secret" not in bundle.error_message
    assert not [path for path in media_root.rglob("*") if path.is_file() and "nachschau" in str(path)]
    assert LogEntry.unscoped.filter(action="compliance.nachschau.failed", object_id=str(bundle.public_id)).exists()
    assert nachschau.run_bundle(bundle.pk).state == BundleState.ERROR  # finished bundles stay as they are


def test_a_storage_failure_removes_the_stored_file(shop, django_capture_on_commit_callbacks, monkeypatch,
                                                   media_root):
    from django.core.files.storage import FileSystemStorage

    monkeypatch.setattr(FileSystemStorage, "size", lambda self, name: 1)
    bundle = build(shop, django_capture_on_commit_callbacks)
    assert bundle.state == BundleState.ERROR and not bundle.file
    assert not [path for path in media_root.rglob("*") if path.is_file() and "nachschau" in str(path)]


def test_registers_of_other_premises_stay_out(shop, django_capture_on_commit_callbacks):
    from tenants.models import Outlet

    other = make_premises(shop.organization, "Café Nord")
    Outlet.unscoped.filter(pk=shop.registers[1].outlet_id).update(betriebsstaette=other)
    bundle = build(shop, django_capture_on_commit_callbacks)
    with open_zip(bundle_bytes(bundle)) as archive:
        export = archive.read("dsfinvk/dsfinvk_20260801-20260831.zip")
    with open_zip(export) as dsfinvk:
        rows = dsfinvk.read("cashregister.csv").decode("utf-8").split("\r\n")[1:-1]
    assert {row.split(";")[0] for row in rows} == {"KASSE-01"}


def test_the_download_name_and_the_list(shop, django_capture_on_commit_callbacks):
    bundle = build(shop, django_capture_on_commit_callbacks)
    assert nachschau.bundle_file_name(bundle) == "nachschau-Cafe-Mitte-20260801-20260831.zip"
    assert list(nachschau.organization_bundles(shop.organization)) == [bundle]
