"""DSFinV-K export jobs: select the closings, request an export, run it in the worker, schedule monthly.

- ``closing_records`` streams the COMPLETED closings of an operator (joined with their master-data
  revision) as ``ClosingRecord`` in the order the writer needs: cash register (``Z_KASSE_ID``),
  then ``Z_NR``. Days are calendar days in Europe/Berlin of ``export_creation_date``, both ends
  inclusive; the UTC bounds are computed per day, so DST changes are handled.
- ``request_export`` validates the filters (a day range *or* a Z_NR range, a Z_NR range needs
  exactly one cash register, at least one closing must match), stores a PENDING ``DsfinvkExport``,
  writes the audit entry ``exports.dsfinvk_export.requested`` and sends ``exports.export_dsfinvk``
  after the commit. With an ``export_id`` (the API's caller-chosen id) the same request answers the
  stored export, another request ``E_EXPORT_CONFLICT`` (409). ``NACHSCHAU`` (Kassen-Nachschau:
  "export now") takes every cash register and every closing made since 1 January of the previous
  calendar year (Berlin) and is queued with the highest priority.
- ``run_export`` (task body): WORKING → write the ZIP into a temporary file (progress 0–90 %) →
  validate it (90–99 %) → store it in the default storage with SHA-256 (computed while copying),
  size, counts, the validation report and the retention date → COMPLETED (one save). A failed
  validation still stores the archive, marked ``validation_passed=False``. Any exception →
  ERROR with ``error_code``/``error_message``, no file left behind, audit
  ``exports.dsfinvk_export.failed``.
- ``schedule_monthly_exports`` (beat, day 2 of a month): one SCHEDULED export of the previous Berlin
  month for every operator that closed in it, unless one exists (failed ones are retried).
"""

import hashlib
import json
import logging
import os
import re
import tempfile
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.models import (
    CashPointClosing,
    CashRegister,
    ClosingState,
    DsfinvkExport,
    DsfinvkExportKind,
    DsfinvkExportState,
)
from portal.services.audit import log_action, register_action_labels

__all__ = [
    "FINISHED_STATES",
    "ExportRequestError",
    "berlin_day_bounds",
    "closing_records",
    "completed_closings",
    "export_file_name",
    "export_filters",
    "nachschau_range",
    "open_export_file",
    "organization_exports",
    "previous_month",
    "request_export",
    "retention_date",
    "run_export",
    "schedule_monthly_exports",
    "validation_summary",
]

logger = logging.getLogger(__name__)

register_action_labels({
    "exports.dsfinvk_export.requested": _("DSFinV-K export requested"),
    "exports.dsfinvk_export.completed": _("DSFinV-K export stored"),
    "exports.dsfinvk_export.failed": _("DSFinV-K export failed"),
})

BERLIN = ZoneInfo("Europe/Berlin")
FINISHED_STATES = (DsfinvkExportState.COMPLETED, DsfinvkExportState.ERROR)
CHUNK_SIZE = 10  # closings per round trip: each holds a whole closing document (~2.5 MB at 1,000 receipts)
WRITE_SHARE = 90  # progress 0–90 % while writing, 90–99 % while validating, 100 when stored
VALIDATED = 99
PROGRESS_STEP = 2  # store the progress when it advanced this many percent …
PROGRESS_INTERVAL = 0.5  # … or this many seconds passed since the last store
COPY_CHUNK = 1024 * 1024
# Redis (the broker) serves priority 0 first; a Kassen-Nachschau goes before everything else.
TASK_PRIORITY = {DsfinvkExportKind.NACHSCHAU: 0, DsfinvkExportKind.ON_DEMAND: 3, DsfinvkExportKind.SCHEDULED: 6}


class ExportRequestError(Exception):
    """A request that cannot be exported; ``code`` is stable (``E_…``), ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# --- selecting closings -----------------------------------------------------------------------


def berlin_day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC instants ``[start, end)`` covering the Berlin calendar days ``date_from`` … ``date_to`` (inclusive)."""
    start = datetime.combine(date_from, time.min, tzinfo=BERLIN).astimezone(UTC) if date_from else None
    end = (datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=BERLIN).astimezone(UTC)
           if date_to else None)
    return start, end


