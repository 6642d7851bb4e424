"""Handing in closings end to end: PUT → task → COMPLETED, the stored document, summaries, replays and sequences."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from exports.dsfinvk.document import TAXONOMY_VERSION
from exports.models import CashPointClosing, ClosingTransaction, MasterDataRevision
from exports.services.closings import process_closing
from portal.models import LogEntry
from tenants.models import Outlet
from tests.dsfinvk_closings import closing_url, put_closing, receipt, signed_closing_payload
from tests.helpers import api_client, assert_envelope
from tse.models import TseTransaction

pytestmark = pytest.mark.django_db

RECEIPTS = [receipt("3.20"), receipt("5.00", vat_key=2, typ="ECKarte")]


def test_a_closing_is_accepted_and_stored_as_dsfinvk_data(owner, register, django_capture_on_commit_callbacks):
    payload = signed_closing_payload(register, RECEIPTS + [receipt("0.10", tse_failure="TSE nicht erreichbar")],
                                     creation=dt.datetime(2026, 12, 1, 22, 30, tzinfo=dt.UTC))
    closing_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = put_closing(api_client(owner.key), closing_id, payload)
    assert response.status_code == 200, response.content
    summary = response.json()
    assert summary["state"] == "PENDING" and summary["closing_id"] == str(closing_id)
    assert summary["cash_point_closing_export_id"] == 1 and summary["client_id"] == str(register.client.public_id)
    assert (summary["full_amount"], summary["cash_amount"], summary["transaction_count"]) == ("8.30", "3.30", 3)
    assert summary["master_data_revision"] is None and summary["taxonomy_version"] is None
    assert len(callbacks) == 1  # the task is sent once the request commits

    callbacks[0]()  # the (eager) task
    closing = CashPointClosing.unscoped.get(closing_id=closing_id)
    assert closing.state == "COMPLETED", closing.errors
    assert closing.z_erstellung == "2026-12-01T23:30:00+01:00"  # Berlin, with offset
    assert closing.revision.number == 1 and closing.payload is not None and closing.processed_at is not None
    assert (closing.first_bon_id, closing.last_bon_id, closing.line_count) == ("1", "3", 3)
    document = closing.document
    assert document["cashpointclosing"] == {
        "Z_BUCHUNGSTAG": None, "TAXONOMIE_VERSION": TAXONOMY_VERSION, "Z_START_ID": "1", "Z_ENDE_ID": "3",
        "Z_SE_ZAHLUNGEN": "8.30", "Z_SE_BARZAHLUNGEN": "3.30"}
    assert {(row["GV_TYP"], row["UST_SCHLUESSEL"], row["Z_UMS_BRUTTO"]) for row in document["businesscases"]} == {
        ("Umsatz", 1, "3.30"), ("Umsatz", 2, "5.00")}
    assert {(row["ZAHLART_TYP"], row["Z_ZAHLART_BETRAG"]) for row in document["payment"]} == {
        ("Bar", "3.30"), ("ECKarte", "5.00")}
    assert document["cash_per_currency"] == [{"ZAHLART_WAEH": "EUR", "ZAHLART_BETRAG_WAEH": "3.30"}]

    first, second, failed = document["transactions"]
    tse_tx = TseTransaction.unscoped.get(client=register.client, number=1)
    assert first["head"]["BON_ID"] == "1" and first["head"]["BON_TYP"] == "Beleg"
    assert first["head"]["UMS_BRUTTO"] == "3.20" and first["head"]["BEDIENER_NAME"] == "Anna"
    assert first["head"]["BON_START"].endswith("+01:00")
    assert first["vat"] == [{"UST_SCHLUESSEL": 1, "BON_BRUTTO": "3.20", "BON_NETTO": "2.68908", "BON_UST": "0.51092"}]
    assert first["payments"] == [{"ZAHLART_TYP": "Bar", "ZAHLART_NAME": None, "ZAHLWAEH_CODE": "EUR",
                                  "ZAHLWAEH_BETRAG": None, "BASISWAEH_BETRAG": "3.20"}]
    assert first["lines"][0]["line"]["ARTIKELTEXT"] == "Kaffee" and first["lines"][0]["line"]["STK_BR"] == "3.20000"
    row = first["tse"][0]
    assert row["TSE_TANR"] == tse_tx.number and row["TSE_TA_VORGANGSART"] == "Kassenbeleg-V1"
    assert row["TSE_VORGANGSDATEN"] == "Beleg^3.20_0.00_0.00_0.00_0.00^3.20:Bar"
    assert row["TSE_TA_START"].endswith("Z") and row["TSE_TA_SIG"] and row["TSE_TA_SIGZ"] > 0
    assert second["tse"][0]["TSE_VORGANGSDATEN"] == "Beleg^0.00_5.00_0.00_0.00_0.00^5.00:Unbar"
    assert failed["tse"] == [{"TSE_ID": 1, "TSE_TA_FEHLER": "TSE nicht erreichbar"}]
    assert failed["vat"][0]["BON_BRUTTO"] == "0.10"  # a JSON number, parsed exactly (a float would give 0.1)

    links = {row.bon_id: row.tse_transaction_id for row in ClosingTransaction.unscoped.filter(closing=closing)}
    assert links == {"1": tse_tx.pk, "2": TseTransaction.unscoped.get(client=register.client, number=2).pk,
                     "3": None}
    entry = LogEntry.unscoped.get(action="exports.closing.accepted")
    assert entry.organization == owner.organization and entry.data["z_nr"] == 1

    summary = api_client(owner.key).get(closing_url(closing_id)).json()
    assert summary["state"] == "COMPLETED" and summary["errors"] == [] and summary["error"] is None
    assert summary["master_data_revision"] == 1 and summary["taxonomy_version"] == TAXONOMY_VERSION
    details = api_client(owner.key).get(f"{closing_url(closing_id)}/details").json()
    assert details["document"] == document and details["Z_NR"] == 1 and details["Z_KASSE_ID"] == "KASSE-01"
    assert details["Z_ERSTELLUNG"] == "2026-12-01T23:30:00+01:00"


def test_amounts_may_be_decimal_strings_and_vat_parts_are_derived(owner, register, submit):
    payload = signed_closing_payload(register, [receipt("10.00")])
    tx = payload["transactions"][0]
    tx["data"]["full_amount_incl_vat"] = "10.00"
    tx["data"]["amounts_per_vat_id"] = [{"vat_definition_export_id": 1, "incl_vat": "10.00"}]
    tx["data"]["lines"][0]["business_case"]["amounts_per_vat_id"] = [{"vat_definition_export_id": 1,
                                                                     "excl_vat": "8.40336", "vat": "1.59664"}]
    response, closing = submit(payload)
    closing.refresh_from_db()
    assert closing.state == "COMPLETED", closing.errors
    document_tx = closing.document["transactions"][0]
    # incl_vat only: net = 10.00 × 100 / 119 = 8.403361… → 8.40336 (half up, 5 places), VAT = the rest
    assert document_tx["vat"] == [{"UST_SCHLUESSEL": 1, "BON_BRUTTO": "10.00", "BON_NETTO": "8.40336",
                                   "BON_UST": "1.59664"}]
    assert document_tx["lines"][0]["vat"][0]["POS_BRUTTO"] == "10.00000"


def test_a_replay_answers_the_stored_closing(owner, register, submit, django_capture_on_commit_callbacks):
    payload = signed_closing_payload(register, RECEIPTS)
    closing_id = uuid.uuid4()
    first, closing = submit(payload, closing_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        replay = put_closing(api_client(owner.key), closing_id, payload)
    assert replay.status_code == 200 and replay.json()["state"] == "COMPLETED"
    assert not callbacks  # nothing processed again
    assert CashPointClosing.unscoped.count() == 1 and ClosingTransaction.unscoped.count() == 2


def test_a_pending_replay_is_queued_again(owner, register, django_capture_on_commit_callbacks):
    payload = signed_closing_payload(register, RECEIPTS)
    closing_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=False) as first:
        put_closing(api_client(owner.key), closing_id, payload)
    with django_capture_on_commit_callbacks(execute=True) as second:
        replay = put_closing(api_client(owner.key), closing_id, payload)
    assert replay.status_code == 200 and (len(first), len(second)) == (1, 1)
    assert CashPointClosing.unscoped.get(closing_id=closing_id).state == "COMPLETED"
    first[0]()  # the first task arrives late: nothing happens twice
    assert ClosingTransaction.unscoped.count() == 2 and MasterDataRevision.unscoped.count() == 1


def test_another_body_with_the_same_id_is_a_conflict(owner, register, submit):
    payload = signed_closing_payload(register, RECEIPTS)
    closing_id = uuid.uuid4()
    submit(payload, closing_id)
    payload["head"]["business_date"] = "2026-11-30"
    response, closing = submit(payload, closing_id)
    assert_envelope(response, 409, "E_CASH_POINT_CLOSING_CONFLICT")
    assert closing.state == "COMPLETED" and closing.business_date is None


def test_a_rejected_closing_is_replaced_by_a_new_request(owner, register, submit):
    payload = signed_closing_payload(register, RECEIPTS)
    good_cash = payload["cash_statement"]["payment"]["cash_amount"]
    payload["cash_statement"]["payment"]["cash_amount"] = Decimal("0.00")
    closing_id = uuid.uuid4()
    _response, closing = submit(payload, closing_id)
    closing.refresh_from_db()
    assert closing.state == "ERROR" and closing.payload is None

    bad = dict(payload)
    payload["cash_statement"]["payment"]["cash_amount"] = good_cash
    response, closing = submit(payload, closing_id)
    assert response.status_code == 200, response.content
    closing.refresh_from_db()
    assert closing.state == "COMPLETED" and closing.errors == [] and closing.cash_amount == good_cash
    assert CashPointClosing.unscoped.count() == 1
    payload["cash_statement"]["payment"]["cash_amount"] = Decimal("0.00")
    assert_envelope(submit(bad, closing_id)[0], 409, "E_CASH_POINT_CLOSING_CONFLICT")


def test_z_nr_runs_on_without_gaps(register, submit):
    states = []
    for z_nr in (1, 2, 3):
        payload = signed_closing_payload(register, RECEIPTS, z_nr=z_nr, first_bon=2 * z_nr - 1)
        states.append(submit(payload)[1])
    assert [CashPointClosing.unscoped.get(pk=c.pk).state for c in states] == ["COMPLETED"] * 3
    for z_nr in (3, 5):
        _response, closing = submit(signed_closing_payload(register, RECEIPTS, z_nr=z_nr, first_bon=10 * z_nr))
        closing.refresh_from_db()
        assert closing.state == "ERROR"
        assert closing.errors == [{"path": "cash_point_closing_export_id", "code": "E_Z_NR_SEQUENCE",
                                   "message": closing.errors[0]["message"]}]
    completed = CashPointClosing.unscoped.filter(cash_register=register, state="COMPLETED")
    assert list(completed.order_by("z_nr").values_list("z_nr", flat=True)) == [1, 2, 3]
    assert set(ClosingTransaction.unscoped.values_list("bon_id", flat=True)) == {str(n) for n in range(1, 7)}


def test_a_master_data_change_makes_a_new_revision(register, submit):
    _response, first = submit(signed_closing_payload(register, RECEIPTS, z_nr=1))
    Outlet.unscoped.filter(pk=register.outlet_id).update(name="Filiale Nord")
    _response, second = submit(signed_closing_payload(register, [receipt("1.00")], z_nr=2, first_bon=3))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.revision.number, second.revision.number) == (1, 2)
    assert first.revision.data["location"]["LOC_NAME"] == "Filiale Mitte"
    assert second.revision.data["location"]["LOC_NAME"] == "Filiale Nord"
    _response, third = submit(signed_closing_payload(register, [receipt("1.00")], z_nr=3, first_bon=4))
    third.refresh_from_db()
    assert third.revision_id == second.revision_id  # unchanged data: the same revision


def test_processing_twice_changes_nothing(register, submit):
    _response, closing = submit(signed_closing_payload(register, RECEIPTS))
    closing.refresh_from_db()
    again = process_closing(closing.pk)
    assert again.state == "COMPLETED" and again.processed_at == closing.processed_at
    assert ClosingTransaction.unscoped.count() == 2 and MasterDataRevision.unscoped.count() == 1


def test_the_list_filters(owner, register, submit):
    first = submit(signed_closing_payload(register, RECEIPTS, z_nr=1,
                                          creation=dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)))[1]
    bad = signed_closing_payload(register, RECEIPTS, z_nr=5, first_bon=3,
                                 creation=dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC))
    second = submit(bad)[1]
    client = api_client(owner.key)

    def ids(**query):
        response = client.get("/api/v1/cash_point_closings", query)
        assert response.status_code == 200, response.content
        return [row["closing_id"] for row in response.json()["results"]]

    assert ids() == [str(first.closing_id), str(second.closing_id)]
    assert ids(states="ERROR") == [str(second.closing_id)]
    assert ids(**{"states[]": ["COMPLETED", "ERROR"]}) == [str(first.closing_id), str(second.closing_id)]
    assert ids(start_date=int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp())) == [str(second.closing_id)]
    assert ids(end_date=int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp())) == [str(first.closing_id)]
    assert ids(client_id=str(register.client.public_id)) == [str(first.closing_id), str(second.closing_id)]
    assert ids(client_id=str(uuid.uuid4())) == []
    assert_envelope(client.get("/api/v1/cash_point_closings", {"states": "DONE"}), 400, "E_VALIDATION")
    response = client.get(closing_url(second.closing_id))
    body = response.json()
    assert body["state"] == "ERROR" and body["error"]["code"] == "E_Z_NR_SEQUENCE" and body["errors"]
    assert_envelope(client.get(f"{closing_url(second.closing_id)}/details"), 404, "E_CASH_POINT_CLOSING_NOT_FOUND")
    assert_envelope(client.get(closing_url(uuid.uuid4())), 404, "E_NOT_FOUND")


def test_foreign_currency_cash_and_named_payments(register, submit):
    spec = {"lines": [{"text": "Menü", "vat_key": 1, "gross": Decimal("8.40")},
                      {"text": "Wasser", "vat_key": 2, "gross": Decimal("2.00")}],
            "payments": [{"typ": "Bar", "amount": Decimal("3.20")},
                         {"typ": "Bar", "amount": Decimal("5.00"), "currency": "CHF", "base": Decimal("5.20")},
                         {"typ": "GuthabenKarte", "name": "Sodexo", "amount": Decimal("2.00")}]}
    _response, closing = submit(signed_closing_payload(register, [spec]))
    closing.refresh_from_db()
    assert closing.state == "COMPLETED", closing.errors
    document = closing.document
    tx = document["transactions"][0]
    assert tx["tse"][0]["TSE_VORGANGSDATEN"] == "Beleg^8.40_2.00_0.00_0.00_0.00^3.20:Bar_5.00:Bar:CHF_2.00:Unbar"
    assert {(p["ZAHLART_TYP"], p["ZAHLART_NAME"], p["ZAHLWAEH_CODE"], p["ZAHLWAEH_BETRAG"], p["BASISWAEH_BETRAG"])
            for p in tx["payments"]} == {("Bar", None, "EUR", None, "3.20"), ("Bar", None, "CHF", "5.00", "5.20"),
                                         ("Guthabenkarte", "Sodexo", "EUR", None, "2.00")}
    assert sorted((row["ZAHLART_WAEH"], row["ZAHLART_BETRAG_WAEH"]) for row in document["cash_per_currency"]) == [
        ("CHF", "5.00"), ("EUR", "3.20")]
    assert {(row["ZAHLART_TYP"], row["ZAHLART_NAME"], row["Z_ZAHLART_BETRAG"]) for row in document["payment"]} == {
        ("Bar", None, "8.40"), ("Guthabenkarte", "Sodexo", "2.00")}
    assert document["cashpointclosing"]["Z_SE_BARZAHLUNGEN"] == "8.40"


def test_a_business_date_other_than_the_creation_day_is_kept(register, submit):
    payload = signed_closing_payload(register, RECEIPTS, creation=dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC))
    payload["head"]["business_date"] = "2026-11-30"
    _response, closing = submit(payload)
    closing.refresh_from_db()
    assert closing.document["cashpointclosing"]["Z_BUCHUNGSTAG"] == "2026-11-30"
    assert closing.business_date == dt.date(2026, 11, 30)


def test_references_to_earlier_and_external_documents(register, submit):
    _response, first = submit(signed_closing_payload(register, RECEIPTS, z_nr=1,
                                                     creation=dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)))
    payload = signed_closing_payload(register, [receipt("-3.20")], z_nr=2, first_bon=3)
    payload["transactions"][0]["head"]["references"] = [
        {"type": "Transaktion", "cash_point_closing_export_id": 1, "cash_register_export_id": "KASSE-01",
         "transaction_export_id": "1", "date": 1_700_000_000},
        {"type": "ExterneSonstige", "name": "Lieferschein", "external_other_export_id": "LS-7"},
    ]
    _response, second = submit(payload)
    second.refresh_from_db()
    assert second.state == "COMPLETED", second.errors
    internal, external = second.document["transactions"][0]["references"]
    assert internal == {"POS_ZEILE": None, "REF_TYP": "Transaktion", "REF_NAME": None,
                        "REF_DATUM": "2026-11-30T21:00:00+01:00", "REF_Z_KASSE_ID": "KASSE-01", "REF_Z_NR": 1,
                        "REF_BON_ID": "1"}
    assert CashPointClosing.unscoped.get(pk=first.pk).z_erstellung == internal["REF_DATUM"]
    assert (external["REF_TYP"], external["REF_NAME"], external["REF_BON_ID"], external["REF_DATUM"]) == (
        "ExterneSonstige", "Lieferschein", "LS-7", None)
