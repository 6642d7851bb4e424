"""TAR export jobs of signing units (TR-03153): request, run in the worker, schedule monthly, remind.

- ``request_export`` validates the filters, stores a ``TarExport`` (state ``pending``), writes the
  audit entry ``tse.export.requested`` and sends the task ``tse.export_tar`` after the commit. With
  a ``public_id`` (the API's client-chosen export id) a repeated request with the same filters
  returns the stored export; other filters are ``E_EXPORT_CONFLICT`` (409).
- ``run_export`` is the task body: it always goes through the unit's backend (``get_backend(unit)
  .export``), writes into a temporary file and only then stores the archive in the default storage
  with its SHA-256, size and counters. A failure leaves the export ``failed`` with its error and
  without a file. Finished exports (completed or failed) are never run again.
- ``schedule_monthly_exports`` creates one export of the previous calendar month (Europe/Berlin)
  for every initialized or disabled unit with log messages, unless the month is already exported.
- ``export_overdue`` / ``overdue_units`` tell the dashboard which units lack a recent export
  (``TSE_EXPORT_REMINDER_DAYS``).
"""

import logging
import tempfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exports.services.export_jobs import retention_date
from portal.celery import enqueue
from portal.services.audit import log_action, register_action_labels
from tse.backends.base import TseError
from tse.backends.software import SoftwareTse
from tse.models import ExportState, LogMessage, SigningUnit, SigningUnitState, TarExport, TseClient
from tse.services.signing_units import get_backend
from tse.services.tar_export import HashingWriter

__all__ = [
    "FINISHED_STATES",
    "export_overdue",
    "export_retention_date",
    "last_completed_export",
    "open_export_file",
    "overdue_units",
    "previous_month",
    "request_export",
    "run_export",
    "schedule_monthly_exports",
    "unit_exports",
]

logger = logging.getLogger(__name__)

register_action_labels({
    "tse.export.requested": _("TAR export of a signing unit (TSE) requested"),
})

BERLIN = ZoneInfo("Europe/Berlin")
FINISHED_STATES = (ExportState.COMPLETED, ExportState.FAILED)
EXPORTABLE_STATES = (SigningUnitState.INITIALIZED, SigningUnitState.DISABLED)
PROGRESS_STEP = 5  # store the progress at most every 5 %


# --- requesting -------------------------------------------------------------------------------


def _check_number(value, label) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise TseError("E_VALIDATION", gettext("The %(field)s must be a whole number of at least 0.")
                       % {"field": label})


def _validate(signing_unit, *, start_time, end_time, start_transaction_number, end_transaction_number,
              client_id) -> None:
    if signing_unit.state == SigningUnitState.UNINITIALIZED:
        raise TseError("E_TSS_NOT_INITIALIZED",
                       gettext("The TSE is not initialized yet, so there is nothing to export."), status=409)
    for value in (start_time, end_time):
        if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
            raise TseError("E_VALIDATION", gettext("Times of an export must be given with their time zone."))
    if start_time is not None and end_time is not None and start_time > end_time:
        raise TseError("E_VALIDATION", gettext("The start of the time range must not be after its end."))
    _check_number(start_transaction_number, gettext("first transaction number"))
    _check_number(end_transaction_number, gettext("last transaction number"))
    if (start_transaction_number is not None and end_transaction_number is not None
            and start_transaction_number > end_transaction_number):
        raise TseError("E_VALIDATION",
                       gettext("The first transaction number must not be greater than the last one."))
    if client_id and not TseClient.unscoped.filter(signing_unit=signing_unit, client_id=client_id).exists():
        raise TseError("E_CLIENT_NOT_FOUND",
                       gettext("The POS %(client_id)s is not known at this TSE.") % {"client_id": client_id})


def _same_request(export: TarExport, signing_unit, values: dict) -> bool:
    return export.signing_unit_id == signing_unit.pk and all(
        getattr(export, name) == value for name, value in values.items())


def _conflict():
    return TseError("E_EXPORT_CONFLICT",
                    gettext("An export with this id already exists with other filters."), status=409)


def _requesting_user(actor):
    """The user behind ``actor`` (an ``Actor``, a user or ``None``); ``None`` for API keys and the system."""
    from tenants.models import User

    user = actor.user if hasattr(actor, "member_roles") else actor
    if isinstance(user, User) and user.is_authenticated:
        return user
    return None