def _register_ids(cash_registers) -> list[int]:
    return sorted({getattr(register, "pk", register) for register in cash_registers or ()})


def completed_closings(organization, *, cash_registers=None, date_from=None, date_to=None, z_nr_from=None,
                       z_nr_to=None):
    """The COMPLETED closings of ``organization`` matching the filters (unordered queryset)."""
    closings = CashPointClosing.objects.filter(organization=organization, state=ClosingState.COMPLETED)
    register_ids = _register_ids(cash_registers)
    if register_ids:
        closings = closings.filter(cash_register_id__in=register_ids)
    start, end = berlin_day_bounds(date_from, date_to)
    if start is not None:
        closings = closings.filter(export_creation_date__gte=start)
    if end is not None:
        closings = closings.filter(export_creation_date__lt=end)
    if z_nr_from is not None:
        closings = closings.filter(z_nr__gte=z_nr_from)
    if z_nr_to is not None:
        closings = closings.filter(z_nr__lte=z_nr_to)
    return closings


def closing_records(organization, *, cash_registers=None, date_from=None, date_to=None, z_nr_from=None,
                    z_nr_to=None) -> Iterator:
    """The matching closings as ``ClosingRecord``, sorted by (Z_KASSE_ID, Z_NR), streamed from the database.

    Only the columns the writer needs are read, ``CHUNK_SIZE`` closings at a time (a server-side
    cursor on PostgreSQL), so memory stays flat in the number of closings.
    """
    from exports.dsfinvk.writer import ClosingRecord

    rows = (completed_closings(organization, cash_registers=cash_registers, date_from=date_from, date_to=date_to,
                               z_nr_from=z_nr_from, z_nr_to=z_nr_to)
            .order_by("cash_register__client__client_id", "cash_register_id", "z_nr")
            .values_list("cash_register__client__client_id", "z_erstellung", "z_nr", "revision__data", "document"))
    for kasse_id, z_erstellung, z_nr, master, document in rows.iterator(chunk_size=CHUNK_SIZE):
        if master is None or document is None:
            raise ExportRequestError("E_CLOSING_INCOMPLETE", gettext(
                "Closing %(z_nr)s of cash register %(kasse)s has no master data or no document.")
                % {"z_nr": z_nr, "kasse": kasse_id})
        yield ClosingRecord(z_kasse_id=kasse_id, z_erstellung=z_erstellung, z_nr=int(z_nr), master=master,
                            document=document)


def export_filters(export: DsfinvkExport) -> dict:
    """The filters of a stored export as keyword arguments of ``closing_records`` / ``completed_closings``."""
    return {"cash_registers": list(export.cash_registers.values_list("pk", flat=True)),
            "date_from": export.date_from, "date_to": export.date_to,
            "z_nr_from": export.z_nr_from, "z_nr_to": export.z_nr_to}


def organization_exports(organization):
    """The exports of an operator, newest first (pages and API lists)."""
    return (DsfinvkExport.objects.filter(organization=organization)
            .select_related("requested_by", "organization").prefetch_related("cash_registers__client")
            .order_by("-created_at", "-pk"))


# --- requesting -------------------------------------------------------------------------------


def _berlin_today() -> date:
    return timezone.now().astimezone(BERLIN).date()


def nachschau_range(today: date | None = None) -> tuple[date, date]:
    """A Kassen-Nachschau exports the current and the previous calendar year: 1 January last year … today."""
    today = today or _berlin_today()
    return date(today.year - 1, 1, 1), today


def _invalid(message) -> ExportRequestError:
    return ExportRequestError("E_VALIDATION", str(message))


def _check_number(value, label) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _invalid(gettext("The %(field)s must be a whole number of at least 0.") % {"field": label})


