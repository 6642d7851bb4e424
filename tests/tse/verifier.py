"""An independent checker for TR-03151 v2 log messages and TR-03153 TAR exports (tse.md §9).

It imports nothing from the ``tse`` app: the DER is walked with asn1crypto, the signed message is
rebuilt from the parsed elements per tse.md §2.8 (the TLVs from ``version`` up to, not including,
``signatureValue``) and the plain ``r‖s`` signature is verified with the certificate's key.
"""

import hashlib
import io
import re
import tarfile
from dataclasses import dataclass, field

from asn1crypto import core, parser
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

OID_TRANSACTION_LOG = "0.4.0.127.0.7.3.7.1.1"
OID_SYSTEM_LOG = "0.4.0.127.0.7.3.7.1.2"
OID_AUDIT_LOG = "0.4.0.127.0.7.3.7.1.3"
KINDS = {OID_TRANSACTION_LOG: "transaction", OID_SYSTEM_LOG: "system", OID_AUDIT_LOG: "audit"}
HASHES = {"0.4.0.127.0.7.1.1.4.1.3": hashes.SHA256, "0.4.0.127.0.7.1.1.4.1.4": hashes.SHA384}
TX_OPERATIONS = {"StartTransaction": "Start", "UpdateTransaction": "Update", "FinishTransaction": "Finish"}
SYSTEM_TYPES = {"initialize", "updateTime", "registerClient", "deregisterClient", "disableSecureElement"}
NAME_RE = re.compile(
    r"^(Unixt|Utc|Gent)_([0-9A-Z.]+)_Sig-(\d+)_Log-(Tra_No-(\d+)_(Start|Update|Finish)_Client-(.+?)"
    r"|Sys_([A-Za-z]+)|Aud)(_Fc-(\d+))?\.log$"
)
CERT_RE = re.compile(r"^([0-9a-fA-F]{64})_X509(_Fc-\d+)?\.(cer|crt|pem|der)$", re.IGNORECASE)
INFO_CSV_RE = re.compile(r'^"description:","[^"]*","manufacturer:","[^"]*","version:","[^"]*"\n$')


@dataclass
class Element:
    cls: int
    constructed: int
    tag: int
    tlv: bytes
    contents: bytes


@dataclass
class ParsedLog:
    version: int
    certified_data_type: str
    kind: str
    certified_tags: list[int]
    serial_number: bytes
    algorithm: str
    algorithm_parameters: int
    signature_counter: int
    log_time: int
    time_tag: int
    signature: bytes
    signed_message: bytes
    operation_type: str = ""
    client_id: str = ""
    process_data: bytes = b""
    process_type: str | None = None
    transaction_number: int | None = None
    system_operation_data: list[Element] = field(default_factory=list)


def walk(data: bytes) -> list[Element]:
    """The consecutive TLVs in ``data``."""
    elements, offset = [], 0
    while offset < len(data):
        cls, constructed, tag, header, contents, trailer = parser.parse(data[offset:], strict=False)
        size = len(header) + len(contents) + len(trailer)
        elements.append(Element(cls, constructed, tag, data[offset:offset + size], contents))
        offset += size
    return elements


def _minimal_integer(contents: bytes) -> bool:
    if len(contents) < 2:
        return len(contents) == 1
    return not ((contents[0] == 0 and contents[1] < 0x80) or (contents[0] == 0xFF and contents[1] >= 0x80))


def _integer(element: Element, implicit: int | None = None) -> int:
    assert _minimal_integer(element.contents), f"non-minimal INTEGER {element.tlv.hex()}"
    if implicit is None:
        return core.Integer.load(element.tlv).native
    return core.Integer.load(element.tlv, implicit=implicit).native


def parse_log(der: bytes) -> ParsedLog:
    cls, constructed, tag, header, contents, trailer = parser.parse(der, strict=True)  # no trailing bytes
    assert (cls, constructed, tag) == (0, 1, 16), "outer element is not a SEQUENCE"
    elements = walk(contents)
    version = _integer(elements[0])
    oid = core.ObjectIdentifier.load(elements[1].tlv).dotted
    index, certified = 2, []
    while elements[index].cls == 2:  # context-specific certifiedData elements, inlined
        certified.append(elements[index])
        index += 1
    serial = core.OctetString.load(elements[index].tlv).native
    algorithm_parts = walk(core.Sequence.load(elements[index + 1].tlv).contents)
    algorithm = core.ObjectIdentifier.load(algorithm_parts[0].tlv).dotted
    index += 2
    if oid == OID_AUDIT_LOG:
        index += 1  # seAuditData
    counter = _integer(elements[index])
    time_element = elements[index + 1]
    if time_element.tag == 2:
        log_time = _integer(time_element)
    else:
        log_time = core.GeneralizedTime.load(time_element.tlv).native if time_element.tag == 24 else \
            core.UTCTime.load(time_element.tlv).native
    signature_element = elements[index + 2]
    assert index + 3 == len(elements), "elements after signatureValue"
    signature = core.OctetString.load(signature_element.tlv).native
    signed = b"".join(element.tlv for element in elements[:index + 2])  # rebuilt per tse.md §2.8
    assert signed == contents[:len(contents) - len(signature_element.tlv)]
    log = ParsedLog(version=version, certified_data_type=oid, kind=KINDS.get(oid, "unknown"),
                    certified_tags=[element.tag for element in certified], serial_number=serial,
                    algorithm=algorithm, algorithm_parameters=len(algorithm_parts) - 1, signature_counter=counter,
                    log_time=log_time, time_tag=time_element.tag, signature=signature, signed_message=signed)
    by_tag = {element.tag: element for element in certified}
    if log.kind == "transaction":
        log.operation_type = core.PrintableString.load(by_tag[0].tlv, implicit=0).native
        log.client_id = core.PrintableString.load(by_tag[1].tlv, implicit=1).native
        log.process_data = core.OctetString.load(by_tag[2].tlv, implicit=2).native or b""
        if 3 in by_tag:
            log.process_type = core.PrintableString.load(by_tag[3].tlv, implicit=3).native or ""
        log.transaction_number = _integer(by_tag[5], implicit=5)
    elif log.kind == "system":
        log.operation_type = core.PrintableString.load(by_tag[0].tlv, implicit=0).native
        log.system_operation_data = walk(core.OctetString.load(by_tag[1].tlv, implicit=1).native or b"")
    return log