def request_export(*, actor, signing_unit: SigningUnit, start_time: datetime | None = None,
                   end_time: datetime | None = None, start_transaction_number: int | None = None,
                   end_transaction_number: int | None = None, client_id: str = "", scheduled: bool = False,
                   public_id=None) -> TarExport:
    """Store a pending TAR export of ``signing_unit`` and send it to the ``exports`` queue after commit.

    Raises ``TseError`` (``E_VALIDATION``, ``E_CLIENT_NOT_FOUND``, ``E_TSS_NOT_INITIALIZED``,
    ``E_EXPORT_CONFLICT``). With ``public_id`` the call is idempotent for the same filters.
    """
    from tse.tasks.exports import export_tar_task

    client_id = client_id or ""
    values = {"start_time": start_time, "end_time": end_time,
              "start_transaction_number": start_transaction_number,
              "end_transaction_number": end_transaction_number, "client_id": client_id}
    if public_id is not None:
        existing = TarExport.unscoped.filter(public_id=public_id).first()
        if existing is not None:
            if not _same_request(existing, signing_unit, values):
                raise _conflict()
            return existing
    _validate(signing_unit, **values)
    export = TarExport(organization_id=signing_unit.organization_id, signing_unit=signing_unit,
                       requested_by=_requesting_user(actor), scheduled=scheduled, **values)
    if public_id is not None:
        export.public_id = public_id
    try:
        with transaction.atomic():
            export.save()
            log_action("tse.export.requested", actor, signing_unit.organization, export, data={
                "signing_unit": str(signing_unit.public_id), "scheduled": scheduled,
                "start_time": start_time.isoformat() if start_time else None,
                "end_time": end_time.isoformat() if end_time else None,
                "start_transaction_number": start_transaction_number,
                "end_transaction_number": end_transaction_number, "client_id": client_id,
            })
            enqueue(export_tar_task, organization_id=signing_unit.organization_id, export_id=export.pk)
    except IntegrityError:
        # a concurrent request with the same public id won the race
        existing = TarExport.unscoped.filter(public_id=public_id).first() if public_id is not None else None
        if existing is None:
            raise
        if not _same_request(existing, signing_unit, values):
            raise _conflict() from None
        return existing
    return export


def unit_exports(signing_unit):
    """The exports of a unit, newest first (for the detail page)."""
    return TarExport.unscoped.filter(signing_unit=signing_unit).select_related("requested_by").order_by(
        "-created_at", "-pk")


# --- running ----------------------------------------------------------------------------------


class _ProgressRecorder:
    def __init__(self, export_id: int):
        self.export_id = export_id
        self.stored = 0

    def __call__(self, percent: int) -> None:
        percent = max(0, min(int(percent), 100))
        if percent >= 100 or percent - self.stored < PROGRESS_STEP:
            return  # 100 is written together with the result
        self.stored = percent
        TarExport.unscoped.filter(pk=self.export_id, state=ExportState.RUNNING).update(progress=percent)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, TseError):
        return f"{exc.code}: {exc.message}"
    # details of unexpected errors (paths, hosts) stay in the log; the row says what kind of error it was
    return "E_EXPORT_FAILED: " + gettext("The export failed unexpectedly (%(error)s).") % {
        "error": type(exc).__name__}


def _fail(export_id: int, exc: Exception) -> TarExport:
    logger.error("TAR export %s failed", export_id, exc_info=exc)
    TarExport.unscoped.filter(pk=export_id).exclude(state=ExportState.COMPLETED).update(
        state=ExportState.FAILED, error_message=_error_text(exc)[:2000], finished_at=timezone.now())
    return TarExport.unscoped.get(pk=export_id)


def run_export(export_id: int) -> TarExport:
    """Write the archive of one export (the body of ``tse.export_tar``); finished exports are left alone."""
    with transaction.atomic():
        export = (TarExport.unscoped.select_for_update().select_related("signing_unit__organization")
                  .get(pk=export_id))
        if export.state in FINISHED_STATES:
            return export
        export.state = ExportState.RUNNING
        export.started_at = timezone.now()
        export.progress = 0
        export.error_message = ""
        export.save(update_fields=["state", "started_at", "progress", "error_message"])
    try:
        with tempfile.NamedTemporaryFile(suffix=".tar") as temporary:
            result, sink = _write(export, temporary)
            return _store(export, temporary, result, sink)
    except Exception as exc:
        return _fail(export_id, exc)


def _write(export: TarExport, temporary):
    backend = get_backend(export.signing_unit)
    filters = dict(export.filters)
    if isinstance(backend, SoftwareTse):
        filters["progress"] = _ProgressRecorder(export.pk)
        filters["export_time"] = export.started_at
    sink = HashingWriter(temporary)
    result = backend.export(sink, **filters)
    temporary.flush()
    if (result.sha256, result.size) != (sink.sha256.hexdigest(), sink.size):
        raise TseError("E_EXPORT_CHECKSUM", gettext("The archive written does not match the checksum of the TSE."))
    return result, sink