def _check_filters(registers, date_from, date_to, z_nr_from, z_nr_to) -> None:
    for value in (date_from, date_to):
        if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
            raise _invalid(gettext("Days of an export must be calendar dates."))
    _check_number(z_nr_from, gettext("first closing number (Z_NR)"))
    _check_number(z_nr_to, gettext("last closing number (Z_NR)"))
    has_days = date_from is not None or date_to is not None
    has_numbers = z_nr_from is not None or z_nr_to is not None
    if has_days and has_numbers:
        raise _invalid(gettext("Choose either a range of days or a range of closing numbers (Z_NR), not both."))
    if date_from is not None and date_to is not None and date_from > date_to:
        raise _invalid(gettext("The first day must not be after the last day."))
    if z_nr_from is not None and z_nr_to is not None and z_nr_from > z_nr_to:
        raise _invalid(gettext("The first closing number must not be greater than the last one."))
    if has_numbers and len(registers) != 1:
        raise _invalid(gettext("A range of closing numbers (Z_NR) needs exactly one cash register."))


def _resolve_registers(organization, cash_registers) -> list[CashRegister]:
    wanted = _register_ids(cash_registers)
    if not wanted:
        return []
    found = list(CashRegister.objects.filter(organization=organization, pk__in=wanted).order_by("pk"))
    if len(found) != len(wanted):
        raise ExportRequestError("E_CASH_REGISTER_NOT_FOUND",
                                 gettext("A chosen cash register does not exist at this operator."), status=404)
    return found


def request_fingerprint(kind, registers, date_from, date_to, z_nr_from, z_nr_to) -> str:
    """SHA-256 of the normalised request (the idempotency key when the caller gives no ``request_hash``)."""
    data = {"kind": str(kind), "cash_registers": sorted(str(r.public_id) for r in registers),
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None, "z_nr_from": z_nr_from, "z_nr_to": z_nr_to}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def _replay(existing: DsfinvkExport, organization, request_hash: str) -> DsfinvkExport:
    if existing.organization_id != organization.pk or existing.request_hash != request_hash:
        raise ExportRequestError("E_EXPORT_CONFLICT",
                                 gettext("An export with this id already exists with another request."), status=409)
    return existing


def _requesting_user(actor):
    """The person behind ``actor`` (an ``Actor``, a user or ``None``); ``None`` for API keys and the system."""
    from tenants.models import User

    user = actor.user if hasattr(actor, "member_roles") else actor
    return user if isinstance(user, User) and user.is_authenticated else None


def _queue(export: DsfinvkExport) -> None:
    from exports.tasks.archives import export_dsfinvk_task

    kwargs = {"organization_id": export.organization_id, "export_id": export.pk}
    priority = TASK_PRIORITY[export.kind]
    transaction.on_commit(lambda: export_dsfinvk_task.apply_async(kwargs=kwargs, priority=priority))


