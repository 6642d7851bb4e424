"""The DSFinV-K receipt QR code ("V0", DSFinV-K Annex I; tse.md §7).

Twelve fields joined by ``;`` (no trailing separator)::

    V0;<clientId>;<processType>;<processData>;<transaction number>;<signature counter>;
    <start time>;<log time>;<sig-alg>;<log-time-format>;<signature b64>;<public key b64>

Times are UTC as ``YYYY-MM-DDThh:mm:ss.fffZ``.

:func:`verify_qr_code` rebuilds the TR-03151 transaction log message of the FinishTransaction
from the fields (tse.md §2.8, §7.2: the DER TLVs from version up to the log time, without the
outer SEQUENCE) and verifies the signature with the embedded public key. The QR code does not
name the curve, so every allowed curve whose size matches the key is tried, and both the plain
``r||s`` and the DER signature encodings are accepted (real receipts use both).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import segno
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from django.utils.translation import gettext_lazy as _

from tse.backends import der

QR_CODE_VERSION = "V0"
FIELD_SEPARATOR = ";"
FIELD_COUNT = 12

#: DSFinV-K ``TSE_SIG_ALGO`` names of ECDSA (plain) → (hash, TR-03111 OID). EC-Schnorr
#: (``ecsdsa-plain-*``) is a valid DSFinV-K value but cannot be verified with ``cryptography``.
SIGNATURE_ALGORITHMS: dict[str, tuple[type[hashes.HashAlgorithm], str]] = {
    "ecdsa-plain-SHA224": (hashes.SHA224, "0.4.0.127.0.7.1.1.4.1.2"),
    "ecdsa-plain-SHA256": (hashes.SHA256, "0.4.0.127.0.7.1.1.4.1.3"),
    "ecdsa-plain-SHA384": (hashes.SHA384, "0.4.0.127.0.7.1.1.4.1.4"),
    "ecdsa-plain-SHA512": (hashes.SHA512, "0.4.0.127.0.7.1.1.4.1.5"),
    "ecdsa-plain-SHA3-224": (hashes.SHA3_224, "0.4.0.127.0.7.1.1.4.1.8"),
    "ecdsa-plain-SHA3-256": (hashes.SHA3_256, "0.4.0.127.0.7.1.1.4.1.9"),
    "ecdsa-plain-SHA3-384": (hashes.SHA3_384, "0.4.0.127.0.7.1.1.4.1.10"),
    "ecdsa-plain-SHA3-512": (hashes.SHA3_512, "0.4.0.127.0.7.1.1.4.1.11"),
}

#: DSFinV-K ``TSE_ZEITFORMAT`` values.
LOG_TIME_FORMATS = ("unixTime", "utcTime", "utcTimeWithSeconds", "generalizedTime", "generalizedTimeWithMilliseconds")

TRANSACTION_LOG_OID = "0.4.0.127.0.7.3.7.1.1"
FINISH_OPERATION = "FinishTransaction"

#: Curves allowed by TR-03116-5, by the byte length of one coordinate.
_CURVES_BY_SIZE: dict[int, tuple[ec.EllipticCurve, ...]] = {
    32: (ec.SECP256R1(), ec.BrainpoolP256R1()),
    48: (ec.SECP384R1(), ec.BrainpoolP384R1()),
    64: (ec.BrainpoolP512R1(),),
    66: (ec.SECP521R1(),),
}

_TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$")
_UNSIGNED_RE = re.compile(r"^(0|[1-9]\d*)$")


class QrCodeError(ValueError):
    """A QR code string or one of its parts is malformed."""


@dataclass(frozen=True)
class QrCodeData:
    """The twelve fields of a V0 receipt QR code (``qr_code_version`` is always ``V0``)."""

    client_id: str
    process_type: str
    process_data: str
    transaction_number: int
    signature_counter: int
    start_time: datetime
    log_time: datetime
    sig_alg: str
    log_time_format: str
    signature: bytes
    public_key: bytes

    @property
    def tse_serial(self) -> str:
        """Hex SHA-256 of the public key as given (``TSE_SERIAL``; print it beside the QR code)."""
        return hashlib.sha256(self.public_key).hexdigest()


@dataclass(frozen=True)
class QrVerification:
    """Result of :func:`verify_qr_code`.

    ``reason`` is a stable code: ``ok``, ``malformed``, ``unsupported_sig_alg``,
    ``unsupported_log_time_format``, ``invalid_public_key``, ``invalid_signature_encoding`` or
    ``signature_mismatch``; ``detail`` explains it for humans.
    """

    valid: bool
    reason: str
    detail: str = ""
    curve: str | None = None
    signature_encoding: str | None = None

    def __bool__(self) -> bool:
        return self.valid


# --- time format -------------------------------------------------------------------------------


def format_qr_time(value: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.fffZ`` in UTC; naive datetimes are refused (they are ambiguous)."""
    if not isinstance(value, datetime):
        raise QrCodeError(_("Expected a datetime, got %(type)s.") % {"type": type(value).__name__})
    if value.tzinfo is None or value.utcoffset() is None:
        raise QrCodeError(_("QR code times must be timezone-aware."))
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_qr_time(text: str) -> datetime:
    match = _TIME_RE.match(text)
    if not match:
        raise QrCodeError(_("Time %(value)r is not in the format YYYY-MM-DDThh:mm:ss.fffZ.") % {"value": text})
    year, month, day, hour, minute, second, millis = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except ValueError as exc:
        raise QrCodeError(_("Time %(value)r is not a valid date and time.") % {"value": text}) from exc


