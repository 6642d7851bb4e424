"""The receipt: every § 6 KassenSichV field, QR code (SVG inline, PNG verifiable), outage and test markers."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from tests.tse import verifier
from tse.models import LogMessage, SigningUnitMode
from tse.receipts.qr_code import parse_qr_code, render_png, render_svg, verify_qr_code
from tse.services.protocol import receipt_data

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _url(owner, tx, suffix=""):
    return f"/o/{owner.org_id}/tse/transactions/{tx.public_id}/receipt/{suffix}"


def _field(body, name) -> str:
    return body.split(f'data-testid="receipt-{name}">')[1].split("</dd>")[0]


def test_receipt_shows_every_required_field(actors, signed, in_english):
    tx = signed[1]
    unit = tx.signing_unit
    finish = LogMessage.unscoped.get(signing_unit=unit, transaction_number=1, operation_type="FinishTransaction")
    body = actors.session_client("owner").get(_url(actors.owner, tx)).content.decode()
    point = serialization.load_der_public_key(bytes(unit.public_key)).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert _field(body, "transaction-number") == "1"
    assert _field(body, "signature-counter") == str(finish.signature_counter)
    assert _field(body, "time-start") == "2026-07-03T22:30:00.000Z"
    assert _field(body, "time-end") == "2026-07-03T22:30:00.000Z"
    assert _field(body, "client-id") == "KASSE-01"
    assert _field(body, "tse-serial") == unit.serial_number
    assert _field(body, "signature") == base64.b64encode(verifier.parse_log(bytes(finish.der)).signature).decode()
    assert _field(body, "time-format") == "unixTime"
    assert _field(body, "signature-algorithm") == "ecdsa-plain-SHA256"
    assert _field(body, "public-key") == base64.b64encode(point).decode()
    assert _field(body, "process-type") == "Kassenbeleg-V1"
    assert _field(body, "process-data") == "Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"
    assert "Owner Betriebs GmbH" in body
    assert 'data-testid="receipt-tse-failure"' not in body
    assert 'data-testid="receipt-test-mode"' in body  # software TSE: test mode (and the sandbox)
    qr = body.split('data-testid="receipt-qr">')[1].split("</div>")[0]
    assert qr.lstrip().startswith("<svg") and "</svg>" in qr
    assert _url(actors.owner, tx, "qr.png") in body


def test_qr_png_decodes_and_verifies(actors, signed):
    """The PNG is the QR symbol of the receipt's V0 string, and that string verifies against the TSE key.

    No QR image decoder is installed, so the PNG is compared with segno's rendering of the string
    (the same symbol, pixel for pixel) and the string itself is verified.
    """
    tx = signed[1]
    response = actors.session_client("partner").get(_url(actors.owner, tx, "qr.png"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)
    text = receipt_data(tx, sandbox=True).qr_code
    assert response.content == render_png(text, scale=4)
    check = verify_qr_code(text)
    assert check.valid, check
    data = parse_qr_code(text)
    assert (data.client_id, data.transaction_number, data.process_type) == ("KASSE-01", 1, "Kassenbeleg-V1")
    assert data.process_data == "Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"
    assert data.tse_serial == tx.signing_unit.serial_number
    finish = LogMessage.unscoped.get(signing_unit=tx.signing_unit, transaction_number=1,
                                     operation_type="FinishTransaction")
    assert data.log_time == finish.log_time and data.signature_counter == finish.signature_counter
    assert data.start_time == tx.time_start
    # the inline SVG on the page is the same symbol
    body = actors.session_client("owner").get(_url(actors.owner, tx)).content.decode()
    assert render_svg(text, scale=3) in body


def test_process_data_that_cannot_go_into_a_qr_code(actors, signed, in_english):
    """Order data (``Bestellung-V1``) contains ``;``, the QR field separator: the fields are printed, no QR code."""
    tx = signed[3]
    assert receipt_data(tx, sandbox=False).qr_code == ""
    client = actors.session_client("owner")
    body = client.get(_url(actors.owner, tx)).content.decode()
    assert 'data-testid="receipt-qr"' not in body and 'data-testid="receipt-no-qr"' in body
    assert 'data-testid="receipt-tse-failure"' not in body
    assert _field(body, "process-data") == "1;&quot;Kaffee&quot;;2.50"
    assert client.get(_url(actors.owner, tx, "qr.png")).status_code == 404


def test_unsigned_transaction_shows_the_outage_marker(actors, signed, in_english):
    tx = signed[2]
    client = actors.session_client("owner")
    body = client.get(_url(actors.owner, tx)).content.decode()
    assert 'data-testid="receipt-tse-failure"' in body and "TSE not available" in body
    assert _field(body, "signature") == "–" and _field(body, "signature-counter") == "–"
    assert 'data-testid="receipt-qr"' not in body
    assert client.get(_url(actors.owner, tx, "qr.png")).status_code == 404


def test_outage_marker_in_the_default_language(actors, signed, settings):
    settings.LANGUAGE_CODE = "de"
    body = actors.session_client("owner").get(_url(actors.owner, signed[2])).content.decode()
    assert 'data-testid="receipt-tse-failure"' in body


def test_live_unit_in_live_portal_has_no_test_marker(actors, signed, settings):
    unit = signed[3].signing_unit
    type(unit).unscoped.filter(pk=unit.pk).update(mode=SigningUnitMode.LIVE)
    client = actors.session_client("owner")
    assert 'data-testid="receipt-test-mode"' in client.get(_url(actors.owner, signed[3])).content.decode()
    settings.PORTAL_ENVIRONMENT = "live"
    assert 'data-testid="receipt-test-mode"' not in client.get(_url(actors.owner, signed[3])).content.decode()
