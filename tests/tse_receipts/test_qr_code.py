"""Receipt QR code (DSFinV-K Annex I "V0"): build, parse, verify, render — no database."""

import base64
import hashlib
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tse.receipts.process_data import build_receipt
from tse.receipts.qr_code import (
    QrCodeData,
    QrCodeError,
    build_qr_code,
    format_qr_time,
    make_qr_symbol,
    parse_qr_code,
    parse_qr_time,
    render_png,
    render_svg,
    signed_messages,
    verify_qr_code,
)

# The messages under test are the English msgids; the portal defaults to German.
pytestmark = pytest.mark.usefixtures("in_english")

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTOR_FILE = "qr_test_vectors.txt"
REPO_VECTORS = Path(__file__).resolve().parent / "data" / VECTOR_FILE
SHARED_VECTORS = REPO_ROOT / ".." / "shared" / "dsfinvk" / VECTOR_FILE


def load_vectors(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("V0;")]


VECTORS = load_vectors(REPO_VECTORS)
EXPECTED = {1: True, 2: True, 3: False, 4: True}


# --- the real test vectors ---------------------------------------------------------------------


def test_repository_copy_has_the_four_vectors():
    assert len(VECTORS) == 4


@pytest.mark.skipif(not SHARED_VECTORS.exists(), reason="shared reference data not available (fresh clone)")
def test_repository_copy_matches_the_shared_file():
    assert load_vectors(SHARED_VECTORS) == VECTORS


@pytest.mark.skipif(not SHARED_VECTORS.exists(), reason="shared reference data not available (fresh clone)")
@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_shared_vectors(number):
    assert verify_qr_code(load_vectors(SHARED_VECTORS)[number - 1]).valid is EXPECTED[number]


@pytest.mark.parametrize(
    ("number", "curve", "encoding"),
    [(1, "secp256r1", "plain"), (2, "brainpoolP384r1", "plain"), (4, "brainpoolP256r1", "der")],
)
def test_valid_vectors(number, curve, encoding):
    result = verify_qr_code(VECTORS[number - 1])
    assert result.valid
    assert bool(result)
    assert result.reason == "ok"
    assert (result.curve, result.signature_encoding) == (curve, encoding)


def test_tampered_vector_fails():
    result = verify_qr_code(VECTORS[2])
    assert not result.valid
    assert result.reason == "signature_mismatch"
    assert str(result.detail) == "The signature does not match the QR code data."


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_vectors_roundtrip(number):
    text = VECTORS[number - 1]
    assert build_qr_code(parse_qr_code(text)) == text


def test_vector_fields():
    data = parse_qr_code(VECTORS[1])
    assert data.client_id == "AMA-6200"
    assert data.process_type == "KassenBeleg-V1"  # reproduced byte-exactly, capital B
    assert data.process_data == "Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar"
    assert (data.transaction_number, data.signature_counter) == (160504, 344413)
    assert data.start_time == datetime(2021, 7, 23, 10, 12, 54, tzinfo=UTC)
    assert data.log_time == datetime(2021, 7, 23, 10, 12, 55, tzinfo=UTC)
    assert (data.sig_alg, data.log_time_format) == ("ecdsa-plain-SHA384", "unixTime")
    assert len(data.signature) == 96
    assert len(data.public_key) == 97
    assert data.tse_serial == hashlib.sha256(data.public_key).hexdigest()


def test_vector_1_process_data_is_what_the_builder_produces():
    data = parse_qr_code(VECTORS[0])
    receipt = {
        "receipt_type": "RECEIPT",
        "amounts_per_vat_rate": [{"vat_rate": "NORMAL", "amount": "21.42"}],
        "amounts_per_payment_type": [{"payment_type": "NON_CASH", "amount": "21.42", "currency_code": "EUR"}],
    }
    built = build_receipt(receipt)
    assert (built.process_type, built.process_data) == (data.process_type, data.process_data)


def test_signed_message_layout():
    data = parse_qr_code(VECTORS[0])
    serial = hashlib.sha256(data.public_key).digest()
    (message,) = signed_messages(data, serial)
    client = data.client_id.encode()
    process_data = data.process_data.encode()
    expected = (
        bytes.fromhex("020102" "060904007F000703070101")
        + b"\x80\x11FinishTransaction"
        + bytes([0x81, len(client)]) + client
        + bytes([0x82, len(process_data)]) + process_data
        + b"\x83\x0eKassenbeleg-V1"
        + bytes.fromhex("850101")
        + b"\x04\x20" + serial
        + bytes.fromhex("300C060A04007F00070101040103")
        + bytes.fromhex("02011F")
        + b"\x02\x04" + struct.pack(">I", int(datetime(2021, 8, 23, 14, 36, 33, tzinfo=UTC).timestamp()))
    )  # fmt: skip
    assert message == expected


