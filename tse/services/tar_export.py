"""The TR-03153 TAR export of a signing unit (tse.md §4), written as a stream.

- POSIX ustar, regular files only, no directories, every header's mtime = the export time.
- Members in a deterministic order: ``info.csv``, the certificate ``<serial>_X509.pem``, then the
  log messages by ascending signature counter, each stored byte for byte as signed.
- Filters: a log-time range, a transaction-number range and a client id. With a transaction or
  client filter the system and audit logs whose signature counters fall inside the counter
  interval covered by the selected transaction logs are included as well, so the export stays
  gap-checkable (tse.md §4.5).
- Rows are read with ``.iterator()`` and written one member at a time, so memory stays flat in
  the number of log messages; the SHA-256 of the archive is computed on the way out.

Member names are unique within one signing unit (they contain the signature counter), so the
``_Fc-<n>`` suffix of §4.2 never applies to an export of one unit.
"""

import hashlib
import io
import tarfile
from collections.abc import Callable
from datetime import datetime

from django.db.models import Max, Min, Q
from django.utils import timezone

from tse.backends.base import ExportResult
from tse.models import LogMessage, LogMessageKind

__all__ = ["HashingWriter", "build_info_csv", "write_tar_export"]

MANUFACTURER = "Kassenportal"
SOFTWARE_VERSION = "Kassenportal Software-TSE 1 (TR-03151 log format v2, NOT CERTIFIED)"
CHUNK_SIZE = 500


class HashingWriter:
    """A write-only file object that forwards to ``target`` and keeps size and SHA-256."""

    def __init__(self, target):
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        data = bytes(data)
        self.sha256.update(data)
        self.target.write(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        if hasattr(self.target, "flush"):
            self.target.flush()


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def build_info_csv(signing_unit) -> bytes:
    """The v2 info.csv: one quoted line with description, manufacturer and version, LF."""
    description = signing_unit.description or f"Kassenportal TSE {signing_unit.serial_number}"
    version = SOFTWARE_VERSION if signing_unit.backend == "software" else signing_unit.backend
    values = ["description:", description, "manufacturer:", MANUFACTURER, "version:", version]
    return (",".join(_quote(v) for v in values) + "\n").encode("utf-8")


def _selected_logs(signing_unit, *, time_from, time_to, transaction_from, transaction_to, client_id):
    logs = LogMessage.unscoped.filter(signing_unit=signing_unit)
    if time_from is not None:
        logs = logs.filter(log_time__gte=time_from)
    if time_to is not None:
        logs = logs.filter(log_time__lte=time_to)
    if transaction_from is not None or transaction_to is not None or client_id:
        selected = Q(kind=LogMessageKind.TRANSACTION)
        if transaction_from is not None:
            selected &= Q(transaction_number__gte=transaction_from)
        if transaction_to is not None:
            selected &= Q(transaction_number__lte=transaction_to)
        if client_id:
            selected &= Q(client_id=client_id)
        bounds = logs.filter(selected).aggregate(low=Min("signature_counter"), high=Max("signature_counter"))
        if bounds["low"] is not None:
            selected |= ~Q(kind=LogMessageKind.TRANSACTION) & Q(
                signature_counter__gte=bounds["low"], signature_counter__lte=bounds["high"])
        logs = logs.filter(selected)
    return logs.order_by("signature_counter")


def _member(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _report(progress: Callable[[int], None], percent: int, reported: int) -> int:
    if percent > reported:
        progress(percent)
        return percent
    return reported


def write_tar_export(signing_unit, fileobj, *, time_from: datetime | None = None, time_to: datetime | None = None,
                     transaction_from: int | None = None, transaction_to: int | None = None,
                     client_id: str | None = None, export_time: datetime | None = None,
                     progress: Callable[[int], None] | None = None) -> ExportResult:
    """Write the TAR of ``signing_unit`` to ``fileobj`` and return its SHA-256, size and counters.

    ``progress`` (optional) is called with the percentage written (0 … 100, each value at most
    once, ascending) while the log messages stream; it does not change the bytes written.
    """
    mtime = int((export_time or timezone.now()).timestamp())
    out = HashingWriter(fileobj)
    count, first, last = 0, None, None
    reported = -1
    with tarfile.TarFile(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info_csv = build_info_csv(signing_unit)
        archive.addfile(_member("info.csv", len(info_csv), mtime), io.BytesIO(info_csv))
        if signing_unit.certificate:
            certificate = signing_unit.certificate.encode("ascii")
            archive.addfile(_member(f"{signing_unit.serial_number}_X509.pem", len(certificate), mtime),
                            io.BytesIO(certificate))
        rows = _selected_logs(signing_unit, time_from=time_from, time_to=time_to,
                              transaction_from=transaction_from, transaction_to=transaction_to,
                              client_id=client_id).values_list("signature_counter", "file_name", "der")
        total = rows.count() if progress is not None else 0
        if progress is not None:
            reported = _report(progress, 0, reported)
        for counter, name, encoded in rows.iterator(chunk_size=CHUNK_SIZE):
            data = bytes(encoded)
            archive.addfile(_member(name, len(data), mtime), io.BytesIO(data))
            count += 1
            first = counter if first is None else first
            last = counter
            if progress is not None and total:
                reported = _report(progress, min(count * 100 // total, 99), reported)
    if progress is not None:
        _report(progress, 100, reported)
    return ExportResult(sha256=out.sha256.hexdigest(), size=out.size, log_count=count,
                        first_signature_counter=first, last_signature_counter=last, mtime=mtime)
