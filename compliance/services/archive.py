"""The archive of an operator: every stored export, its retention date and its re-verification.

- ``archives(organization, kind=None)``: the completed DSFinV-K exports, TSE TAR exports and
  Kassen-Nachschau bundles as ``ArchiveItem`` rows (newest first), each with its latest
  ``ArchiveVerification`` — one query per kind plus one for the verifications.
- ``verify_archive(actor, kind, archive)``: re-reads the stored file and compares size and SHA-256
  with what was stored; then, by kind,
  TAR: every member is parsed (``info.csv``, certificates, TR-03151 log messages); the signature
  of every log message is verified with the TSE's public key (the signed message is the stored
  bytes after the outer SEQUENCE header up to the signatureValue TLV, tse.md §2.8; plain r‖s),
  its serial number must be the SHA-256 of that key, its name must carry its signature counter,
  and the counters must be unique and without gaps and match what the export recorded;
  DSFinV-K: the stored ZIP goes through the DSFinV-K validator;
  Nachschau: every member's SHA-256 and size against ``manifest.json`` (and the bundle's stored
  list), the inner DSFinV-K ZIP through the validator and the inner TARs as above.
  The result is stored as an ``ArchiveVerification`` (findings ``{code, message, member?,
  severity}``; only errors fail it) and audited as ``compliance.archive.verified``.
- ``missing_monthly_tar_exports(organization, today=None)``: for every TSE in use, each calendar
  month (Berlin) since its initialization up to last month without a completed TAR export that
  covers it entirely.

Verification runs synchronously in the request: it streams the stored file (hashing in 1 MB
chunks, the TAR member by member), so memory stays flat; a monthly TAR of a shop verifies in seconds.
"""

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.db.models import Max, Min, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compliance.models import ArchiveKind, ArchiveVerification, BundleState, NachschauBundle
from exports.models import DsfinvkExport, DsfinvkExportState
from portal.services.audit import actor_identity, log_action, register_action_labels
from tse.models import ExportState, LogMessage, SigningUnit, SigningUnitState, TarExport
from tse.services.tar_jobs import previous_month

__all__ = [
    "ArchiveItem",
    "archive_item",
    "archives",
    "find_archive",
    "missing_monthly_tar_exports",
    "verification_history",
    "verify_archive",
    "verify_dsfinvk_zip",
    "verify_tar",
]

register_action_labels({
    "compliance.archive.verified": _("Archive verified again"),
})

BERLIN = ZoneInfo("Europe/Berlin")
CHUNK = 1024 * 1024
MAX_FINDINGS = 200
ERROR = "error"
WARNING = "warning"
HASHES = {"0.4.0.127.0.7.1.1.4.1.2": hashes.SHA224, "0.4.0.127.0.7.1.1.4.1.3": hashes.SHA256,
          "0.4.0.127.0.7.1.1.4.1.4": hashes.SHA384, "0.4.0.127.0.7.1.1.4.1.5": hashes.SHA512}
LOG_NAME_RE = re.compile(
    r"^(Unixt|Utc|Gent)_([0-9A-Z.]+)_Sig-(\d+)_Log-(Tra_No-(\d+)_(Start|Update|Finish)_Client-(.+?)"
    r"|Sys_([A-Za-z]+)|Aud)(_Fc-(\d+))?\.log$")
CERTIFICATE_RE = re.compile(r"^([0-9a-fA-F]{64})_X509(_Fc-\d+)?\.(cer|crt|pem|der)$", re.IGNORECASE)
MODELS = {ArchiveKind.DSFINVK: DsfinvkExport, ArchiveKind.TAR: TarExport, ArchiveKind.NACHSCHAU: NachschauBundle}
COMPLETED = {ArchiveKind.DSFINVK: DsfinvkExportState.COMPLETED, ArchiveKind.TAR: ExportState.COMPLETED,
             ArchiveKind.NACHSCHAU: BundleState.COMPLETED}


# --- the list ---------------------------------------------------------------------------------


