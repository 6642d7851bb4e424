"""Kassen-Nachschau bundles (§ 146b AO, reference/legal.md §7.1): everything the tax office asks for, in one ZIP.

- ``request_bundle`` validates the request (calendar days, ``date_from`` ≤ ``date_to`` ≤ today in
  Berlin, at most ten years, a Betriebsstätte with at least one cash register), stores a PENDING
  ``NachschauBundle``, audits ``compliance.nachschau.requested`` and sends
  ``compliance.build_nachschau_bundle`` after the commit.
- ``run_bundle`` (the task body) builds, for the cash registers at the outlets of the Betriebsstätte:
  the DSFinV-K export of their accepted closings made in the period (the exporter's own
  ``closing_records`` → ``write_export``), the TR-03153 TAR export of each of their TSEs for the
  period's Berlin days (``write_tar_export``) and the PDF summary (``nachschau_pdf``); then one ZIP
  ``nachschau-<Betriebsstätte>-<from>-<to>.zip`` with ``dsfinvk/…zip``, ``tse/<serial16>-….tar``,
  ``summary.pdf`` and ``manifest.json`` (SHA-256 and size of every other member). Every part is
  written to a temporary file and copied into the ZIP in chunks, so memory stays flat. Progress
  (0–100 %, ``step``) is stored by UPDATE as it goes. The bundle is kept like every archive:
  ``retain_until`` = 31 December of the tenth year after ``date_to``. Any error → ERROR with a
  message, no file kept, audit ``compliance.nachschau.failed``.
- ``open_bundle_file`` / ``bundle_file_name`` serve the download (audited by the page).
"""

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time as clock
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compliance.models import BundleState, NachschauBundle
from portal.services.audit import actor_identity, log_action, register_action_labels

__all__ = [
    "FINISHED_STATES",
    "NachschauError",
    "bundle_cash_registers",
    "bundle_file_name",
    "bundle_signing_units",
    "berlin_today",
    "summary_data",
    "copy_bundle",
    "open_bundle_file",
    "record_download",
    "organization_bundles",
    "request_bundle",
    "retention_date",
    "run_bundle",
]

logger = logging.getLogger(__name__)

register_action_labels({
    "compliance.nachschau.requested": _("Kassen-Nachschau bundle requested"),
    "compliance.nachschau.completed": _("Kassen-Nachschau bundle stored"),
    "compliance.nachschau.failed": _("Kassen-Nachschau bundle failed"),
    "compliance.nachschau.downloaded": _("Kassen-Nachschau bundle downloaded"),
})

FINISHED_STATES = (BundleState.COMPLETED, BundleState.ERROR)
MAX_YEARS = 10
COPY_CHUNK = 1024 * 1024
PROGRESS_INTERVAL = 0.5  # seconds between stored progress values (plus every change of step)
# progress shares: DSFinV-K 0–40 %, TAR 40–85 %, PDF 85–88 %, ZIP 88–99 %, stored 100 %
DSFINVK_SHARE = (0, 40)
TAR_SHARE = (40, 85)
PDF_SHARE = (85, 88)
ZIP_SHARE = (88, 99)
MANIFEST_NAME = "manifest.json"
SUMMARY_NAME = "summary.pdf"


class NachschauError(Exception):
    """A request that cannot be bundled; ``code`` is stable (``E_…``), ``message`` translated."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --- what a bundle covers ----------------------------------------------------------------------


def berlin_today() -> date:
    return timezone.localdate(timezone.now())


def bundle_cash_registers(betriebsstaette, manager_name: str = "objects"):
    """The cash registers at the outlets of ``betriebsstaette`` (also decommissioned ones), by Z_KASSE_ID."""
    from exports.models import CashRegister

    manager = getattr(CashRegister, manager_name)
    return (manager.filter(organization_id=betriebsstaette.organization_id, outlet__betriebsstaette=betriebsstaette)
            .select_related("client__signing_unit", "outlet", "pos_system_version__pos_system")
            .order_by("client__client_id", "pk"))


def bundle_signing_units(betriebsstaette, registers) -> list:
    """The initialized TSEs of the registers and of the Betriebsstätte's outlets, by serial number."""
    from tse.models import SigningUnit

    units = {register.client.signing_unit.pk: register.client.signing_unit for register in registers}
    for unit in SigningUnit.unscoped.filter(organization_id=betriebsstaette.organization_id,
                                            outlet__betriebsstaette=betriebsstaette):
        units.setdefault(unit.pk, unit)
    return sorted((unit for unit in units.values() if unit.serial_number), key=lambda unit: unit.serial_number)


