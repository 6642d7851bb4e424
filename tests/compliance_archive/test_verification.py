"""Re-verification of stored archives: hash, TAR log-message signatures and counters, DSFinV-K validator,
Nachschau manifest — a tampered archive is detected, each check on its own."""

import hashlib
import io
import tarfile
import zipfile

import pytest

from compliance.models import ArchiveKind, ArchiveVerification
from compliance.services import archive as service
from portal.models import LogEntry
from tests.compliance_archive.conftest import store_bundle
from tse.models import ExportState, LogMessage, TarExport

pytestmark = pytest.mark.django_db


def codes(verification) -> set[str]:
    return {finding["code"] for finding in verification.findings}


def errors(verification) -> list[dict]:
    return [finding for finding in verification.findings if finding["severity"] == "error"]


def tar_members(data: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        return [(member, archive.extractfile(member).read()) for member in archive.getmembers()]


def first_log(data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return next((member, content) for member, content in tar_members(data) if member.name.endswith(".log"))


def flip_signature_byte(data: bytes) -> tuple[bytes, str]:
    """The TAR with the last byte of the first log message's signature (its last byte) flipped."""
    member, _content = first_log(data)
    position = member.offset_data + member.size - 1
    tampered = bytearray(data)
    tampered[position] ^= 0x01
    return bytes(tampered), member.name


def rebuilt_tar(data: bytes, change) -> bytes:
    """A new TAR with the same members, ``change(name, content)`` applied to each content."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for member, content in tar_members(data):
            content = change(member.name, content)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def stored_bytes(archive) -> bytes:
    with archive.file.open("rb") as handle:
        return handle.read()


def overwrite_stored_file(archive, data: bytes) -> None:
    with open(archive.file.path, "wb") as handle:  # behind the portal's back, as on a damaged disk
        handle.write(data)


# --- TAR ----------------------------------------------------------------------------------------


def test_a_real_tar_export_passes(owner, tar_export):
    logs = LogMessage.unscoped.filter(signing_unit=tar_export.signing_unit).count()
    assert tar_export.log_count == logs > 5
    verification = service.verify_archive(owner.user, ArchiveKind.TAR, tar_export)
    assert verification.passed and verification.findings == []
    assert verification.checked_items == 1 + logs  # the file hash and every log message's signature
    assert (verification.kind, verification.archive_id) == (ArchiveKind.TAR, tar_export.public_id)
    assert verification.verified_by == owner.user and verification.organization == owner.organization
    entry = LogEntry.unscoped.get(action="compliance.archive.verified")
    assert entry.object_id == str(tar_export.public_id) and entry.data["passed"] is True


def test_a_flipped_signature_byte_is_a_hash_mismatch_and_an_invalid_signature(owner, tar_export):
    tampered, name = flip_signature_byte(stored_bytes(tar_export))
    overwrite_stored_file(tar_export, tampered)
    verification = service.verify_archive(owner.user, ArchiveKind.TAR, tar_export)
    assert not verification.passed
    assert codes(verification) == {"E_HASH_MISMATCH", "E_TAR_SIGNATURE_INVALID"}
    [signature] = [finding for finding in verification.findings if finding["code"] == "E_TAR_SIGNATURE_INVALID"]
    assert signature["member"] == name


def test_a_wrong_signature_with_a_matching_stored_hash_is_found_by_the_signature_check(owner, tar_export):
    data = stored_bytes(tar_export)
    target = first_log(data)[0].name

    def wrong_signature(name, content):
        if name != target:
            return content
        return content[:-1] + bytes([content[-1] ^ 0xFF])

    rebuilt = rebuilt_tar(data, wrong_signature)
    assert rebuilt != data and len(rebuilt) == len(data)
    # stored as a completed export with the hash of these very bytes: only the signature can tell
    name = tar_export.file.storage.save("tse-exports/rebuilt.tar", io.BytesIO(rebuilt))
    copy = TarExport.unscoped.create(
        organization=tar_export.organization, signing_unit=tar_export.signing_unit, state=ExportState.COMPLETED,
        file=name,
        sha256=hashlib.sha256(rebuilt).hexdigest(), size=len(rebuilt), log_count=tar_export.log_count,
        first_signature_counter=tar_export.first_signature_counter,
        last_signature_counter=tar_export.last_signature_counter, finished_at=tar_export.finished_at)
    verification = service.verify_archive(owner.user, ArchiveKind.TAR, copy)
    assert not verification.passed
    assert [(f["code"], f.get("member")) for f in verification.findings] == [("E_TAR_SIGNATURE_INVALID", target)]
    # the untouched members still verify: the rebuilt TAR without the change passes
    assert service.verify_archive(owner.user, ArchiveKind.TAR, tar_export).passed


def test_counter_gaps_duplicates_and_foreign_keys_are_found(owner, tar_export, stranger_unit):
    data = stored_bytes(tar_export)
    members = tar_members(data)
    logs = [(member, content) for member, content in members if member.name.endswith(".log")]
    foreign = LogMessage.unscoped.filter(signing_unit=stranger_unit).order_by("signature_counter").first()

    def build(selected) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            for member, content in selected:
                archive.addfile(member, io.BytesIO(content))
        return buffer.getvalue()

    findings = service._Findings()
    gap = build([m for m in members if m not in logs] + logs[:2] + logs[3:])
    service.verify_tar(io.BytesIO(gap), service._unit_keys([tar_export.signing_unit]), findings)
    assert [f["code"] for f in findings.items] == ["E_TAR_COUNTER_GAP"]

    findings = service._Findings()
    duplicate = tarfile.TarInfo(logs[1][0].name.replace(".log", "_Fc-1.log"))
    duplicate.size = logs[1][0].size
    twice = build(members + [(duplicate, logs[1][1])])
    service.verify_tar(io.BytesIO(twice), service._unit_keys([tar_export.signing_unit]), findings,
                       expected=tar_export)
    assert [f["code"] for f in findings.items] == ["E_TAR_COUNTER_DUPLICATE", "E_TAR_CONTENT_MISMATCH"]

    findings = service._Findings()
    stranger_member = tarfile.TarInfo(foreign.file_name)
    stranger_member.size = len(bytes(foreign.der))
    mixed = build(members + [(stranger_member, bytes(foreign.der))])
    service.verify_tar(io.BytesIO(mixed), service._unit_keys([tar_export.signing_unit]), findings)
    assert [(f["code"], f["member"]) for f in findings.items] == [("E_TAR_UNKNOWN_KEY", foreign.file_name)]


def test_a_log_signed_by_another_key_named_in_a_certificate_of_the_archive_verifies(tar_export, stranger_unit):
    data = stored_bytes(tar_export)
    foreign = LogMessage.unscoped.filter(signing_unit=stranger_unit).order_by("signature_counter").first()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for member, content in [(m, c) for m, c in tar_members(data) if not m.name.endswith(".log")]:
            archive.addfile(member, io.BytesIO(content))
        # the log first, the certificate of its key after it: the order of members is free
        for name, content in ((foreign.file_name, bytes(foreign.der)),
                              (f"{stranger_unit.serial_number}_X509.pem", stranger_unit.certificate.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    findings = service._Findings()
    service.verify_tar(io.BytesIO(buffer.getvalue()), {}, findings)
    assert findings.items == [] and findings.checked == 1


def test_a_missing_file_is_a_finding(owner, tar_export):
    tar_export.file.storage.delete(tar_export.file.name)
    verification = service.verify_archive(None, ArchiveKind.TAR, tar_export)
    assert not verification.passed and codes(verification) == {"E_FILE_MISSING"}
    assert verification.verified_by is None and verification.checked_items == 0


def test_garbage_instead_of_a_log_message_is_malformed(tar_export):
    data = rebuilt_tar(stored_bytes(tar_export),
                       lambda name, content: b"\x30\x03\x02\x01" if name == first_log(stored_bytes(tar_export))[0]
                       .name else content)
    findings = service._Findings()
    service.verify_tar(io.BytesIO(data), service._unit_keys([tar_export.signing_unit]), findings)
    assert "E_TAR_LOG_MALFORMED" in {f["code"] for f in findings.items}


# --- DSFinV-K -----------------------------------------------------------------------------------


def rewritten_zip(data: bytes, change) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
    return buffer.getvalue()


def tamper_amount(name: str, content: bytes) -> bytes:
    """Raise the first gross amount of the payment types of a closing by 10 EUR (cashpointclosing stays)."""
    if name != "payment.csv":
        return content
    lines = content.split(b"\r\n")
    fields = lines[1].split(b";")
    whole, _sep, cents = fields[-1].partition(b",")
    fields[-1] = str(int(whole) + 10).encode() + b"," + cents
    lines[1] = b";".join(fields)
    return b"\r\n".join(lines)


def test_a_real_dsfinvk_export_passes(owner, dsfinvk_export):
    verification = service.verify_archive(owner.user, ArchiveKind.DSFINVK, dsfinvk_export)
    assert verification.passed and errors(verification) == []
    assert verification.checked_items > 20  # the hash and every CSV file


def test_a_tampered_csv_is_a_hash_finding_and_a_validator_finding(owner, dsfinvk_export):
    overwrite_stored_file(dsfinvk_export, rewritten_zip(stored_bytes(dsfinvk_export), tamper_amount))
    verification = service.verify_archive(owner.user, ArchiveKind.DSFINVK, dsfinvk_export)
    assert not verification.passed
    found = errors(verification)
    assert found[0]["code"] == "E_HASH_MISMATCH"
    validator = [f for f in found if f["code"] not in ("E_HASH_MISMATCH", "E_SIZE_MISMATCH")]
    assert validator, verification.findings
    assert any(f.get("member") in ("payment.csv", "cashpointclosing.csv") for f in validator), validator


# --- Nachschau bundles ----------------------------------------------------------------------------


def test_a_bundle_passes(owner, bundle):
    verification = service.verify_archive(owner.user, ArchiveKind.NACHSCHAU, bundle)
    assert verification.passed and errors(verification) == [], verification.findings
    # the bundle's hash, its 3 members, the DSFinV-K files and every log message of the TAR
    assert verification.checked_items > 1 + 3 + 20


def test_a_bundle_with_a_tampered_tar_and_csv_fails_on_manifest_signature_and_validator(owner, bundle,
                                                                                        tar_export,
                                                                                        dsfinvk_export):
    tar_name = f"tse/{tar_export.signing_unit.serial_number[:16]}-202611.tar"

    def tamper(files):
        files = dict(files)
        files[tar_name] = flip_signature_byte(files[tar_name])[0]
        files["dsfinvk/dsfinvk.zip"] = rewritten_zip(files["dsfinvk/dsfinvk.zip"], tamper_amount)
        files["extra.txt"] = b"not in the manifest"
        del files["summary.pdf"]
        return files

    with tar_export.file.open("rb") as tar, dsfinvk_export.file.open("rb") as dsfinvk:
        contents = {"dsfinvk/dsfinvk.zip": dsfinvk.read(), tar_name: tar.read(), "summary.pdf": b"%PDF-1.4 summary"}
    broken = store_bundle(owner.organization, contents, tamper=tamper)  # the stored hash is of these bytes
    verification = service.verify_archive(owner.user, ArchiveKind.NACHSCHAU, broken)
    assert not verification.passed
    by_code = {}
    for finding in errors(verification):
        by_code.setdefault(finding["code"], []).append(finding.get("member", ""))
    assert "E_HASH_MISMATCH" not in by_code
    assert sorted(by_code["E_MEMBER_HASH_MISMATCH"]) == ["dsfinvk/dsfinvk.zip", "dsfinvk/dsfinvk.zip", tar_name,
                                                         tar_name]
    assert by_code["E_MANIFEST_UNLISTED"] == ["extra.txt"] and by_code["E_MEMBER_MISSING"] == ["summary.pdf"]
    assert by_code["E_TAR_SIGNATURE_INVALID"][0].startswith(f"{tar_name}: Unixt_")
    assert any(member.startswith("dsfinvk/dsfinvk.zip: ") for code, members in by_code.items()
               if code.startswith("E_") and code not in ("E_MEMBER_HASH_MISMATCH",) for member in members)


# --- the list -------------------------------------------------------------------------------------


def test_the_archive_lists_every_kind_with_its_latest_verification(owner, stranger, bundle, tar_export,
                                                                    dsfinvk_export, django_assert_max_num_queries):
    TarExport.unscoped.create(organization=owner.organization, signing_unit=tar_export.signing_unit)  # pending
    service.verify_archive(owner.user, ArchiveKind.TAR, tar_export)
    overwrite_stored_file(tar_export, b"gone")
    latest = service.verify_archive(owner.user, ArchiveKind.TAR, tar_export)
    with django_assert_max_num_queries(5):
        items = service.archives(owner.organization)
    assert {(item.kind, item.archive_id) for item in items} == {
        ("tar", tar_export.public_id), ("dsfinvk", dsfinvk_export.public_id), ("nachschau", bundle.public_id)}
    by_kind = {item.kind: item for item in items}
    assert by_kind["tar"].verification == latest and not by_kind["tar"].verification.passed
    assert by_kind["dsfinvk"].verification is None
    assert by_kind["tar"].sha256 == tar_export.sha256 and by_kind["tar"].retain_until == tar_export.retain_until
    assert by_kind["nachschau"].size == bundle.size
    assert [item.kind for item in service.archives(owner.organization, "dsfinvk")] == ["dsfinvk"]
    assert service.archives(stranger.organization) == []
    assert ArchiveVerification.unscoped.count() == 2
    assert service.find_archive(stranger.organization, "tar", tar_export.public_id) is None
    assert service.find_archive(owner.organization, "nonsense", tar_export.public_id) is None