def request_export(*, actor, organization, kind=DsfinvkExportKind.ON_DEMAND, cash_registers=(), date_from=None,
                   date_to=None, z_nr_from=None, z_nr_to=None, export_id=None, request_hash="") -> DsfinvkExport:
    """Store a PENDING export of ``organization`` and queue it after the commit.

    ``cash_registers``: ids or objects (none = all). Raises ``ExportRequestError``: ``E_VALIDATION``,
    ``E_CASH_REGISTER_NOT_FOUND`` / ``E_CASH_POINT_CLOSING_NOT_FOUND`` (404), ``E_EXPORT_CONFLICT`` (409).
    """
    kind = DsfinvkExportKind(kind)
    registers = _resolve_registers(organization, cash_registers)
    if kind == DsfinvkExportKind.NACHSCHAU:
        if registers or any(value is not None for value in (date_from, date_to, z_nr_from, z_nr_to)):
            raise _invalid(gettext("A Kassen-Nachschau export always covers all cash registers; it takes no filters."))
        date_from, date_to = nachschau_range()
    _check_filters(registers, date_from, date_to, z_nr_from, z_nr_to)
    request_hash = request_hash or request_fingerprint(kind, registers, date_from, date_to, z_nr_from, z_nr_to)
    if export_id is not None:
        existing = DsfinvkExport.unscoped.filter(public_id=export_id).first()
        if existing is not None:
            return _replay(existing, organization, request_hash)
    filters = {"date_from": date_from, "date_to": date_to, "z_nr_from": z_nr_from, "z_nr_to": z_nr_to}
    if not completed_closings(organization, cash_registers=registers, **filters).exists():
        raise ExportRequestError("E_CASH_POINT_CLOSING_NOT_FOUND",
                                 gettext("No accepted cash point closing matches this export."), status=404)
    export = DsfinvkExport(organization=organization, kind=kind, requested_by=_requesting_user(actor),
                           request_hash=request_hash, **filters)
    if export_id is not None:
        export.public_id = export_id
    try:
        with transaction.atomic():
            export.save()
            export.cash_registers.set(registers)
            log_action("exports.dsfinvk_export.requested", actor, organization, export, data={
                "kind": str(kind), "cash_registers": [r.kasse_id for r in registers],
                "date_from": date_from.isoformat() if date_from else None,
                "date_to": date_to.isoformat() if date_to else None, "z_nr_from": z_nr_from, "z_nr_to": z_nr_to,
            })
            _queue(export)
    except IntegrityError:
        existing = DsfinvkExport.unscoped.filter(public_id=export_id).first() if export_id is not None else None
        if existing is None:
            raise
        return _replay(existing, organization, request_hash)  # a concurrent request with the same id won
    return export


# --- running ----------------------------------------------------------------------------------