# --- malformed input ---------------------------------------------------------------------------


def _with_field(text: str, index: int, value: str) -> str:
    fields = text.split(";")
    fields[index] = value
    return ";".join(fields)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "malformed"),
        (VECTORS[0] + ";", "malformed"),
        (VECTORS[0].replace("V0;", "V1;", 1), "malformed"),
        (_with_field(VECTORS[0], 1, ""), "malformed"),
        (_with_field(VECTORS[0], 2, ""), "malformed"),
        (_with_field(VECTORS[0], 4, "-1"), "malformed"),
        (_with_field(VECTORS[0], 5, "031"), "malformed"),
        (_with_field(VECTORS[0], 6, "2021-08-23T14:36:27Z"), "malformed"),
        (_with_field(VECTORS[0], 7, "2021-02-30T14:36:33.000Z"), "malformed"),
        (_with_field(VECTORS[0], 9, "UnixTime"), "malformed"),
        (_with_field(VECTORS[0], 10, "not base64!"), "malformed"),
        (_with_field(VECTORS[0], 11, ""), "malformed"),
        (_with_field(VECTORS[0], 8, "ecsdsa-plain-SHA256"), "unsupported_sig_alg"),
        (_with_field(VECTORS[0], 8, "rsa"), "unsupported_sig_alg"),
        (_with_field(VECTORS[0], 11, base64.b64encode(b"\x04" + b"\x01" * 64).decode()), "invalid_public_key"),
        (_with_field(VECTORS[0], 11, base64.b64encode(b"garbage").decode()), "invalid_public_key"),
        (_with_field(VECTORS[0], 10, base64.b64encode(b"\x01" * 63).decode()), "invalid_signature_encoding"),
        # vector 1 signed under another transaction number / time / counter
        (_with_field(VECTORS[0], 4, "2"), "signature_mismatch"),
        (_with_field(VECTORS[0], 5, "32"), "signature_mismatch"),
        (_with_field(VECTORS[0], 7, "2021-08-23T14:36:34.000Z"), "signature_mismatch"),
        (_with_field(VECTORS[0], 1, "ers 8cb8e2de-4052-481b-945b-118022951944"), "signature_mismatch"),
        (_with_field(VECTORS[0], 8, "ecdsa-plain-SHA384"), "signature_mismatch"),
    ],
)
def test_verification_failures(text, reason):
    result = verify_qr_code(text)
    assert not result.valid
    assert result.reason == reason
    assert str(result.detail)


def test_start_time_is_not_signed():
    """The signature covers the FinishTransaction only (tse.md §7.2)."""
    assert verify_qr_code(_with_field(VECTORS[0], 6, "2021-08-23T14:30:00.000Z")).valid


def test_parse_errors():
    with pytest.raises(QrCodeError, match="12 fields"):
        parse_qr_code("V0;a;b")
    with pytest.raises(QrCodeError):
        parse_qr_code(None)


# --- own key pairs -----------------------------------------------------------------------------

LOG_TIME = datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC)


def sign(data: QrCodeData, key: ec.EllipticCurvePrivateKey, hash_algorithm, *, der: bool = False) -> QrCodeData:
    """Sign ``data`` like a TSE: TR-03151 Finish log message, plain r||s (or DER)."""
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    data = replace(data, public_key=point, signature=b"\x00")
    message = signed_messages(data, hashlib.sha256(point).digest())[0]
    der_signature = key.sign(message, ec.ECDSA(hash_algorithm))
    if der:
        return replace(data, signature=der_signature)
    size = (key.curve.key_size + 7) // 8
    r, s = decode_dss_signature(der_signature)
    return replace(data, signature=r.to_bytes(size, "big") + s.to_bytes(size, "big"))


