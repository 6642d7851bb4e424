"""Closings the worker rejects: every check gives its code and path; a rejected closing keeps nothing else."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from exports.models import ClosingTransaction, MasterDataRevision
from portal.models import LogEntry
from tenants.models import Organization
from tests.dsfinvk_closings import make_cash_register, receipt, signed_closing_payload
from tse.models import ApiTransaction, TransactionState, TseClient
from tse.services.signing_units import get_backend

pytestmark = pytest.mark.django_db

RECEIPTS = [receipt("3.20"), receipt("5.00", vat_key=2, typ="ECKarte")]


def rejected(submit, payload, *, revisions_before=0):
    response, closing = submit(payload)
    assert response.status_code == 200, response.content
    closing.refresh_from_db()
    assert closing.state == "ERROR", closing.document
    assert closing.payload is None and closing.document is None and closing.revision is None
    assert not ClosingTransaction.unscoped.filter(closing=closing).exists()
    assert MasterDataRevision.unscoped.count() == revisions_before
    assert LogEntry.unscoped.filter(action="exports.closing.rejected", object_id=str(closing.pk)).exists()
    return {(error["path"], error["code"]) for error in closing.errors}


def _tx(payload, index=0):
    return payload["transactions"][index]


def _bump(entry, amount="1.00", parts=("incl_vat", "excl_vat")):
    for name in parts:
        entry[name] += Decimal(amount)


def _vat_key_unknown(payload):
    _tx(payload)["data"]["lines"][0]["business_case"]["amounts_per_vat_id"][0]["vat_definition_export_id"] = 9


def _vat_split(payload):
    _tx(payload)["data"]["amounts_per_vat_id"][0]["vat"] += Decimal("0.00001")


def _lines_total(payload):
    _bump(_tx(payload)["data"]["lines"][0]["business_case"]["amounts_per_vat_id"][0])


def _transaction_total(payload):
    _tx(payload)["data"]["full_amount_incl_vat"] = Decimal("3.30")


def _payments_total(payload):
    _tx(payload, 1)["data"]["payment_types"][0]["amount"] = Decimal("4.00")


def _business_cases(payload):
    _bump(payload["cash_statement"]["business_cases"][0]["amounts_per_vat_id"][0])


def _cash_statement(payload):
    payload["cash_statement"]["payment"]["cash_amount"] = Decimal("0.00")


def _cash_per_currency(payload):
    payload["cash_statement"]["payment"]["cash_amounts_by_currency"][0]["currency_code"] = "CHF"


def _payment_types(payload):
    payload["cash_statement"]["payment"]["payment_types"][1]["type"] = "Kreditkarte"


def _range(payload):
    payload["head"]["last_transaction_export_id"] = "1"


def _duplicate(payload):
    _tx(payload, 1)["head"]["transaction_export_id"] = "1"
    payload["head"]["last_transaction_export_id"] = "1"


def _not_found(payload):
    _tx(payload)["security"]["tss_tx_id"] = str(uuid.uuid4())


def _used_twice(payload):
    _tx(payload, 1)["security"] = dict(_tx(payload)["security"])


def _process_data(payload):
    """The receipt says card, the TSE signed cash."""
    _tx(payload)["data"]["payment_types"][0]["type"] = "ECKarte"


def _agency(payload):
    _tx(payload)["data"]["lines"][0]["business_case"]["purchaser_agency_id"] = 7


def _slave(payload):
    _tx(payload)["head"]["closing_client_id"] = str(uuid.uuid4())


def _foreign(payload):
    _tx(payload)["data"]["payment_types"][0]["currency_code"] = "CHF"


CASES = [
    (_vat_key_unknown, "transactions[0].data.lines[0].business_case.amounts_per_vat_id[0].vat_definition_export_id",
     "E_VAT_KEY_UNKNOWN"),
    (_vat_split, "transactions[0].data.amounts_per_vat_id[0]", "E_VAT_SPLIT"),
    (_lines_total, "transactions[0].data.amounts_per_vat_id", "E_LINES_TOTAL"),
    (_transaction_total, "transactions[0].data.full_amount_incl_vat", "E_TRANSACTION_TOTAL"),
    (_payments_total, "transactions[1].data.payment_types", "E_PAYMENTS_TOTAL"),
    (_business_cases, "cash_statement.business_cases", "E_BUSINESS_CASES_TOTAL"),
    (_cash_statement, "cash_statement.payment.cash_amount", "E_CASH_STATEMENT_TOTAL"),
    (_cash_per_currency, "cash_statement.payment.cash_amounts_by_currency", "E_CASH_STATEMENT_TOTAL"),
    (_payment_types, "cash_statement.payment.payment_types", "E_CASH_STATEMENT_TOTAL"),
    (_range, "head.last_transaction_export_id", "E_TRANSACTION_RANGE"),
    (_duplicate, "transactions[1].head.transaction_export_id", "E_DUPLICATE_TRANSACTION"),
    (_not_found, "transactions[0].security.tss_tx_id", "E_TSE_TRANSACTION_NOT_FOUND"),
    (_used_twice, "transactions[1].security.tss_tx_id", "E_TSE_TRANSACTION_USED"),
    (_process_data, "transactions[0].security.tss_tx_id", "E_PROCESS_DATA_MISMATCH"),
    (_agency, "transactions[0].data.lines[0].business_case.purchaser_agency_id", "E_NOT_SUPPORTED"),
    (_slave, "transactions[0].head.closing_client_id", "E_NOT_SUPPORTED"),
    (_foreign, "transactions[0].data.payment_types[0].foreign_amount", "E_FOREIGN_AMOUNT_MISSING"),
]


@pytest.mark.parametrize("change, path, code", CASES, ids=[case[0].__name__.strip("_") for case in CASES])
def test_a_closing_with_a_problem_is_rejected(register, submit, change, path, code):
    payload = signed_closing_payload(register, RECEIPTS)
    change(payload)
    assert (path, code) in rejected(submit, payload)


def test_every_problem_is_listed(register, submit):
    payload = signed_closing_payload(register, RECEIPTS)
    _vat_split(payload)
    _cash_statement(payload)
    _slave(payload)
    assert {code for _path, code in rejected(submit, payload)} == {"E_VAT_SPLIT", "E_CASH_STATEMENT_TOTAL",
                                                                  "E_NOT_SUPPORTED"}


def test_the_tse_transaction_must_be_finished_and_of_the_register(register, submit):
    client = register.client
    backend = get_backend(client.signing_unit)
    started = backend.start_transaction(client.client_id)
    open_tx = ApiTransaction.unscoped.create(organization_id=client.organization_id, signing_unit=client.signing_unit,
                                             tx_id=uuid.uuid4(), client=client, state=TransactionState.ACTIVE,
                                             transaction_id=started.transaction_id)
    backend.register_client("KASSE-02")
    other = TseClient.unscoped.get(signing_unit=client.signing_unit, client_id="KASSE-02")
    signed = backend.start_transaction("KASSE-02")
    backend.finish_transaction("KASSE-02", signed.number, "Kassenbeleg-V1", b"Beleg^3.20_0.00_0.00_0.00_0.00^3.20:Bar")
    foreign_tx = ApiTransaction.unscoped.create(organization_id=client.organization_id,
                                                signing_unit=client.signing_unit, tx_id=uuid.uuid4(), client=other,
                                                state=TransactionState.FINISHED, transaction_id=signed.transaction_id)
    payload = signed_closing_payload(register, RECEIPTS)
    _tx(payload)["security"]["tss_tx_id"] = str(open_tx.tx_id)
    _tx(payload, 1)["security"]["tss_tx_id"] = str(foreign_tx.tx_id)
    assert rejected(submit, payload) == {("transactions[0].security.tss_tx_id", "E_TSE_TRANSACTION_NOT_FINISHED"),
                                         ("transactions[1].security.tss_tx_id", "E_TSE_CLIENT_MISMATCH")}


def test_a_tse_transaction_of_another_register_is_not_found(owner, register, submit):
    other = make_cash_register(owner.organization, serial="KASSE-09")
    foreign = signed_closing_payload(other, [receipt("3.20")])
    payload = signed_closing_payload(register, RECEIPTS)
    _tx(payload)["security"] = foreign["transactions"][0]["security"]
    assert rejected(submit, payload) == {("transactions[0].security.tss_tx_id", "E_TSE_TRANSACTION_NOT_FOUND")}


def test_transactions_and_tse_transactions_of_earlier_closings_cannot_come_again(register, submit):
    first = signed_closing_payload(register, RECEIPTS, z_nr=1)
    submit(first)
    again = signed_closing_payload(register, RECEIPTS, z_nr=2, first_bon=1)
    _tx(again, 1)["head"]["transaction_export_id"] = "3"
    again["head"]["last_transaction_export_id"] = "3"
    _tx(again, 1)["security"] = _tx(first, 1)["security"]
    assert rejected(submit, again, revisions_before=1) == {
        ("transactions[0].head.transaction_export_id", "E_DUPLICATE_TRANSACTION"),
        ("transactions[1].security.tss_tx_id", "E_TSE_TRANSACTION_USED"),
    }


def test_a_closing_cannot_be_made_before_the_previous_one(register, submit):
    submit(signed_closing_payload(register, RECEIPTS, z_nr=1))
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    payload = signed_closing_payload(register, [receipt("1.00")], z_nr=2, first_bon=3, creation=earlier)
    assert rejected(submit, payload, revisions_before=1) == {("head.export_creation_date", "E_CLOSING_DATE")}


def test_invalid_master_data_refuse_the_closing(owner, register, submit):
    Organization.unscoped.filter(pk=owner.organization.pk).update(tax_number="", vat_id="")
    payload = signed_closing_payload(register, RECEIPTS)
    assert rejected(submit, payload) == {("cashpointclosing.STNR", "E_MASTER_DATA_INVALID")}