# --- build / parse -----------------------------------------------------------------------------


def _check_text_field(name: str, value: str, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str):
        raise QrCodeError(_("%(field)s must be a string.") % {"field": name})
    if not value and not allow_empty:
        raise QrCodeError(_("%(field)s must not be empty.") % {"field": name})
    if FIELD_SEPARATOR in value:
        raise QrCodeError(_("%(field)s must not contain ';' (it separates the QR code fields).") % {"field": name})
    if any(ord(char) < 0x20 for char in value):
        raise QrCodeError(_("%(field)s must not contain control characters.") % {"field": name})


def _check_counter(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QrCodeError(_("%(field)s must be a non-negative integer.") % {"field": name})


def build_qr_code(data: QrCodeData) -> str:
    """The V0 QR code string for ``data``."""
    _check_text_field("client_id", data.client_id)
    _check_text_field("process_type", data.process_type)
    _check_text_field("process_data", data.process_data, allow_empty=True)
    _check_counter("transaction_number", data.transaction_number)
    _check_counter("signature_counter", data.signature_counter)
    if data.sig_alg not in SIGNATURE_ALGORITHMS and not data.sig_alg.startswith("ecsdsa-plain-"):
        raise QrCodeError(_("Unknown signature algorithm %(value)r.") % {"value": data.sig_alg})
    if data.log_time_format not in LOG_TIME_FORMATS:
        raise QrCodeError(_("Unknown log time format %(value)r.") % {"value": data.log_time_format})
    for name in ("signature", "public_key"):
        value = getattr(data, name)
        if not isinstance(value, bytes | bytearray) or not value:
            raise QrCodeError(_("%(field)s must be non-empty bytes.") % {"field": name})
    fields = [
        QR_CODE_VERSION,
        data.client_id,
        data.process_type,
        data.process_data,
        str(data.transaction_number),
        str(data.signature_counter),
        format_qr_time(data.start_time),
        format_qr_time(data.log_time),
        data.sig_alg,
        data.log_time_format,
        base64.b64encode(bytes(data.signature)).decode("ascii"),
        base64.b64encode(bytes(data.public_key)).decode("ascii"),
    ]
    return FIELD_SEPARATOR.join(fields)


def _b64(name: str, text: str) -> bytes:
    try:
        value = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise QrCodeError(_("%(field)s is not valid base64.") % {"field": name}) from exc
    if not value:
        raise QrCodeError(_("%(field)s must not be empty.") % {"field": name})
    return value


def parse_qr_code(text: str) -> QrCodeData:
    """Split a V0 QR code string into its fields; raises :class:`QrCodeError` when malformed."""
    if not isinstance(text, str):
        raise QrCodeError(_("A QR code must be a string."))
    fields = text.split(FIELD_SEPARATOR)
    if len(fields) != FIELD_COUNT:
        raise QrCodeError(_("Expected 12 fields separated by ';', got %(count)d.") % {"count": len(fields)})
    (version, client_id, process_type, process_data, tx_number, sig_counter,
     start, log_time, sig_alg, log_time_format, signature, public_key) = fields  # fmt: skip
    if version != QR_CODE_VERSION:
        raise QrCodeError(_("Unsupported QR code version %(value)r.") % {"value": version})
    if not client_id:
        raise QrCodeError(_("%(field)s must not be empty.") % {"field": "client_id"})
    if not process_type:
        raise QrCodeError(_("%(field)s must not be empty.") % {"field": "process_type"})
    for name, value in (("transaction_number", tx_number), ("signature_counter", sig_counter)):
        if not _UNSIGNED_RE.match(value):
            raise QrCodeError(
                _("%(field)s %(value)r is not a non-negative decimal integer.") % {"field": name, "value": value}
            )
    if log_time_format not in LOG_TIME_FORMATS:
        raise QrCodeError(_("Unknown log time format %(value)r.") % {"value": log_time_format})
    return QrCodeData(
        client_id=client_id,
        process_type=process_type,
        process_data=process_data,
        transaction_number=int(tx_number),
        signature_counter=int(sig_counter),
        start_time=parse_qr_time(start),
        log_time=parse_qr_time(log_time),
        sig_alg=sig_alg,
        log_time_format=log_time_format,
        signature=_b64("signature", signature),
        public_key=_b64("public_key", public_key),
    )


# --- the signed message (DER through tse.backends.der) ---------------------------------------------


def _log_time_tlvs(log_time: datetime, log_time_format: str) -> list[bytes]:
    """Candidate encodings of the finish log time (``utcTime`` is used with and without seconds)."""
    utc = log_time.astimezone(UTC)
    if log_time_format == "unixTime":
        return [der.tlv(0x02, der.integer_content(int(utc.timestamp())))]
    if log_time_format == "utcTime":
        return [der.tlv(0x17, utc.strftime(fmt).encode("ascii")) for fmt in ("%y%m%d%H%M%SZ", "%y%m%d%H%MZ")]
    if log_time_format == "utcTimeWithSeconds":
        return [der.tlv(0x17, utc.strftime("%y%m%d%H%M%SZ").encode("ascii"))]
    if log_time_format == "generalizedTime":
        return [der.tlv(0x18, utc.strftime("%Y%m%d%H%M%SZ").encode("ascii"))]
    if log_time_format == "generalizedTimeWithMilliseconds":
        text = utc.strftime("%Y%m%d%H%M%S.") + f"{utc.microsecond // 1000:03d}Z"
        return [der.tlv(0x18, text.encode("ascii"))]
    raise QrCodeError(_("Unknown log time format %(value)r.") % {"value": log_time_format})


def signed_messages(data: QrCodeData, serial_number: bytes) -> list[bytes]:
    """The TR-03151 FinishTransaction log message(s) M whose signature the QR code carries.

    ``serial_number`` is SHA-256 of the TSE public key (uncompressed point). More than one
    candidate is returned only where the time format is ambiguous (``utcTime``).
    """
    if data.sig_alg not in SIGNATURE_ALGORITHMS:
        raise QrCodeError(_("Unsupported signature algorithm %(value)r.") % {"value": data.sig_alg})
    algorithm_oid = SIGNATURE_ALGORITHMS[data.sig_alg][1]
    head = b"".join(
        [
            der.tlv(0x02, der.integer_content(2)),
            der.oid(TRANSACTION_LOG_OID),
            der.tlv(0x80, FINISH_OPERATION.encode("ascii")),
            der.tlv(0x81, data.client_id.encode("utf-8")),
            der.tlv(0x82, data.process_data.encode("utf-8")),
            der.tlv(0x83, data.process_type.encode("utf-8")),
            der.tlv(0x85, der.integer_content(data.transaction_number)),
            der.tlv(0x04, serial_number),
            der.sequence(der.oid(algorithm_oid)),
            der.tlv(0x02, der.integer_content(data.signature_counter)),
        ]
    )
    return [head + time_tlv for time_tlv in _log_time_tlvs(data.log_time, data.log_time_format)]


# --- verification ------------------------------------------------------------------------------


def _candidate_keys(public_key: bytes) -> list[ec.EllipticCurvePublicKey]:
    """Every allowed-curve key the bytes describe: a raw point (tried on each curve of its size)
    or a DER SubjectPublicKeyInfo."""
    keys: list[ec.EllipticCurvePublicKey] = []
    if public_key[:1] == b"\x04" and (len(public_key) - 1) % 2 == 0:
        sizes = [(len(public_key) - 1) // 2]
    elif public_key[:1] in (b"\x02", b"\x03"):
        sizes = [len(public_key) - 1]
    else:
        sizes = []
    for size in sizes:
        for curve in _CURVES_BY_SIZE.get(size, ()):
            try:
                keys.append(ec.EllipticCurvePublicKey.from_encoded_point(curve, public_key))
            except ValueError:
                continue  # the point is not on this curve
    if not keys:
        try:
            loaded = serialization.load_der_public_key(public_key)
        except (ValueError, UnsupportedAlgorithm):
            return []
        allowed = {curve.name for curves in _CURVES_BY_SIZE.values() for curve in curves}
        if isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.curve.name in allowed:
            keys.append(loaded)
    return keys


def _candidate_signatures(signature: bytes, coordinate_size: int) -> list[tuple[str, bytes]]:
    """(encoding, DER signature) pairs: plain ``r||s`` when the length fits, DER when it parses."""
    candidates: list[tuple[str, bytes]] = []
    if len(signature) == 2 * coordinate_size:
        r = int.from_bytes(signature[:coordinate_size], "big")
        s = int.from_bytes(signature[coordinate_size:], "big")
        candidates.append(("plain", encode_dss_signature(r, s)))
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        pass
    else:
        if encode_dss_signature(r, s) == signature:
            candidates.append(("der", signature))
    return candidates


def verify_qr_code(text: str) -> QrVerification:
    """Verify the TSE signature of a V0 receipt QR code.

    Only the FinishTransaction data is covered by the signature; the start time cannot be
    checked from the QR code alone.
    """
    try:
        data = parse_qr_code(text)
    except QrCodeError as exc:
        return QrVerification(False, "malformed", str(exc))
    if data.sig_alg not in SIGNATURE_ALGORITHMS:
        return QrVerification(
            False, "unsupported_sig_alg", _("Cannot verify signature algorithm %(value)r.") % {"value": data.sig_alg}
        )
    hash_algorithm = SIGNATURE_ALGORITHMS[data.sig_alg][0]()
    keys = _candidate_keys(data.public_key)
    if not keys:
        return QrVerification(False, "invalid_public_key", _("The public key is not a point on an allowed curve."))
    any_signature_decoded = False
    for key in keys:
        coordinate_size = (key.curve.key_size + 7) // 8
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        messages = signed_messages(data, hashlib.sha256(point).digest())
        for encoding, der_signature in _candidate_signatures(data.signature, coordinate_size):
            any_signature_decoded = True
            for message in messages:
                try:
                    key.verify(der_signature, message, ec.ECDSA(hash_algorithm))
                except InvalidSignature:
                    continue
                return QrVerification(True, "ok", "", curve=key.curve.name, signature_encoding=encoding)
    if not any_signature_decoded:
        return QrVerification(
            False, "invalid_signature_encoding", _("The signature is neither plain r||s nor DER encoded.")
        )
    return QrVerification(False, "signature_mismatch", _("The signature does not match the QR code data."))


# --- rendering ---------------------------------------------------------------------------------


def make_qr_symbol(text: str) -> segno.QRCode:
    """The QR symbol: byte mode, UTF-8, error correction level M (not boosted)."""
    return segno.make_qr(text, error="m", mode="byte", encoding="utf-8", boost_error=False)


def render_png(text: str, *, scale: int = 4, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    make_qr_symbol(text).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def render_svg(text: str, *, scale: int = 4, border: int = 4) -> str:
    buffer = io.BytesIO()
    make_qr_symbol(text).save(buffer, kind="svg", scale=scale, border=border, xmldecl=False, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")