def verify_signature(log: ParsedLog, certificate: x509.Certificate) -> None:
    """Raises ``InvalidSignature`` or ``AssertionError`` when the log does not verify."""
    public_key = certificate.public_key()
    point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert hashlib.sha256(point).digest() == log.serial_number, "serialNumber is not SHA-256 of the key"
    width = (public_key.curve.key_size + 7) // 8
    assert len(log.signature) == 2 * width, "signatureValue is not plain r||s"
    r = int.from_bytes(log.signature[:width], "big")
    s = int.from_bytes(log.signature[width:], "big")
    public_key.verify(encode_dss_signature(r, s), log.signed_message, ec.ECDSA(HASHES[log.algorithm]()))


def check_log(log: ParsedLog, certificate: x509.Certificate, file_name: str | None = None) -> None:
    """Structure (tse.md §9.2 items 7–11) and signature of one v2 log message."""
    assert log.version == 2
    assert log.certified_data_type in (OID_TRANSACTION_LOG, OID_SYSTEM_LOG)
    assert len(log.serial_number) == 32
    assert log.algorithm in HASHES and log.algorithm_parameters == 0
    if log.kind == "transaction":
        assert log.certified_tags == [0, 1, 2, 3, 5]
        assert log.operation_type in TX_OPERATIONS
    else:
        assert log.certified_tags == [0, 1]
        assert log.operation_type in SYSTEM_TYPES
    verify_signature(log, certificate)
    if file_name is not None:
        match = NAME_RE.match(file_name)
        assert match, f"bad member name {file_name}"
        assert match.group(1) == "Unixt" and log.time_tag == 2
        assert match.group(2) == str(log.log_time)
        assert int(match.group(3)) == log.signature_counter
        assert match.group(9) is None  # no _Fc- within one key
        if log.kind == "transaction":
            assert int(match.group(5)) == log.transaction_number
            assert match.group(6) == TX_OPERATIONS[log.operation_type]
            assert match.group(7) == log.client_id
        else:
            assert match.group(8) == log.operation_type


def check_sequence(logs: list[ParsedLog], *, first_counter: int = 1) -> None:
    """Counters strictly +1 across all log kinds, transaction numbers of starts strictly +1."""
    logs = sorted(logs, key=lambda log: log.signature_counter)
    counters = [log.signature_counter for log in logs]
    assert counters == list(range(first_counter, first_counter + len(logs))), "signature counter gap or duplicate"
    starts = [log.transaction_number for log in logs if log.operation_type == "StartTransaction"]
    if starts:
        assert starts == list(range(starts[0], starts[0] + len(starts))), "transaction number gap or duplicate"
    times = [log.log_time for log in logs]
    assert times == sorted(times), "logTime decreases"


@dataclass
class TarCheck:
    names: list[str]
    mtimes: set[int]
    info_csv: str
    certificates: dict[str, x509.Certificate]
    logs: dict[str, ParsedLog]


def check_tar(data: bytes) -> TarCheck:
    """Container rules (tse.md §9.1) and every log message inside; returns what was found."""
    names, mtimes, certificates, logs, raw_logs = [], set(), {}, {}, {}
    info_csv = None
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive.getmembers():
            header = data[member.offset:member.offset + 512]
            assert header[257:265] == b"ustar\x0000", "not a POSIX ustar header"
            assert header[345:500].strip(b"\x00") == b"", "prefix field is not empty"
            assert member.isreg() and "/" not in member.name and len(member.name.encode("ascii")) <= 100
            names.append(member.name)
            mtimes.add(member.mtime)
            content = archive.extractfile(member).read()
            if member.name == "info.csv":
                assert info_csv is None
                info_csv = content.decode("utf-8")
                assert INFO_CSV_RE.match(info_csv), info_csv
            elif match := CERT_RE.match(member.name):
                certificate = x509.load_pem_x509_certificate(content) if content.startswith(b"-----") else \
                    x509.load_der_x509_certificate(content)
                certificates[match.group(1).lower()] = certificate
            else:
                assert NAME_RE.match(member.name), f"unexpected member {member.name}"
                raw_logs[member.name] = content
    assert info_csv is not None, "info.csv missing"
    assert len(mtimes) == 1, "member mtimes differ"
    assert len(names) == len(set(names)), "duplicate member names"
    for name, content in raw_logs.items():
        log = parse_log(content)
        check_log(log, certificates[log.serial_number.hex()], name)
        logs[name] = log
    return TarCheck(names=names, mtimes=mtimes, info_csv=info_csv, certificates=certificates, logs=logs)