def _store(export: TarExport, temporary, result, sink) -> TarExport:
    temporary.seek(0)
    storage = export.file.storage
    target = export.file.field.generate_filename(export, f"{export.public_id}.tar")
    target_existed = storage.exists(target)
    stored_name = None
    try:
        with transaction.atomic():
            current = TarExport.unscoped.select_for_update().get(pk=export.pk)
            if current.state in FINISHED_STATES:
                return current  # another run of the same export finished first
            current.file.save(target, File(temporary), save=False)
            stored_name = current.file.name
            current.sha256 = sink.sha256.hexdigest()
            current.size = sink.size
            current.log_count = result.log_count
            current.first_signature_counter = result.first_signature_counter
            current.last_signature_counter = result.last_signature_counter
            current.progress = 100
            current.state = ExportState.COMPLETED
            current.finished_at = timezone.now()
            current.retain_until = export_retention_date(current)
            current.error_message = ""
            current.save()
    except BaseException:
        if stored_name:
            storage.delete(stored_name)
        elif not target_existed and storage.exists(target):
            storage.delete(target)  # a partly written file of a failed storage write
        raise
    return current


def export_retention_date(export: TarExport):
    """31 December of the 10th year after the newest data of the export: its end time, at most its finish time."""
    newest = export.finished_at or timezone.now()
    if export.end_time is not None and export.end_time < newest:
        newest = export.end_time
    return retention_date(newest)


def open_export_file(export: TarExport):
    """The stored archive of a completed export, opened for reading (``E_EXPORT_NOT_READY`` otherwise)."""
    if export.state != ExportState.COMPLETED or not export.file:
        raise TseError("E_EXPORT_NOT_READY", gettext("The export is not completed yet."), status=409)
    return export.file.storage.open(export.file.name, "rb")


# --- monthly schedule and reminders -----------------------------------------------------------


def previous_month(now: datetime | None = None) -> tuple[datetime, datetime]:
    """First and last instant (inclusive, UTC) of the calendar month before ``now`` in Europe/Berlin."""
    local = (now or timezone.now()).astimezone(BERLIN)
    this_month = datetime(local.year, local.month, 1, tzinfo=BERLIN)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    start = datetime(year, month, 1, tzinfo=BERLIN)
    return start.astimezone(UTC), (this_month - timedelta(microseconds=1)).astimezone(UTC)


def schedule_monthly_exports(now: datetime | None = None) -> int:
    """Create the scheduled export of the previous month for every exportable unit; returns how many."""
    start, end = previous_month(now)
    has_logs = LogMessage.unscoped.filter(signing_unit=OuterRef("pk"))
    unit_ids = list(SigningUnit.unscoped.filter(state__in=EXPORTABLE_STATES).filter(Exists(has_logs))
                    .order_by("pk").values_list("pk", flat=True))
    created = 0
    for unit_id in unit_ids:
        with transaction.atomic():
            locked = (SigningUnit.unscoped.select_for_update(of=("self",), no_key=True)
                      .select_related("organization").get(pk=unit_id))
            done = TarExport.unscoped.filter(
                signing_unit=locked, start_time=start, end_time=end, start_transaction_number__isnull=True,
                end_transaction_number__isnull=True, client_id="").exclude(state=ExportState.FAILED)
            if done.exists():
                continue
            request_export(actor=None, signing_unit=locked, start_time=start, end_time=end, scheduled=True)
            created += 1
    return created


def last_completed_export(unit: SigningUnit) -> TarExport | None:
    return (TarExport.unscoped.filter(signing_unit=unit, state=ExportState.COMPLETED)
            .order_by("-finished_at", "-pk").first())


def _reminder_cutoff(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.TSE_EXPORT_REMINDER_DAYS)


def export_overdue(unit: SigningUnit, now: datetime | None = None) -> bool:
    """The unit has log messages and no export completed within ``TSE_EXPORT_REMINDER_DAYS``."""
    if not LogMessage.unscoped.filter(signing_unit=unit).exists():
        return False
    return not TarExport.unscoped.filter(signing_unit=unit, state=ExportState.COMPLETED,
                                         finished_at__gte=_reminder_cutoff(now)).exists()


def overdue_units(organization, now: datetime | None = None):
    """The organization's units for which an export is overdue (see ``export_overdue``), oldest first."""
    recent = TarExport.unscoped.filter(signing_unit=OuterRef("pk"), state=ExportState.COMPLETED,
                                       finished_at__gte=_reminder_cutoff(now))
    has_logs = LogMessage.unscoped.filter(signing_unit=OuterRef("pk"))
    return (SigningUnit.unscoped.filter(organization=organization).filter(Exists(has_logs))
            .exclude(Exists(recent)).order_by("created_at", "pk"))