def unsigned(**changes) -> QrCodeData:
    values = {
        "client_id": "KASSE-01",
        "process_type": "Kassenbeleg-V1",
        "process_data": "Beleg^11.90_3.21_0.00_0.00_0.00^15.11:Bar",
        "transaction_number": 128,
        "signature_counter": 2**31,
        "start_time": LOG_TIME - timedelta(seconds=7),
        "log_time": LOG_TIME,
        "sig_alg": "ecdsa-plain-SHA256",
        "log_time_format": "unixTime",
        "signature": b"\x00",
        "public_key": b"\x00",
    }
    values.update(changes)
    return QrCodeData(**values)


@pytest.mark.parametrize(
    ("curve", "hash_algorithm", "sig_alg"),
    [
        (ec.SECP256R1(), hashes.SHA256(), "ecdsa-plain-SHA256"),
        (ec.BrainpoolP256R1(), hashes.SHA256(), "ecdsa-plain-SHA256"),
        (ec.SECP384R1(), hashes.SHA384(), "ecdsa-plain-SHA384"),
        (ec.BrainpoolP384R1(), hashes.SHA384(), "ecdsa-plain-SHA384"),
        (ec.BrainpoolP512R1(), hashes.SHA512(), "ecdsa-plain-SHA512"),
        (ec.SECP521R1(), hashes.SHA512(), "ecdsa-plain-SHA512"),
        (ec.SECP256R1(), hashes.SHA3_256(), "ecdsa-plain-SHA3-256"),
    ],
)
def test_fresh_key_pair_verifies_and_one_changed_character_fails(curve, hash_algorithm, sig_alg):
    key = ec.generate_private_key(curve)
    text = build_qr_code(sign(unsigned(sig_alg=sig_alg), key, hash_algorithm))
    result = verify_qr_code(text)
    assert result.valid, result
    assert result.curve == curve.name
    assert result.signature_encoding == "plain"
    tampered = text.replace("11.90", "11.91")
    assert tampered != text
    assert verify_qr_code(tampered).reason == "signature_mismatch"


def test_der_signature_and_spki_public_key_are_accepted():
    key = ec.generate_private_key(ec.SECP256R1())
    data = sign(unsigned(), key, hashes.SHA256(), der=True)
    assert verify_qr_code(build_qr_code(data)).signature_encoding == "der"
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert verify_qr_code(build_qr_code(replace(data, public_key=spki))).valid


@pytest.mark.parametrize("curve", [ec.SECP256K1(), ec.SECP224R1()])
def test_keys_on_curves_not_allowed_by_tr_03116_are_refused(curve):
    key = ec.generate_private_key(curve)
    data = sign(unsigned(), key, hashes.SHA256())
    assert verify_qr_code(build_qr_code(data)).reason == "invalid_public_key"
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert verify_qr_code(build_qr_code(replace(data, public_key=spki))).reason == "invalid_public_key"


@pytest.mark.parametrize(
    "log_time_format", ["utcTime", "utcTimeWithSeconds", "generalizedTime", "generalizedTimeWithMilliseconds"]
)
def test_other_time_formats_roundtrip_with_own_signature(log_time_format):
    """Self-consistency only: no real receipt with these formats is available (tse.md §7.2)."""
    key = ec.generate_private_key(ec.SECP256R1())
    text = build_qr_code(sign(unsigned(log_time_format=log_time_format), key, hashes.SHA256()))
    assert verify_qr_code(text).valid
    later = format_qr_time(LOG_TIME + timedelta(minutes=1))
    assert not verify_qr_code(_with_field(text, 7, later)).valid


def test_large_counters_use_minimal_twos_complement():
    data = unsigned(transaction_number=128, signature_counter=2**31, log_time=datetime(2038, 1, 20, tzinfo=UTC))
    (message,) = signed_messages(data, b"\x00" * 32)
    assert b"\x85\x02\x00\x80" in message
    assert b"\x02\x05\x00\x80\x00\x00\x00" in message
    assert message.endswith(b"\x02\x05\x00" + struct.pack(">I", int(data.log_time.timestamp())))


# --- build / parse -----------------------------------------------------------------------------


