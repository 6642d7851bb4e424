"""The synchronous structure check: 400 E_VALIDATION lists every problem with its path; nothing is stored."""

import uuid
from decimal import Decimal

import pytest

from exports.models import CashPointClosing
from tests.dsfinvk_closings import put_closing, receipt, signed_closing_payload
from tests.helpers import api_client, assert_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def payload(register):
    return signed_closing_payload(register, [receipt("3.20"), receipt("5.00", vat_key=2, typ="ECKarte")])


def refused(owner, body) -> set[tuple[str, str]]:
    response = put_closing(api_client(owner.key), uuid.uuid4(), body)
    envelope = assert_envelope(response, 400, "E_VALIDATION")
    assert not CashPointClosing.unscoped.exists()
    return {(error["path"], error["code"]) for error in envelope["details"]["errors"]}


def _tx(payload, index=0):
    return payload["transactions"][index]


def _line(payload):
    return _tx(payload)["data"]["lines"][0]


CASES = [
    ("unknown_field", lambda p: p["head"].update(extra=1), "head.extra"),
    ("required", lambda p: p.pop("cash_statement"), "cash_statement"),
    ("null", lambda p: p.update(cash_point_closing_export_id=None), "cash_point_closing_export_id"),
    ("invalid_type", lambda p: _tx(p)["head"].update(number="1"), "transactions[0].head.number"),
    ("invalid_type", lambda p: _line(p).update(storno="no"), "transactions[0].data.lines[0].storno"),
    ("too_long", lambda p: _line(p).update(text="x" * 256), "transactions[0].data.lines[0].text"),
    ("invalid_choice", lambda p: _tx(p)["head"].update(type="Rechnung"), "transactions[0].head.type"),
    ("invalid_choice", lambda p: _tx(p)["data"]["payment_types"][0].update(type="Scheck"),
     "transactions[0].data.payment_types[0].type"),
    ("too_many_decimals", lambda p: _line(p)["item"].update(quantity=Decimal("1.0001")),
     "transactions[0].data.lines[0].item.quantity"),
    ("too_many_decimals", lambda p: _tx(p)["data"].update(full_amount_incl_vat=Decimal("3.201")),
     "transactions[0].data.full_amount_incl_vat"),
    ("invalid_decimal", lambda p: _tx(p)["data"].update(full_amount_incl_vat="3,20"),
     "transactions[0].data.full_amount_incl_vat"),
    ("invalid_uuid", lambda p: p.update(client_id="KASSE-01"), "client_id"),
    ("invalid_date", lambda p: p["head"].update(business_date="30.11.2026"), "head.business_date"),
    ("min_value", lambda p: p.update(cash_point_closing_export_id=0), "cash_point_closing_export_id"),
    ("one_of", lambda p: _tx(p)["security"].update(error_message="TSE weg"), "transactions[0].security"),
    ("invalid_combination", lambda p: _tx(p)["data"]["amounts_per_vat_id"][0].pop("incl_vat") and
     _tx(p)["data"]["amounts_per_vat_id"][0].pop("vat"), "transactions[0].data.amounts_per_vat_id[0]"),
    ("required", lambda p: _tx(p)["head"].update(type="AVSonstige"), "transactions[0].head.name"),
    ("invalid_format", lambda p: p["cash_statement"]["payment"]["cash_amounts_by_currency"][0].update(
        currency_code="eur"), "cash_statement.payment.cash_amounts_by_currency[0].currency_code"),
    ("before_start", lambda p: _tx(p)["head"].update(timestamp_end=_tx(p)["head"]["timestamp_start"] - 1),
     "transactions[0].head.timestamp_end"),
    ("invalid_type", lambda p: p.update(transactions={}), "transactions"),
    ("min_items", lambda p: _line(p)["business_case"].update(amounts_per_vat_id=[]),
     "transactions[0].data.lines[0].business_case.amounts_per_vat_id"),
    ("invalid_choice", lambda p: _tx(p)["head"].update(references=[{"type": "InterneTransaktion"}]),
     "transactions[0].head.references[0].type"),
]


@pytest.mark.parametrize("code, change, path", CASES, ids=[f"{case[0]}-{case[2]}" for case in CASES])
def test_a_structural_problem_is_refused_at_once(owner, payload, code, change, path):
    change(payload)
    assert (path, code) in refused(owner, payload)


def test_every_problem_is_listed(owner, payload, in_english):
    payload["head"]["extra"] = True
    _tx(payload, 1)["data"]["lines"][0]["item"]["price_per_unit"] = "abc"
    payload["cash_statement"]["payment"].pop("full_amount")
    response = put_closing(api_client(owner.key), uuid.uuid4(), payload)
    body = assert_envelope(response, 400, "E_VALIDATION")
    assert body["details"]["errors"] == [
        {"path": "head.extra", "code": "unknown_field", "message": "This field is not allowed here."},
        {"path": "cash_statement.payment.full_amount", "code": "required", "message": "This field is required."},
        {"path": "transactions[1].data.lines[0].item.price_per_unit", "code": "invalid_decimal",
         "message": "Enter a decimal number with a dot as decimal separator."},
    ]
    assert "3 problem(s)" in body["message"]


def test_references_are_checked_by_their_type(owner, payload):
    _tx(payload)["head"]["references"] = [
        {"type": "Transaktion", "cash_point_closing_export_id": 1, "cash_register_export_id": "KASSE-01",
         "transaction_export_id": "7", "date": 1_764_000_000},
        {"type": "ExterneSonstige", "external_other_export_id": "LS-1"},
    ]
    assert refused(owner, payload) == {("transactions[0].head.references[1].name", "required")}


def test_a_body_that_is_no_json_object(owner, register):
    client = api_client(owner.key)
    assert_envelope(put_closing(client, uuid.uuid4(), "{not json"), 400, "E_PARSE")
    assert_envelope(put_closing(client, uuid.uuid4(), '{"a": NaN}'), 400, "E_PARSE")
    response = client.put(f"/api/v1/cash_point_closings/{uuid.uuid4()}", "{}".encode("utf-16"),
                          content_type="application/json")
    assert_envelope(response, 400, "E_PARSE")
    body = assert_envelope(put_closing(client, uuid.uuid4(), "[]"), 400, "E_VALIDATION")
    assert body["details"]["errors"][0] == {"path": "", "code": "invalid_type", "message": body["details"]["errors"][0]
                                            ["message"]}


def test_an_unknown_client_is_404(owner, payload):
    payload["client_id"] = str(uuid.uuid4())
    response = put_closing(api_client(owner.key), uuid.uuid4(), payload)
    assert_envelope(response, 404, "E_CASH_REGISTER_NOT_FOUND")
    assert not CashPointClosing.unscoped.exists()


def test_a_body_beyond_the_limit_is_refused(owner, payload, monkeypatch):
    from exports.api import closings

    monkeypatch.setattr(closings, "MAX_BODY_BYTES", 100)
    assert_envelope(put_closing(api_client(owner.key), uuid.uuid4(), payload), 413, "E_REQUEST_TOO_LARGE")
    assert not CashPointClosing.unscoped.exists()