@dataclass
class ArchiveItem:
    kind: str
    archive_id: object
    label: str
    period_from: object
    period_to: object
    created_at: datetime
    finished_at: datetime | None
    size: int
    sha256: str
    retain_until: date | None
    verification: ArchiveVerification | None
    obj: object

    @property
    def kind_label(self) -> str:
        return ArchiveKind(self.kind).label

    @property
    def sha256_short(self) -> str:
        return self.sha256[:12]


def _latest_verification(kind: str):
    return Subquery(ArchiveVerification.unscoped.filter(kind=kind, archive_id=OuterRef("public_id"))
                    .order_by("-verified_at", "-pk").values("pk")[:1])


def _querysets(organization) -> dict:
    return {
        ArchiveKind.DSFINVK: DsfinvkExport.objects.filter(organization=organization,
                                                          state=DsfinvkExportState.COMPLETED),
        ArchiveKind.TAR: TarExport.objects.filter(organization=organization, state=ExportState.COMPLETED)
        .select_related("signing_unit"),
        ArchiveKind.NACHSCHAU: NachschauBundle.objects.filter(organization=organization,
                                                              state=BundleState.COMPLETED)
        .select_related("betriebsstaette"),
    }


def _local(value):
    return timezone.localtime(value) if isinstance(value, datetime) else value


def _item(kind: str, obj, verification) -> ArchiveItem:
    if kind == ArchiveKind.DSFINVK:
        label = gettext("DSFinV-K export (%(closings)s closings)") % {"closings": obj.closing_count}
        period = (obj.date_from, obj.date_to)
    elif kind == ArchiveKind.TAR:
        unit = obj.signing_unit
        label = gettext("TAR export of TSE %(tse)s") % {"tse": unit.description or unit.serial_number[:16]}
        period = (_local(obj.start_time), _local(obj.end_time))
    else:
        label = gettext("Kassen-Nachschau bundle of %(place)s") % {"place": obj.betriebsstaette}
        period = (obj.date_from, obj.date_to)
    return ArchiveItem(kind=str(kind), archive_id=obj.public_id, label=label, period_from=period[0],
                       period_to=period[1], created_at=obj.created_at, finished_at=obj.finished_at, size=obj.size,
                       sha256=obj.sha256, retain_until=obj.retain_until, verification=verification, obj=obj)


def archives(organization, kind: str | None = None) -> list[ArchiveItem]:
    """The operator's completed archives (all kinds or one), newest first, with their latest verification."""
    rows = []
    for archive_kind, queryset in _querysets(organization).items():
        if kind and archive_kind != kind:
            continue
        rows += [(archive_kind, obj) for obj in queryset.annotate(latest_check=_latest_verification(archive_kind))]
    wanted = [obj.latest_check for _kind, obj in rows if obj.latest_check]
    checks = ArchiveVerification.unscoped.filter(organization=organization, pk__in=wanted).in_bulk() if wanted else {}
    items = [_item(archive_kind, obj, checks.get(obj.latest_check)) for archive_kind, obj in rows]
    items.sort(key=lambda item: (item.finished_at or item.created_at, item.created_at), reverse=True)
    return items


def find_archive(organization, kind: str, archive_id):
    """The completed archive ``kind``/``archive_id`` of the operator, or ``None``."""
    if kind not in MODELS:
        return None
    queryset = _querysets(organization)[ArchiveKind(kind)]
    return queryset.filter(public_id=archive_id).first()


def archive_item(kind: str, archive) -> ArchiveItem:
    return _item(ArchiveKind(kind), archive, verification_history(kind, archive).first())


def verification_history(kind: str, archive):
    return (ArchiveVerification.objects.filter(organization_id=archive.organization_id, kind=kind,
                                               archive_id=archive.public_id)
            .select_related("verified_by").order_by("-verified_at", "-pk"))


# --- findings ---------------------------------------------------------------------------------