def test_build_parse_roundtrip():
    berlin = timezone(timedelta(hours=1))
    data = unsigned(
        start_time=datetime(2026, 12, 1, 10, 30, 8, 123456, tzinfo=berlin),
        log_time=datetime(2026, 12, 1, 10, 30, 15, 250000, tzinfo=berlin),
        signature=b"\x01\x02",
        public_key=b"\x04\x05",
    )
    text = build_qr_code(data)
    assert text == (
        "V0;KASSE-01;Kassenbeleg-V1;Beleg^11.90_3.21_0.00_0.00_0.00^15.11:Bar;128;2147483648;"
        "2026-12-01T09:30:08.123Z;2026-12-01T09:30:15.250Z;ecdsa-plain-SHA256;unixTime;AQI=;BAU="
    )
    parsed = parse_qr_code(text)
    assert parsed.start_time == datetime(2026, 12, 1, 9, 30, 8, 123000, tzinfo=UTC)
    assert build_qr_code(parsed) == text
    # times come back in UTC, truncated to milliseconds; every other field unchanged
    assert parsed == replace(
        data,
        start_time=datetime(2026, 12, 1, 9, 30, 8, 123000, tzinfo=UTC),
        log_time=datetime(2026, 12, 1, 9, 30, 15, 250000, tzinfo=UTC),
    )


def test_qr_time_format():
    assert format_qr_time(datetime(2019, 7, 10, 18, 41, 4, tzinfo=UTC)) == "2019-07-10T18:41:04.000Z"
    assert parse_qr_time("2019-07-10T18:41:04.999Z") == datetime(2019, 7, 10, 18, 41, 4, 999000, tzinfo=UTC)
    with pytest.raises(QrCodeError, match="timezone-aware"):
        format_qr_time(datetime(2019, 7, 10, 18, 41, 4))  # noqa: DTZ001
    with pytest.raises(QrCodeError):
        format_qr_time("2019-07-10")


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": ""},
        {"client_id": "A;B"},
        {"process_type": ""},
        {"process_data": '1;"Beer";10.21'},  # Bestellung-V1 data cannot go into the QR code
        {"process_data": "Beleg\r"},
        {"client_id": 5},
        {"transaction_number": -1},
        {"signature_counter": True},
        {"sig_alg": "rsa"},
        {"log_time_format": "unix"},
        {"signature": b""},
        {"public_key": "BAU="},
        {"log_time": datetime(2026, 12, 1)},  # noqa: DTZ001
    ],
)
def test_build_rejects_bad_parts(changes):
    data = unsigned(signature=b"\x01", public_key=b"\x04")
    with pytest.raises(QrCodeError):
        build_qr_code(replace(data, **changes))


def test_empty_process_data_is_allowed():
    data = unsigned(process_data="", signature=b"\x01", public_key=b"\x04")
    assert parse_qr_code(build_qr_code(data)).process_data == ""


# --- rendering ---------------------------------------------------------------------------------


def decode_png(png: bytes) -> list[list[int]]:
    """Minimal PNG decoder (greyscale / palette, bit depth ≤ 8): rows of 0 (black) / 1 (white)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert colour in (0, 3) and depth in (1, 2, 4, 8) and interlace == 0
    palette = next((body for kind, body in chunks if kind == b"PLTE"), None)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width * depth + 7) // 8
    rows, previous, position = [], bytearray(stride), 0
    for _row in range(height):
        filter_type, line = raw[position], bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        bpp = max(1, depth // 8)
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, up_left = previous[i], previous[i - bpp] if i >= bpp else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + predictor) & 0xFF
            else:
                assert filter_type == 0
        previous = line
        bits = "".join(f"{byte:08b}" for byte in line)
        samples = [int(bits[x * depth : (x + 1) * depth], 2) for x in range(width)]
        if colour == 3:
            samples = [palette[3 * s] for s in samples]
            rows.append([1 if s > 127 else 0 for s in samples])
        else:
            rows.append([1 if s >= (1 << depth) // 2 else 0 for s in samples])
    assert position == len(raw)
    return rows


def test_png_starts_with_magic_and_decodes_to_the_symbol():
    text = VECTORS[0]
    scale, border = 3, 4
    png = render_png(text, scale=scale, border=border)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = decode_png(png)
    symbol = make_qr_symbol(text)
    assert symbol.error == "M"
    assert symbol.mode == "byte"
    size = len(symbol.matrix) + 2 * border
    assert len(pixels) == len(pixels[0]) == size * scale
    for y, row in enumerate(symbol.matrix_iter(border=border)):
        for x, dark in enumerate(row):
            assert pixels[y * scale + scale // 2][x * scale + scale // 2] == (0 if dark else 1)


def test_svg():
    svg = render_svg(VECTORS[1])
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert 'class="segno"' in svg


def test_error_level_is_not_boosted():
    assert make_qr_symbol("V0").error == "M"