def retention_date(date_to: date) -> date:
    """31 December of the tenth year after the last day covered (§ 147 (3), (4) AO, like the DSFinV-K archives)."""
    return date(date_to.year + settings.DSFINVK_RETENTION_YEARS, 12, 31)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _check_period(date_from, date_to) -> None:
    for value in (date_from, date_to):
        if value is None or isinstance(value, datetime) or not isinstance(value, date):
            raise NachschauError("E_VALIDATION", gettext("Choose the first and the last day of the period."))
    if date_from > date_to:
        raise NachschauError("E_VALIDATION", gettext("The first day must not be after the last day."))
    if date_to > berlin_today():
        raise NachschauError("E_VALIDATION", gettext("The period must not end in the future."))
    if date_from < _years_before(date_to, MAX_YEARS) + timedelta(days=1):
        raise NachschauError("E_VALIDATION", gettext("The period can cover at most %(years)d years.")
                             % {"years": MAX_YEARS})


def _requesting_user(actor):
    return actor_identity(actor).user


def request_bundle(actor, betriebsstaette, date_from, date_to) -> NachschauBundle:
    """Store a PENDING bundle of ``betriebsstaette`` for the Berlin days ``date_from`` … ``date_to`` and queue it."""
    from compliance.tasks.nachschau import build_nachschau_bundle_task
    from portal.celery import enqueue

    _check_period(date_from, date_to)
    if not bundle_cash_registers(betriebsstaette, "unscoped").exists():
        raise NachschauError("E_NO_CASH_REGISTER", gettext(
            "The Betriebsstätte %(name)s has no cash register: there is nothing to hand over.")
            % {"name": betriebsstaette.name})
    with transaction.atomic():
        bundle = NachschauBundle.objects.create(
            organization_id=betriebsstaette.organization_id, betriebsstaette=betriebsstaette, date_from=date_from,
            date_to=date_to, created_by=_requesting_user(actor), step=gettext("Waiting for the worker"))
        log_action("compliance.nachschau.requested", actor, betriebsstaette.organization, bundle, data={
            "betriebsstaette": str(betriebsstaette.public_id), "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat()})
        enqueue(build_nachschau_bundle_task, bundle_id=bundle.pk, organization_id=bundle.organization_id)
    return bundle


def organization_bundles(organization):
    """The bundles of an operator, newest first."""
    return (NachschauBundle.objects.filter(organization=organization)
            .select_related("betriebsstaette", "created_by").order_by("-created_at", "-pk"))


# --- progress ----------------------------------------------------------------------------------


class _Progress:
    """Stores ``progress``/``step`` by UPDATE: at every new step, otherwise at most every 0.5 s."""

    def __init__(self, bundle_pk: int):
        self.bundle_pk = bundle_pk
        self.percent = 0
        self.step = ""
        self.stored_at = 0.0

    def __call__(self, percent: int, step: str | None = None) -> None:
        percent = max(self.percent, min(99, int(percent)))
        changed_step = step is not None and step != self.step
        now = clock.monotonic()
        if not changed_step and (percent == self.percent or now - self.stored_at < PROGRESS_INTERVAL):
            return
        self.percent = percent
        if step is not None:
            self.step = step[:200]
        self.stored_at = now
        NachschauBundle.unscoped.filter(pk=self.bundle_pk, state=BundleState.WORKING).update(
            progress=percent, step=self.step)

    def share(self, bounds: tuple[int, int], done: int, total: int) -> None:
        low, high = bounds
        self(low + (high - low) * done // total if total > 0 else high)


# --- building ----------------------------------------------------------------------------------


@dataclass
class _Member:
    name: str
    path: str
    sha256: str
    size: int
    compress: bool = True

    def as_json(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


@dataclass
class _Parts:
    members: list[_Member] = field(default_factory=list)
    closings: dict = field(default_factory=dict)  # register pk -> closings in the period
    tar_counts: dict = field(default_factory=dict)  # unit pk -> log messages


def _file_digest(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as source:
        while data := source.read(COPY_CHUNK):
            digest.update(data)
            size += len(data)
    return digest.hexdigest(), size


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")[:60] or "betriebsstaette"


def bundle_file_name(bundle: NachschauBundle) -> str:
    """``nachschau-<Betriebsstätte>-<from>-<to>.zip`` (days as YYYYMMDD)."""
    return f"nachschau-{_slug(bundle.betriebsstaette.name)}-{bundle.date_from:%Y%m%d}-{bundle.date_to:%Y%m%d}.zip"


def _period_bounds(bundle: NachschauBundle) -> tuple[datetime, datetime]:
    from exports.services.export_jobs import berlin_day_bounds

    return berlin_day_bounds(bundle.date_from, bundle.date_to)


def _write_dsfinvk(bundle, registers, workdir: str, progress: _Progress, parts: _Parts) -> None:
    from exports.dsfinvk.writer import write_export
    from exports.services.export_jobs import closing_records, completed_closings

    progress(DSFINVK_SHARE[0], gettext("DSFinV-K export of the closings"))
    filters = {"cash_registers": [register.pk for register in registers], "date_from": bundle.date_from,
               "date_to": bundle.date_to}
    counts = dict(completed_closings(bundle.organization, **filters).order_by().values("cash_register_id")
                  .annotate(n=Count("pk")).values_list("cash_register_id", "n"))
    parts.closings = counts
    total = sum(counts.values())
    path = os.path.join(workdir, "dsfinvk.zip")
    with open(path, "wb") as target:
        write_export(closing_records(bundle.organization, **filters), target,
                     progress=lambda written: progress.share(DSFINVK_SHARE, written, total))
    sha256, size = _file_digest(path)
    name = f"dsfinvk/dsfinvk_{bundle.date_from:%Y%m%d}-{bundle.date_to:%Y%m%d}.zip"
    parts.members.append(_Member(name, path, sha256, size, compress=False))


def _write_tars(bundle, units, workdir: str, progress: _Progress, parts: _Parts, export_time: datetime) -> None:
    from tse.services.tar_export import write_tar_export

    start, end = _period_bounds(bundle)
    last_instant = end - timedelta(microseconds=1)
    low, high = TAR_SHARE
    span = (high - low) / max(len(units), 1)
    for index, unit in enumerate(units):
        base = low + span * index
        progress(base, gettext("TSE export (TAR) %(number)d of %(total)d") % {"number": index + 1,
                                                                               "total": len(units)})
        path = os.path.join(workdir, f"tse-{index}.tar")
        with open(path, "wb") as target:
            result = write_tar_export(unit, target, time_from=start, time_to=last_instant, export_time=export_time,
                                      progress=lambda percent, base=base: progress(base + span * percent / 100))
        parts.tar_counts[unit.pk] = result.log_count
        name = f"tse/{unit.serial_number[:16]}-{bundle.date_from:%Y%m%d}-{bundle.date_to:%Y%m%d}.tar"
        parts.members.append(_Member(name, path, result.sha256, result.size))


def _outages(units, start: datetime, end: datetime) -> list:
    from tse.models import Outage

    return list(Outage.unscoped.filter(signing_unit__in=[unit.pk for unit in units], started_at__lt=end)
                .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=start))
                .select_related("signing_unit").order_by("started_at", "pk"))


def _procedure_documents(organization) -> dict | None:
    from compliance.models import ProcedureDocument

    document = ProcedureDocument.unscoped.filter(organization=organization).order_by("-number").first()
    if document is None:
        return None
    try:
        link = settings.SITE_URL + reverse("compliance_procedure_version", kwargs={
            "org_id": organization.public_id, "number": document.number})
    except NoReverseMatch:
        link = ""
    return {"number": document.number, "created_at": document.created_at, "sha256": document.sha256,
            "note": document.note, "link": link}


def summary_data(bundle, registers, units, parts: _Parts, generated_at: datetime) -> dict:
    """What the PDF summary shows (plain values; the PDF module only lays them out)."""
    from tse.models import BsiCertification

    start, end = _period_bounds(bundle)
    certifications = {c.certification_id: c for c in BsiCertification.objects.filter(
        certification_id__in=[unit.bsi_certification_id for unit in units if unit.bsi_certification_id])}
    systems = []
    for register in registers:
        version = register.pos_system_version
        systems.append({
            "serial": register.kasse_id, "outlet": str(register.outlet),
            "pos_system": f"{version.pos_system.brand} {version.pos_system.model}".strip(),
            "software": f"{version.software_name} {version.software_version}".strip(),
            "acquired_on": register.acquired_on or timezone.localdate(register.created_at),
            "commissioned_on": register.commissioned_on or timezone.localdate(register.created_at),
            "decommissioned_on": timezone.localdate(register.decommissioned_at) if register.decommissioned_at
            else None,
            "tse_serial": register.client.signing_unit.serial_number,
            "closings": parts.closings.get(register.pk, 0),
        })
    tses = []
    for unit in units:
        certification = certifications.get(unit.bsi_certification_id)
        tses.append({
            "serial": unit.serial_number, "bsi_id": unit.bsi_certification_id,
            "bsi_valid_until": certification.valid_until if certification else None,
            "certificate_expires_at": unit.certificate_expires_at, "state": unit.get_state_display(),
            "form_factor": unit.get_form_factor_display() if unit.form_factor else "",
            "backend": unit.get_backend_display(), "log_messages": parts.tar_counts.get(unit.pk, 0),
        })
    outages = [{"tse_serial": outage.signing_unit.serial_number, "started_at": outage.started_at,
                "ended_at": outage.ended_at, "reason": outage.get_reason_display(),
                "failed_signings": outage.failed_signings} for outage in _outages(units, start, end)]
    organization = bundle.organization
    premises = bundle.betriebsstaette
    return {
        "operator": {"name": organization.name, "street": organization.street,
                     "postal_code": organization.postal_code, "city": organization.city,
                     "tax_number": organization.tax_number, "vat_id": organization.vat_id},
        "betriebsstaette": {"name": premises.name, "street": f"{premises.street} {premises.house_number}".strip(),
                            "postal_code": premises.postal_code, "city": premises.city},
        "date_from": bundle.date_from, "date_to": bundle.date_to, "systems": systems, "tses": tses,
        "outages": outages, "members": [member.as_json() for member in parts.members],
        "procedure": _procedure_documents(organization), "generated_at": generated_at,
        "bundle_id": str(bundle.public_id),
    }


def _write_summary(bundle, registers, units, workdir: str, progress: _Progress, parts: _Parts,
                   generated_at: datetime) -> None:
    from compliance.services.nachschau_pdf import render_summary_pdf

    progress(PDF_SHARE[0], gettext("PDF summary"))
    pdf = render_summary_pdf(summary_data(bundle, registers, units, parts, generated_at))
    path = os.path.join(workdir, SUMMARY_NAME)
    with open(path, "wb") as target:
        target.write(pdf)
    parts.members.append(_Member(SUMMARY_NAME, path, hashlib.sha256(pdf).hexdigest(), len(pdf)))


def _manifest(bundle, parts: _Parts, generated_at: datetime) -> bytes:
    data = {
        "kind": "kassen-nachschau", "bundle": str(bundle.public_id), "operator": bundle.organization.name,
        "betriebsstaette": {"id": str(bundle.betriebsstaette.public_id), "name": bundle.betriebsstaette.name},
        "date_from": bundle.date_from.isoformat(), "date_to": bundle.date_to.isoformat(),
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "members": [member.as_json() for member in parts.members],
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _zip_info(name: str, size: int, compress: bool, when: datetime) -> zipfile.ZipInfo:
    local = timezone.localtime(when)
    info = zipfile.ZipInfo(name, date_time=(local.year, local.month, local.day, local.hour, local.minute,
                                            local.second))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    info.file_size = size
    if compress:
        info._compresslevel = 1  # the fastest level: enough for the TARs, most of which is block padding
    return info


def _write_zip(path: str, parts: _Parts, manifest: bytes, progress: _Progress, generated_at: datetime) -> None:
    progress(ZIP_SHARE[0], gettext("Assembling the bundle"))
    total = sum(member.size for member in parts.members) or 1
    copied = 0
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for member in parts.members:
            info = _zip_info(member.name, member.size, member.compress, generated_at)
            with open(member.path, "rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while data := source.read(COPY_CHUNK):
                    target.write(data)
                    copied += len(data)
                    progress.share(ZIP_SHARE, copied, total)
        archive.writestr(_zip_info(MANIFEST_NAME, len(manifest), True, generated_at), manifest)


def _fail(bundle_pk: int, exc: Exception) -> NachschauBundle:
    logger.error("Kassen-Nachschau bundle %s failed", bundle_pk, exc_info=exc)
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code.startswith("E_"):
        message = str(getattr(exc, "message", None) or exc)
    else:  # details of unexpected errors (paths, hosts) stay in the log
        message = gettext("The bundle could not be built (%(error)s).") % {"error": type(exc).__name__}
    with transaction.atomic():
        changed = (NachschauBundle.unscoped.filter(pk=bundle_pk).exclude(state=BundleState.COMPLETED)
                   .update(state=BundleState.ERROR, error_message=message[:2000], finished_at=timezone.now(),
                           step=gettext("Failed")))
        bundle = NachschauBundle.unscoped.select_related("organization").get(pk=bundle_pk)
        if changed:
            log_action("compliance.nachschau.failed", None, bundle.organization, bundle,
                       data={"error_message": bundle.error_message})
    return bundle


def run_bundle(bundle_id: int) -> NachschauBundle:
    """Build and store one bundle (body of ``compliance.build_nachschau_bundle``); finished ones stay as they are."""
    with transaction.atomic():
        bundle = (NachschauBundle.unscoped.select_for_update(of=("self",))
                  .select_related("organization", "betriebsstaette").get(pk=bundle_id))
        if bundle.state in FINISHED_STATES:
            return bundle
        bundle.state = BundleState.WORKING
        bundle.started_at = timezone.now()
        bundle.progress = 0
        bundle.step = gettext("Started")
        bundle.save(update_fields=["state", "started_at", "progress", "step"])
    progress = _Progress(bundle.pk)
    try:
        generated_at = timezone.now()
        registers = list(bundle_cash_registers(bundle.betriebsstaette, "unscoped"))
        if not registers:
            raise NachschauError("E_NO_CASH_REGISTER", gettext("The Betriebsstätte has no cash register."))
        units = bundle_signing_units(bundle.betriebsstaette, registers)
        with tempfile.TemporaryDirectory(prefix="nachschau-") as workdir:
            parts = _Parts()
            _write_dsfinvk(bundle, registers, workdir, progress, parts)
            _write_tars(bundle, units, workdir, progress, parts, generated_at)
            _write_summary(bundle, registers, units, workdir, progress, parts, generated_at)
            manifest = _manifest(bundle, parts, generated_at)
            zip_path = os.path.join(workdir, "bundle.zip")
            _write_zip(zip_path, parts, manifest, progress, generated_at)
            members = [member.as_json() for member in parts.members]
            members.append({"name": MANIFEST_NAME, "sha256": hashlib.sha256(manifest).hexdigest(),
                            "size": len(manifest)})
            for member in parts.members:  # free the disk early: only the ZIP is needed from here on
                os.unlink(member.path)
            return _store(bundle, zip_path, members, progress)
    except Exception as exc:
        return _fail(bundle.pk, exc)


def _store(bundle: NachschauBundle, zip_path: str, members: list, progress: _Progress) -> NachschauBundle:
    progress(ZIP_SHARE[1], gettext("Storing the bundle"))
    sha256, size = _file_digest(zip_path)
    stored_name = None
    storage = bundle.file.storage
    try:
        with transaction.atomic():
            current = (NachschauBundle.unscoped.select_for_update(of=("self",))
                       .select_related("organization", "betriebsstaette").get(pk=bundle.pk))
            if current.state in FINISHED_STATES:
                return current
            with open(zip_path, "rb") as source:
                current.file.save(bundle_file_name(current), File(source), save=False)
            stored_name = current.file.name
            if storage.size(stored_name) != size:
                raise NachschauError("E_STORAGE", gettext("The bundle was not stored completely."))
            current.sha256 = sha256
            current.size = size
            current.members = members
            current.retain_until = retention_date(current.date_to)
            current.state = BundleState.COMPLETED
            current.progress = 100
            current.step = gettext("Completed")
            current.finished_at = timezone.now()
            current.error_message = ""
            current.save()
            log_action("compliance.nachschau.completed", None, current.organization, current,
                       data={"sha256": sha256, "size": size, "members": len(members)})
    except BaseException:
        if stored_name:
            storage.delete(stored_name)
        raise
    return current


def open_bundle_file(bundle: NachschauBundle):
    """The stored ZIP of a COMPLETED bundle, opened for reading; ``NachschauError`` otherwise."""
    if bundle.state != BundleState.COMPLETED or not bundle.file:
        raise NachschauError("E_NOT_READY", gettext("The bundle is not completed."))
    return bundle.file.storage.open(bundle.file.name, "rb")


def copy_bundle(bundle: NachschauBundle, target) -> None:
    """Copy the stored ZIP into the binary file object ``target`` (tests, re-verification)."""
    with open_bundle_file(bundle) as source:
        shutil.copyfileobj(source, target, COPY_CHUNK)


def record_download(actor, bundle: NachschauBundle) -> None:
    """Audit that ``actor`` downloaded the bundle (the tax office's copy leaves the portal here)."""
    log_action("compliance.nachschau.downloaded", actor, bundle.organization, bundle,
               data={"sha256": bundle.sha256, "size": bundle.size})