class _Findings:
    def __init__(self):
        self.items: list[dict] = []
        self.errors = 0
        self.dropped = 0
        self.checked = 0

    def add(self, code: str, message: str, member: str = "", severity: str = ERROR) -> None:
        if severity == ERROR:
            self.errors += 1
        if len(self.items) >= MAX_FINDINGS:
            self.dropped += 1
            return
        finding = {"code": code, "message": str(message), "severity": severity}
        if member:
            finding["member"] = member
        self.items.append(finding)

    def result(self) -> list[dict]:
        if self.dropped:
            return self.items + [{"code": "W_FINDINGS_TRUNCATED", "severity": WARNING, "message": gettext(
                "%(count)s further findings are not listed.") % {"count": self.dropped}}]
        return self.items


# --- hashes -----------------------------------------------------------------------------------


def _hash_stream(fileobj) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while data := fileobj.read(CHUNK):
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def _check_stored_file(archive, findings: _Findings) -> bool:
    """Size and SHA-256 of the stored file against the row; False when the file cannot be read at all."""
    if not archive.file:
        findings.add("E_FILE_MISSING", gettext("No file is stored for this archive."))
        return False
    try:
        with archive.file.storage.open(archive.file.name, "rb") as handle:
            sha256, size = _hash_stream(handle)
    except OSError:
        findings.add("E_FILE_MISSING", gettext("The stored file cannot be read."))
        return False
    findings.checked += 1
    if sha256 != archive.sha256:
        findings.add("E_HASH_MISMATCH", gettext("The SHA-256 of the stored file (%(found)s) differs from the one "
                                                "recorded when it was stored (%(stored)s).")
                     % {"found": sha256, "stored": archive.sha256})
    if size != archive.size:
        findings.add("E_SIZE_MISMATCH", gettext("The stored file has %(found)s bytes, %(stored)s were recorded.")
                     % {"found": size, "stored": archive.size})
    return True


# --- TR-03151 log messages --------------------------------------------------------------------


class _MalformedLog(ValueError):
    pass


