"""Credit notes: full reversal with its own gapless number; refusals; invoices are immutable on PostgreSQL."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from portal.models import LogEntry
from tenants.models import Invoice, InvoiceKind, InvoiceLine
from tenants.services.billing.invoice_pdf import render_pdf
from tenants.services.billing.invoice_xml import render_xrechnung
from tenants.services.billing.invoices import InvoiceError, issue_credit_note
from tests.billing_invoices.conftest import make_invoice


def test_credit_note_reverses_the_invoice_with_the_next_number(invoice, owner, staff_user):
    second = make_invoice(owner.organization, [("TSE 0003", 10, 1, "9.00", "0")])
    credit_note = issue_credit_note(actor=staff_user, invoice=invoice, reason="Wrong unit billed")
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE and credit_note.corrects == invoice
    numbers = sorted(Invoice.unscoped.filter(year=2026).values_list("sequence", flat=True))
    assert numbers == [1, 2, 3]  # invoice, second invoice, credit note: one sequence, no gaps
    assert credit_note.sequence == second.sequence + 1
    assert credit_note.number == f"KP-{credit_note.year}-{credit_note.sequence:06d}"
    assert (credit_note.net_total, credit_note.vat_total, credit_note.gross_total) == (
        Decimal("-45.00"), Decimal("-8.55"), Decimal("-53.55"))
    assert credit_note.vat_breakdown == [{"rate": "19.00", "net": "-45.00", "vat": "-8.55"}]
    lines = list(InvoiceLine.unscoped.filter(invoice=credit_note).order_by("position"))
    originals = list(InvoiceLine.unscoped.filter(invoice=invoice).order_by("position"))
    assert [(line.net_amount, line.vat_rate, line.transactions) for line in lines] == [
        (-line.net_amount, line.vat_rate, line.transactions) for line in originals]
    assert credit_note.recipient == invoice.recipient and credit_note.issuer == invoice.issuer
    entry = LogEntry.objects.get(action="tenants.billing.credit_note_issued")
    assert entry.organization_id == owner.organization.pk and entry.actor_user == staff_user
    assert entry.data["invoice"] == invoice.number and entry.data["reason"] == "Wrong unit billed"


def test_credit_note_documents(invoice, staff_user):
    credit_note = issue_credit_note(actor=staff_user, invoice=invoice, reason="Cancelled")
    pdf = render_pdf(credit_note)  # in the recipient's language: German by default
    assert f"Gutschrift {credit_note.number}".encode() in pdf
    assert f"Gutschrift zu Rechnung {invoice.number}".encode() in pdf
    assert b"-53,55" in pdf
    xml = render_xrechnung(credit_note)
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml
    assert f"<ram:IssuerAssignedID>{invoice.number}</ram:IssuerAssignedID>".encode() in xml
    assert b"53.55</ram:GrandTotalAmount>" in xml and b"-53.55" not in xml


def test_blank_reason_is_refused_and_nothing_is_written(invoice, staff_user):
    with pytest.raises(InvoiceError) as blank:
        issue_credit_note(actor=staff_user, invoice=invoice, reason="   ")
    assert (blank.value.status, blank.value.code) == (400, "E_REASON_REQUIRED")
    assert Invoice.unscoped.count() == 1
    assert not LogEntry.objects.filter(action="tenants.billing.credit_note_issued").exists()


def test_second_credit_note_and_credit_of_a_credit_note_are_refused(invoice, staff_user):
    credit_note = issue_credit_note(actor=staff_user, invoice=invoice, reason="Cancelled")
    with pytest.raises(InvoiceError) as again:
        issue_credit_note(actor=staff_user, invoice=invoice, reason="Again")
    assert (again.value.status, again.value.code) == (409, "E_ALREADY_CREDITED")
    with pytest.raises(InvoiceError) as nested:
        issue_credit_note(actor=staff_user, invoice=credit_note, reason="Undo")
    assert (nested.value.status, nested.value.code) == (409, "E_CREDIT_NOTE_NOT_CREDITABLE")
    assert Invoice.unscoped.count() == 2
    assert LogEntry.objects.filter(action="tenants.billing.credit_note_issued").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL")
@pytest.mark.parametrize(("model", "change"), [(Invoice, {"gross_total": Decimal("0.01")}),
                                               (InvoiceLine, {"description": "changed"})])
def test_trigger_refuses_update_and_delete(invoice, model, change):
    rows = model.unscoped.filter(invoice=invoice) if model is InvoiceLine else model.unscoped.filter(pk=invoice.pk)
    before = list(rows.order_by("pk").values())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        rows.update(**change)
    table = model._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [before[0]["id"]])  # SQL, past Django's PROTECT
    assert list(rows.order_by("pk").values()) == before