class _ProgressRecorder:
    """The writer's ``progress(n)``: closings written → 0–90 %, stored by UPDATE at most every 2 % / 500 ms."""

    def __init__(self, export_pk: int, total: int):
        self.export_pk = export_pk
        self.total = total
        self.stored = 0
        self.stored_at = clock.monotonic()

    def percent(self, written: int) -> int:
        if self.total <= 0:
            return WRITE_SHARE
        return max(0, min(WRITE_SHARE, WRITE_SHARE * written // self.total))

    def __call__(self, written: int) -> None:
        percent = self.percent(written)
        now = clock.monotonic()
        if percent <= self.stored:
            return
        if percent - self.stored < PROGRESS_STEP and now - self.stored_at < PROGRESS_INTERVAL:
            return
        self.stored, self.stored_at = percent, now
        _set_progress(self.export_pk, percent)


def _set_progress(export_pk: int, percent: int) -> None:
    DsfinvkExport.unscoped.filter(pk=export_pk, state=DsfinvkExportState.WORKING).update(progress=percent)


class _HashingReader:
    """A read-only view of the temporary archive that hashes what the storage copies.

    The hash is valid when the bytes were read once, in order, from the start (``seek(0)``
    restarts it); a storage that reads otherwise leaves ``complete`` false and the caller hashes
    the file itself.
    """

    def __init__(self, fileobj, size: int):
        self.fileobj = fileobj
        self.size = size
        self._restart(0)

    def _restart(self, position: int) -> None:
        self.sha256 = hashlib.sha256()
        self.copied = 0
        self.in_order = position == 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self.fileobj.seek(offset, whence)
        self._restart(position)
        return position

    def tell(self) -> int:
        return self.fileobj.tell()

    def read(self, size: int = -1) -> bytes:
        data = self.fileobj.read(size)
        self.sha256.update(data)
        self.copied += len(data)
        return data

    @property
    def complete(self) -> bool:
        return self.in_order and self.copied == self.size

    def hexdigest(self) -> str:
        if self.complete:
            return self.sha256.hexdigest()
        self.fileobj.seek(0)
        digest = hashlib.sha256()
        while data := self.fileobj.read(COPY_CHUNK):
            digest.update(data)
        return digest.hexdigest()


@dataclass
class _Written:
    summary: object
    newest: datetime | None


def retention_date(newest_closing: datetime | None) -> date:
    """31 December of (the Berlin year of the newest closing + ``DSFINVK_RETENTION_YEARS``), § 147 (3), (4) AO."""
    year = newest_closing.astimezone(BERLIN).year if newest_closing is not None else _berlin_today().year
    return date(year + settings.DSFINVK_RETENTION_YEARS, 12, 31)


def _error_of(exc: Exception) -> tuple[str, str]:
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code.startswith("E_"):
        return code, str(getattr(exc, "message", None) or exc)
    # details of unexpected errors (paths, hosts) stay in the log; the row says what kind of error it was
    return "E_EXPORT_FAILED", gettext("The export failed unexpectedly (%(error)s).") % {"error": type(exc).__name__}


def _fail(export_pk: int, exc: Exception) -> DsfinvkExport:
    logger.error("DSFinV-K export %s failed", export_pk, exc_info=exc)
    code, message = _error_of(exc)
    with transaction.atomic():
        changed = (DsfinvkExport.unscoped.filter(pk=export_pk).exclude(state=DsfinvkExportState.COMPLETED)
                   .update(state=DsfinvkExportState.ERROR, error_code=code[:40], error_message=message[:2000],
                           finished_at=timezone.now()))
        export = DsfinvkExport.unscoped.select_related("organization").get(pk=export_pk)
        if changed:
            log_action("exports.dsfinvk_export.failed", None, export.organization, export,
                       data={"error_code": export.error_code, "error_message": export.error_message})
    return export


def run_export(export_pk: int) -> DsfinvkExport:
    """Write, validate and store one export (the body of ``exports.export_dsfinvk``); finished ones stay as they are."""
    with transaction.atomic():
        export = DsfinvkExport.unscoped.select_for_update().select_related("organization").get(pk=export_pk)
        if export.state in FINISHED_STATES:
            return export
        export.state = DsfinvkExportState.WORKING
        export.started_at = timezone.now()
        export.progress = 0
        export.save(update_fields=["state", "started_at", "progress"])
    try:
        with tempfile.NamedTemporaryFile(prefix="dsfinvk-", suffix=".zip") as temporary:
            written = _write(export, temporary)
            report = _validate(export, temporary)
            return _store(export, temporary, written, report)
    except Exception as exc:
        return _fail(export_pk, exc)


def _write(export: DsfinvkExport, temporary) -> _Written:
    from exports.dsfinvk.writer import write_export

    filters = export_filters(export)
    closings = completed_closings(export.organization, **filters)
    total = closings.count()
    newest = closings.aggregate(newest=Max("export_creation_date"))["newest"]
    summary = write_export(closing_records(export.organization, **filters), temporary,
                           progress=_ProgressRecorder(export.pk, total))
    temporary.flush()
    return _Written(summary=summary, newest=newest)


def _validate(export: DsfinvkExport, temporary):
    from exports.dsfinvk.validator import validate_export

    _set_progress(export.pk, WRITE_SHARE)
    report = validate_export(temporary.name)
    _set_progress(export.pk, VALIDATED)
    return report


def _store(export: DsfinvkExport, temporary, written: _Written, report) -> DsfinvkExport:
    temporary.seek(0)
    reader = _HashingReader(temporary, os.fstat(temporary.fileno()).st_size)
    storage = export.file.storage
    stored_name = None
    try:
        with transaction.atomic():
            current = DsfinvkExport.unscoped.select_for_update().select_related("organization").get(pk=export.pk)
            if current.state in FINISHED_STATES:
                return current  # another run of the same export finished first
            current.file.save(f"{current.public_id}.zip", File(reader, name=f"{current.public_id}.zip"), save=False)
            stored_name = current.file.name
            if storage.size(stored_name) != reader.size:
                raise ExportRequestError("E_EXPORT_STORAGE", gettext("The archive was not stored completely."))
            current.sha256 = reader.hexdigest()
            current.size = reader.size
            current.closing_count = written.summary.closings
            current.transaction_count = written.summary.transactions
            current.validation_passed = bool(report.passed)
            current.validation_report = report.as_json()
            current.retain_until = retention_date(written.newest)
            current.progress = 100
            current.state = DsfinvkExportState.COMPLETED
            current.finished_at = timezone.now()
            current.error_code = ""
            current.error_message = ""
            current.save()
            log_action("exports.dsfinvk_export.completed", None, current.organization, current, data={
                "sha256": current.sha256, "size": current.size, "closings": current.closing_count,
                "validation_passed": current.validation_passed})
    except BaseException:
        if stored_name:
            storage.delete(stored_name)
        raise
    return current


def validation_summary(export: DsfinvkExport, shown: int = 50) -> dict | None:
    """``{passed, finding_count, findings (the first ``shown``)}`` of a stored archive; None before."""
    if export.state != DsfinvkExportState.COMPLETED or export.validation_passed is None:
        return None
    report = export.validation_report if isinstance(export.validation_report, dict) else {}
    findings = list(report.get("findings") or [])
    return {"passed": bool(export.validation_passed),
            "finding_count": len(findings) + int(report.get("truncated") or 0),
            "findings": findings[:shown]}


def export_file_name(export: DsfinvkExport) -> str:
    """The download name: ``dsfinvk_<days or register and Z_NR range>_<export id prefix>.zip``."""
    if export.z_nr_from is not None or export.z_nr_to is not None:
        register = export.cash_registers.select_related("client").first()
        span = "{}_Z{}-{}".format(register.kasse_id if register else "", export.z_nr_from if export.z_nr_from
                                  is not None else "", export.z_nr_to if export.z_nr_to is not None else "")
    elif export.date_from or export.date_to:
        span = "{}-{}".format(f"{export.date_from:%Y%m%d}" if export.date_from else "",
                              f"{export.date_to:%Y%m%d}" if export.date_to else "")
    else:
        span = f"{export.created_at.astimezone(BERLIN):%Y%m%d}"
    span = re.sub(r"[^A-Za-z0-9_.-]+", "_", span).strip("_") or "all"
    return f"dsfinvk_{span}_{str(export.public_id)[:8]}.zip"


def open_export_file(export: DsfinvkExport):
    """The stored archive of a COMPLETED export, opened for reading (``E_EXPORT_NOT_READY`` otherwise)."""
    if export.state != DsfinvkExportState.COMPLETED or not export.file:
        raise ExportRequestError("E_EXPORT_NOT_READY", gettext("The export is not completed."), status=409)
    return export.file.storage.open(export.file.name, "rb")


# --- monthly schedule -------------------------------------------------------------------------


def previous_month(today: date | None = None) -> tuple[date, date]:
    """First and last day of the calendar month before ``today`` (a Berlin date)."""
    today = today or _berlin_today()
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def schedule_monthly_exports(today: date | None = None) -> int:
    """Request the SCHEDULED export of the previous month for every operator that closed in it; returns how many.

    Idempotent: under a lock on the organization row an existing scheduled export of exactly that
    month (not failed) is looked for first; a failed one is requested again.
    """
    from tenants.models import Organization

    date_from, date_to = previous_month(today)
    start, end = berlin_day_bounds(date_from, date_to)
    # a system job over all tenants: the one place that reads across organizations
    organization_ids = list(CashPointClosing.unscoped.filter(
        state=ClosingState.COMPLETED, export_creation_date__gte=start, export_creation_date__lt=end)
        .order_by("organization_id").values_list("organization_id", flat=True).distinct())
    created = 0
    for organization_id in organization_ids:
        with transaction.atomic():
            organization = Organization.unscoped.select_for_update(no_key=True).get(pk=organization_id)
            existing = DsfinvkExport.unscoped.filter(
                organization=organization, kind=DsfinvkExportKind.SCHEDULED, date_from=date_from, date_to=date_to,
                z_nr_from__isnull=True, z_nr_to__isnull=True).exclude(state=DsfinvkExportState.ERROR)
            if existing.exists():
                continue
            request_export(actor=None, organization=organization, kind=DsfinvkExportKind.SCHEDULED,
                           date_from=date_from, date_to=date_to)
            created += 1
    return created