def _read_header(data: bytes, offset: int) -> tuple[int, int | None, int]:
    """(tag, length or None for indefinite, offset of the content) of the TLV at ``offset``."""
    if offset + 2 > len(data):
        raise _MalformedLog("truncated element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise _MalformedLog("multi-byte tags are not used in log messages")
    length = data[offset + 1]
    offset += 2
    if length == 0x80:
        return tag, None, offset
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise _MalformedLog("bad length")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise _MalformedLog("element longer than the data")
    return tag, length, offset


def _skip(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, end) of the TLV at ``offset``; indefinite lengths (BER processData) are walked."""
    tag, length, start = _read_header(data, offset)
    if length is not None:
        return tag, data[start:start + length], start + length
    if not tag & 0x20:
        raise _MalformedLog("indefinite length on a primitive element")
    position = start
    while data[position:position + 2] != b"\x00\x00":
        _tag, _content, position = _skip(data, position)
        if position >= len(data):
            raise _MalformedLog("unterminated indefinite length")
    return tag, data[start:position], position + 2


@dataclass
class _Log:
    serial: bytes
    algorithm: str
    counter: int | None
    signature: bytes
    signed: bytes


def _oid(content: bytes) -> str:
    if not content:
        raise _MalformedLog("empty OID")
    arcs = [content[0] // 40, content[0] % 40]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(arc) for arc in arcs)


def parse_log_message(data: bytes) -> _Log:
    """The parts of a TR-03151 log message needed to verify it (raises ``ValueError`` when malformed)."""
    tag, length, start = _read_header(data, 0)
    if tag != 0x30 or length is None or start + length != len(data):
        raise _MalformedLog("a log message is one DER SEQUENCE covering the whole file")
    elements, position = [], start
    while position < len(data):
        element_tag, content, end = _skip(data, position)
        elements.append((element_tag, content, position))
        position = end
    if len(elements) < 6 or elements[0][0] != 0x02 or elements[1][0] != 0x06:
        raise _MalformedLog("version and certifiedDataType missing")
    signature_tag, signature, signature_start = elements[-1]
    if signature_tag != 0x04:
        raise _MalformedLog("the last element is not the signatureValue")
    index = 2
    while index < len(elements) and elements[index][0] & 0xC0 == 0x80:  # certifiedData, context-specific
        index += 1
    if index + 1 >= len(elements) or elements[index][0] != 0x04 or elements[index + 1][0] != 0x30:
        raise _MalformedLog("serialNumber and signatureAlgorithm missing")
    serial = elements[index][1]
    algorithm_tag, algorithm_content, _end = _skip(elements[index + 1][1], 0)
    if algorithm_tag != 0x06:
        raise _MalformedLog("signatureAlgorithm without an OID")
    trailing = elements[index + 2:-1]  # [seAuditData] signatureCounter logTime
    counters = [content for element_tag, content, _start in trailing[:-1] if element_tag == 0x02]
    counter = int.from_bytes(counters[-1], "big") if counters else None
    return _Log(serial=serial, algorithm=_oid(algorithm_content), counter=counter, signature=signature,
                signed=data[start:signature_start])


def _point(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _signature_valid(log: _Log, public_key) -> bool:
    width = (public_key.curve.key_size + 7) // 8
    if len(log.signature) != 2 * width or log.algorithm not in HASHES:
        return False
    r = int.from_bytes(log.signature[:width], "big")
    s = int.from_bytes(log.signature[width:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), log.signed, ec.ECDSA(HASHES[log.algorithm]()))
    except InvalidSignature:
        return False
    return True


def _load_certificate(content: bytes):
    if content.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_certificate(content)
    return x509.load_der_x509_certificate(content)


class _TarCheck:
    """Checks one TAR member by member; logs whose key comes from a certificate later in the TAR wait for it."""

    def __init__(self, findings: _Findings, keys: dict, prefix: str = ""):
        self.findings = findings
        self.keys = keys  # serial (hex) -> EC public key
        self.prefix = prefix
        self.waiting: list[tuple[str, _Log]] = []
        self.counters: dict[str, list[int]] = {}
        self.logs = 0
        self.has_info = False

    def member(self, name: str, content: bytes) -> None:
        label = self.prefix + name
        if name == "info.csv":
            self.has_info = True
            if not content.strip():
                self.findings.add("E_TAR_INFO_CSV", gettext("info.csv is empty."), label)
            return
        if match := CERTIFICATE_RE.match(name):
            try:
                key = _load_certificate(content).public_key()
            except ValueError:
                self.findings.add("E_TAR_CERTIFICATE", gettext("The certificate cannot be read."), label)
                return
            serial = match.group(1).lower()
            if isinstance(key, ec.EllipticCurvePublicKey) and hashlib.sha256(_point(key)).hexdigest() == serial:
                self.keys.setdefault(serial, key)
            else:
                self.findings.add("E_TAR_CERTIFICATE", gettext(
                    "The certificate's key does not match the serial number in its name."), label)
            return
        match = LOG_NAME_RE.match(name)
        if match is None:
            self.findings.add("E_TAR_UNKNOWN_MEMBER", gettext("Not a log message, certificate or info.csv."), label)
            return
        try:
            log = parse_log_message(content)
        except (ValueError, IndexError) as exc:
            self.findings.add("E_TAR_LOG_MALFORMED", gettext("The log message cannot be parsed (%(error)s).")
                              % {"error": exc}, label)
            return
        self.logs += 1
        if log.counter is None or int(match.group(3)) != log.counter:
            self.findings.add("E_TAR_NAME_MISMATCH", gettext(
                "The signature counter in the name differs from the one in the log message."), label)
        if log.counter is not None:
            self.counters.setdefault(log.serial.hex(), []).append(log.counter)
        if log.serial.hex() in self.keys:
            self._verify(label, log)
        else:
            self.waiting.append((label, log))

    def _verify(self, label: str, log: _Log) -> None:
        key = self.keys[log.serial.hex()]
        self.findings.checked += 1
        if log.algorithm not in HASHES:
            self.findings.add("E_TAR_SIGNATURE_ALGORITHM", gettext("Unknown signature algorithm %(oid)s.")
                              % {"oid": log.algorithm}, label)
        elif not _signature_valid(log, key):
            self.findings.add("E_TAR_SIGNATURE_INVALID", gettext(
                "The signature of this log message does not verify with the TSE's public key."), label)

    def finish(self, expected: TarExport | None = None) -> None:
        for label, log in self.waiting:
            if log.serial.hex() in self.keys:
                self._verify(label, log)
            else:
                self.findings.add("E_TAR_UNKNOWN_KEY", gettext(
                    "The log message was signed by a key (serial %(serial)s) that is neither this TSE's nor in a "
                    "certificate of the archive.") % {"serial": log.serial.hex()}, label)
        if not self.has_info:
            self.findings.add("E_TAR_INFO_CSV", gettext("info.csv is missing."), self.prefix.rstrip(": "))
        for counters in self.counters.values():
            ordered = sorted(counters)
            duplicates = sorted({a for a, b in zip(ordered, ordered[1:], strict=False) if a == b})
            if duplicates:
                self.findings.add("E_TAR_COUNTER_DUPLICATE", gettext(
                    "Signature counters occur more than once: %(counters)s.")
                    % {"counters": ", ".join(map(str, duplicates[:20]))}, self.prefix.rstrip(": "))
            gaps = sorted(set(range(ordered[0], ordered[-1] + 1)) - set(ordered))
            if gaps:
                self.findings.add("E_TAR_COUNTER_GAP", gettext(
                    "Signature counters are missing between the first and the last log message: %(counters)s.")
                    % {"counters": ", ".join(map(str, gaps[:20]))}, self.prefix.rstrip(": "))
        if expected is not None:
            self._compare(expected)

    def _compare(self, export: TarExport) -> None:
        counters = sorted(c for values in self.counters.values() for c in values)
        found = (self.logs, counters[0] if counters else None, counters[-1] if counters else None)
        stored = (export.log_count, export.first_signature_counter, export.last_signature_counter)
        if found != stored:
            self.findings.add("E_TAR_CONTENT_MISMATCH", gettext(
                "The archive holds %(found_count)s log messages (signature counters %(found_first)s–%(found_last)s); "
                "%(stored_count)s (%(stored_first)s–%(stored_last)s) were recorded when it was stored.") % {
                "found_count": found[0], "found_first": found[1], "found_last": found[2],
                "stored_count": stored[0], "stored_first": stored[1], "stored_last": stored[2]})


def _unit_keys(units) -> dict:
    keys = {}
    for unit in units:
        if unit.public_key:
            key = serialization.load_der_public_key(bytes(unit.public_key))
            if isinstance(key, ec.EllipticCurvePublicKey):
                keys[hashlib.sha256(_point(key)).hexdigest()] = key
    return keys


def verify_tar(fileobj, keys: dict, findings: _Findings, *, expected: TarExport | None = None,
               prefix: str = "") -> None:
    """Check the TAR in ``fileobj`` (read as a stream); ``keys`` maps serial numbers (hex) to public keys."""
    check = _TarCheck(findings, dict(keys), prefix)
    try:
        with tarfile.open(fileobj=fileobj, mode="r|") as archive:
            for member in archive:
                if not member.isreg():
                    findings.add("E_TAR_MEMBER_TYPE", gettext("Only regular files are allowed in a TSE export."),
                                 prefix + member.name)
                    continue
                check.member(member.name, archive.extractfile(member).read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        findings.add("E_TAR_UNREADABLE", gettext("The TAR archive cannot be read (%(error)s).") % {"error": exc},
                     prefix.rstrip(": "))
        return
    check.finish(expected)


# --- DSFinV-K ---------------------------------------------------------------------------------


def verify_dsfinvk_zip(fileobj, findings: _Findings, prefix: str = "") -> None:
    """Run the DSFinV-K validator on the ZIP in ``fileobj`` (seekable); its errors and warnings become findings."""
    from exports.dsfinvk.validator import validate_export

    report = validate_export(fileobj)
    for finding in report.findings:
        member = prefix + finding.file if finding.file else prefix.rstrip(": ")
        line = gettext(" (line %(line)s)") % {"line": finding.line} if finding.line else ""
        findings.add(finding.code, f"{finding.message}{line}", member,
                     ERROR if finding.severity == "error" else WARNING)
    if report.truncated:
        findings.dropped += report.truncated
    findings.checked += len(report.stats.get("rows") or {})


# --- Nachschau bundles ------------------------------------------------------------------------


def _manifest_entries(data) -> dict:
    """``manifest.json`` as {name: (sha256, size or None)}; a list of members or a mapping."""
    if isinstance(data, dict) and isinstance(data.get("members"), list | dict):
        data = data["members"]
    entries = {}
    if isinstance(data, list):
        for row in data:
            if isinstance(row, dict) and row.get("name"):
                entries[str(row["name"])] = (str(row.get("sha256") or ""), row.get("size"))
    elif isinstance(data, dict):
        for name, value in data.items():
            if isinstance(value, dict):
                entries[str(name)] = (str(value.get("sha256") or ""), value.get("size"))
            elif isinstance(value, str):
                entries[str(name)] = (value, None)
    return entries


def _bundle_contents(bundle: NachschauBundle, zf: zipfile.ZipFile, findings: _Findings, keys: dict) -> None:
    names = [info.filename for info in zf.infolist() if not info.is_dir()]
    manifest = {}
    if "manifest.json" in names:
        try:
            manifest = _manifest_entries(json.loads(zf.read("manifest.json").decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            findings.add("E_MANIFEST_UNREADABLE", gettext("manifest.json is not valid JSON."), "manifest.json")
    else:
        findings.add("E_MANIFEST_MISSING", gettext("The bundle has no manifest.json."))
    stored = {row.get("name"): row for row in bundle.members or [] if isinstance(row, dict)}
    if "manifest.json" in names and "manifest.json" in stored:
        with zf.open("manifest.json") as handle:
            if _hash_stream(handle)[0] != stored["manifest.json"].get("sha256"):
                findings.add("E_MEMBER_HASH_MISMATCH", gettext(
                    "SHA-256 of the member differs from the one recorded when the bundle was stored."), "manifest.json")
    for name in names:
        if name == "manifest.json":
            continue
        with zf.open(name) as handle:
            sha256, size = _hash_stream(handle)
        findings.checked += 1
        listed = manifest.get(name)
        if listed is None:
            findings.add("E_MANIFEST_UNLISTED", gettext("The member is not listed in manifest.json."), name)
        elif listed[0] != sha256 or (listed[1] is not None and int(listed[1]) != size):
            findings.add("E_MEMBER_HASH_MISMATCH", gettext("SHA-256 or size of the member differ from manifest.json."),
                         name)
        if name in stored and stored[name].get("sha256") not in (None, sha256):
            findings.add("E_MEMBER_HASH_MISMATCH", gettext(
                "SHA-256 of the member differs from the one recorded when the bundle was stored."), name)
        if name.endswith(".zip"):
            with tempfile.TemporaryFile() as copy, zf.open(name) as handle:
                shutil.copyfileobj(handle, copy, CHUNK)
                copy.seek(0)
                verify_dsfinvk_zip(copy, findings, prefix=f"{name}: ")
        elif name.endswith(".tar"):
            with zf.open(name) as handle:
                verify_tar(handle, keys, findings, prefix=f"{name}: ")
    for name in sorted(set(manifest) - set(names)):
        findings.add("E_MEMBER_MISSING", gettext("Listed in manifest.json but missing from the bundle."), name)


def _verify_bundle(bundle: NachschauBundle, findings: _Findings) -> None:
    keys = _unit_keys(SigningUnit.unscoped.filter(organization_id=bundle.organization_id).exclude(public_key=b""))
    try:
        with bundle.file.storage.open(bundle.file.name, "rb") as handle, zipfile.ZipFile(handle) as zf:
            _bundle_contents(bundle, zf, findings, keys)
    except (zipfile.BadZipFile, OSError) as exc:
        findings.add("E_NOT_A_ZIP", gettext("The bundle is not a readable ZIP archive (%(error)s).") % {"error": exc})


# --- verifying --------------------------------------------------------------------------------


def _user(actor):
    return actor_identity(actor).user


def verify_archive(actor, kind: str, archive) -> ArchiveVerification:
    """Re-read the stored file of ``archive`` and check it (see the module text); store and audit the result."""
    kind = ArchiveKind(kind)
    findings = _Findings()
    if _check_stored_file(archive, findings):
        if kind == ArchiveKind.TAR:
            with archive.file.storage.open(archive.file.name, "rb") as handle:
                verify_tar(handle, _unit_keys([archive.signing_unit]), findings, expected=archive)
        elif kind == ArchiveKind.DSFINVK:
            with archive.file.storage.open(archive.file.name, "rb") as handle:
                verify_dsfinvk_zip(handle, findings)
        else:
            _verify_bundle(archive, findings)
    verification = ArchiveVerification.unscoped.create(
        organization_id=archive.organization_id, kind=kind, archive_id=archive.public_id,
        passed=findings.errors == 0, findings=findings.result(), checked_items=findings.checked,
        verified_by=_user(actor))
    log_action("compliance.archive.verified", actor, archive.organization, archive, data={
        "kind": str(kind), "archive_id": str(archive.public_id), "passed": verification.passed,
        "errors": findings.errors, "checked_items": verification.checked_items})
    return verification


# --- missing monthly TAR exports ----------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _berlin_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)


def _covers(export: dict, start: datetime, end: datetime) -> bool:
    until = export["end_time"] if export["end_time"] is not None else export["finished_at"]
    return ((export["start_time"] is None or export["start_time"] <= start)
            and until is not None and until >= end)


def missing_monthly_tar_exports(organization, today: date | None = None) -> list[tuple[SigningUnit, date]]:
    """(unit, first day of the month) for every month since a TSE's initialization up to last month (Berlin)
    that no completed, unfiltered TAR export covers entirely; oldest first per unit."""
    today = today or timezone.localdate()
    now = datetime(today.year, today.month, today.day, 12, tzinfo=BERLIN)
    last_month_end = previous_month(now)[1]
    logs = LogMessage.unscoped.filter(signing_unit=OuterRef("pk")).order_by()
    units = list(SigningUnit.objects.filter(
        organization=organization, state__in=(SigningUnitState.INITIALIZED, SigningUnitState.DISABLED))
        .annotate(first_log=Subquery(logs.values("signing_unit").annotate(v=Min("log_time")).values("v")[:1]),
                  last_log=Subquery(logs.values("signing_unit").annotate(v=Max("log_time")).values("v")[:1]))
        .order_by("created_at", "pk"))
    exports: dict[int, list[dict]] = {}
    for row in (TarExport.objects.filter(signing_unit__in=units, state=ExportState.COMPLETED,
                                         start_transaction_number__isnull=True, end_transaction_number__isnull=True,
                                         client_id="")
                .values("signing_unit_id", "start_time", "end_time", "finished_at")):
        exports.setdefault(row["signing_unit_id"], []).append(row)
    missing = []
    for unit in units:
        began = unit.initialized_at or unit.first_log
        if began is None:
            continue
        stop = last_month_end
        if unit.state == SigningUnitState.DISABLED and unit.last_log is not None:
            stop = min(stop, unit.last_log)
        month = _month_start(timezone.localtime(began, BERLIN).date())
        while _berlin_start(month) <= stop:
            start = max(_berlin_start(month), began)
            end = min(_berlin_start(_next_month(month)) - timedelta(microseconds=1), stop)
            if not any(_covers(export, start, end) for export in exports.get(unit.pk, ())):
                missing.append((unit, month))
            month = _next_month(month)
    return missing

