"""Fixtures of the archive tests: a software TSE with signed transactions and its stored TAR exports,
a stored DSFinV-K export, a stored Kassen-Nachschau bundle (built by hand: a ZIP with a manifest)."""

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection

from compliance.models import BundleState, NachschauBundle
from exports.models import DsfinvkExport
from exports.services import export_jobs
from tenants.models import Betriebsstaette
from tests.dsfinvk_jobs.conftest import NOV_1, Closings, make_register
from tse.models import ExportState, TarExport, TseClient
from tse.services import tar_jobs
from tse.services.signing_units import create_signing_unit, get_backend, initialize_signing_unit

DAY_1 = dt.datetime(2026, 7, 31, 22, 30, tzinfo=dt.UTC)  # 00:30 on 1 August in Berlin
DAY_2 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
EXPORTED_AT = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
PROCESS_DATA = b"Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def signed(ready_unit):
    """Transactions on 1 August and 2 November 2026 (Berlin) at the owner's software TSE."""
    backend = get_backend(ready_unit)
    with time_machine.travel(DAY_1, tick=False):
        one = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", one.number, "Kassenbeleg-V1", PROCESS_DATA)
    with time_machine.travel(DAY_2, tick=False):
        two = backend.start_transaction("KASSE-02")
        backend.update_transaction("KASSE-02", two.number, "Kassenbeleg-V1", b"teil")
        backend.finish_transaction("KASSE-02", two.number, "Kassenbeleg-V1", PROCESS_DATA)
    return backend.signing_unit


@pytest.fixture
def stranger_unit(stranger):
    unit = create_signing_unit(actor=None, organization=stranger.organization, description="Fremde Kasse")
    backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
    backend.register_client("FREMD-01")
    tx = backend.start_transaction("FREMD-01")
    backend.finish_transaction("FREMD-01", tx.number, "Kassenbeleg-V1", PROCESS_DATA)
    return backend.signing_unit


def run_tar_export(unit, *, at=EXPORTED_AT, **filters) -> TarExport:
    """A TAR export written by the real job (backend → temporary file → storage) at ``at``."""
    with time_machine.travel(at, tick=False):
        export = TarExport.unscoped.create(organization=unit.organization, signing_unit=unit, **filters)
        tar_jobs.run_export(export.pk)
    export = TarExport.unscoped.select_related("signing_unit").get(pk=export.pk)
    assert export.state == ExportState.COMPLETED, export.error_message
    return export


@pytest.fixture
def tar_export(signed) -> TarExport:
    return run_tar_export(signed)


@pytest.fixture
def registers(ready_unit):
    clients = TseClient.unscoped.filter(signing_unit=ready_unit).order_by("client_id")
    return [make_register(ready_unit.organization, client, number) for number, client in enumerate(clients, 1)]


@pytest.fixture
def dsfinvk_export(owner, registers, django_capture_on_commit_callbacks) -> DsfinvkExport:
    """A validated DSFinV-K export of three accepted closings, stored by the real job."""
    closings = Closings()
    one, two = registers
    closings.add(one, 1, NOV_1)
    closings.add(one, 2, NOV_1 + dt.timedelta(minutes=30))
    closings.add(two, 1, NOV_1 + dt.timedelta(minutes=40))
    with django_capture_on_commit_callbacks(execute=True):
        export = export_jobs.request_export(actor=owner.user, organization=owner.organization)
    export = DsfinvkExport.unscoped.get(pk=export.pk)
    assert export.validation_passed is True
    return export


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def bundle_members(contents: dict[str, bytes]) -> tuple[dict[str, bytes], list[dict]]:
    """The contents plus ``manifest.json`` (as the Nachschau job writes it) and the stored member list."""
    rows = [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in contents.items()]
    manifest = json.dumps({"members": rows}).encode("utf-8")
    members = rows + [{"name": "manifest.json", "sha256": hashlib.sha256(manifest).hexdigest(),
                       "size": len(manifest)}]
    return {**contents, "manifest.json": manifest}, members


def store_bundle(organization, contents: dict[str, bytes], *, tamper=None) -> NachschauBundle:
    premises = (Betriebsstaette.unscoped.filter(organization=organization).first()
                or Betriebsstaette.unscoped.create(organization=organization, name="Café Mitte",
                                                   street="Hauptstraße", house_number="5", postal_code="10115",
                                                   city="Berlin"))
    files, members = bundle_members(contents)
    if tamper:
        files = tamper(files)
    data = zip_bytes(files)
    bundle = NachschauBundle(organization=organization, betriebsstaette=premises, date_from=dt.date(2026, 11, 1),
                             date_to=dt.date(2026, 11, 30), state=BundleState.COMPLETED, progress=100,
                             members=members, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                             retain_until=dt.date(2036, 12, 31), started_at=EXPORTED_AT, finished_at=EXPORTED_AT)
    bundle.file.save("bundle.zip", ContentFile(data), save=False)
    bundle.save()
    return bundle


@pytest.fixture
def bundle(owner, tar_export, dsfinvk_export) -> NachschauBundle:
    with tar_export.file.open("rb") as tar, dsfinvk_export.file.open("rb") as dsfinvk:
        contents = {"dsfinvk/dsfinvk.zip": dsfinvk.read(),
                    f"tse/{tar_export.signing_unit.serial_number[:16]}-202611.tar": tar.read(),
                    "summary.pdf": b"%PDF-1.4 summary"}
    return store_bundle(owner.organization, contents)
