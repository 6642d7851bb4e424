"""The staff billing page: preview and run a month (the real run), runs list, staff invoice page, credit notes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import (
    BillingRun,
    BillingRunState,
    Entitlement,
    EntitlementOrder,
    EntitlementState,
    Invoice,
    InvoiceKind,
    PricePlan,
    Product,
)
from tests.helpers import session_client

JULY = "2026-07"


@pytest.fixture
def billable(partner, owner, ready_unit):
    """The dealer activated the owner's software TSE on 1 July 2026: the dealer is billed 9.00 net for July."""
    product = Product.objects.get(code="TSE-SUB")
    plan = PricePlan.objects.get(product=product)
    order = EntitlementOrder.unscoped.create(dealer=partner.organization, product=product, plan=plan, quantity=1,
                                             list_unit_price=Decimal("9.00"), commitment=Decimal("108.00"))
    return Entitlement.unscoped.create(
        dealer=partner.organization, order=order, product=product, state=EntitlementState.ACTIVE,
        operator=owner.organization, signing_unit=ready_unit, activated_by_dealer=True,
        activated_at=dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC), assigned_at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
        term_start=dt.date(2026, 7, 1), term_end=dt.date(2027, 6, 30),
    )


@pytest.fixture
def staff(staff_user):
    return session_client(staff_user)


def test_staff_pages_are_404_for_everyone_else(actors, invoice):
    urls = [reverse("staff_billing"), reverse("staff_billing_invoice", kwargs={"invoice_id": invoice.public_id}),
            reverse("staff_billing_invoice_pdf", kwargs={"invoice_id": invoice.public_id})]
    posts = [reverse("staff_billing_run"),
             reverse("staff_billing_credit_note", kwargs={"invoice_id": invoice.public_id})]
    for client in (actors.session_client("owner"), actors.session_client("partner"), Client()):
        for url in urls:
            assert client.get(url).status_code == 404, url
        for url in posts:
            assert client.post(url, {"period": JULY, "reason": "x"}).status_code == 404, url
    assert not Invoice.unscoped.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    assert not BillingRun.objects.exists()


def test_preview_then_run_then_rerun(staff, billable, partner):
    page = staff.get(reverse("staff_billing"), {"period": JULY, "preview": "1"})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="billing-preview-bill"' in text and "Partner Kassenhandel GmbH" in text and "10,71" in text
    assert not Invoice.unscoped.exists()  # a preview writes nothing

    response = staff.post(reverse("staff_billing_run"), {"period": JULY})
    assert response.status_code == 302 and response["Location"] == f"{reverse('staff_billing')}?period={JULY}"
    invoice = Invoice.unscoped.get()
    assert invoice.organization == partner.organization and invoice.gross_total == Decimal("10.71")
    run = BillingRun.objects.get()
    assert (run.state, run.invoice_count, run.period_start) == (BillingRunState.COMPLETED, 1, dt.date(2026, 7, 1))

    page = staff.get(response["Location"]).content.decode()
    assert 'data-testid="billing-run-2026-07"' in page and invoice.number in page

    assert staff.post(reverse("staff_billing_run"), {"period": JULY}).status_code == 302
    assert Invoice.unscoped.count() == 1 and BillingRun.objects.count() == 1


def test_bad_periods_are_refused(staff, billable):
    assert staff.get(reverse("staff_billing"), {"period": "July"}).status_code == 400
    assert staff.post(reverse("staff_billing_run"), {"period": "2026-13"}).status_code == 400
    assert staff.post(reverse("staff_billing_run"), {}).status_code == 400
    this_month = f"{timezone.localdate():%Y-%m}"
    assert staff.post(reverse("staff_billing_run"), {"period": this_month}).status_code == 400
    assert not BillingRun.objects.exists()


def test_staff_issues_a_credit_note_once(staff, invoice, owner):
    page = staff.get(reverse("staff_billing_invoice", kwargs={"invoice_id": invoice.public_id}))
    assert page.status_code == 200 and 'data-testid="credit-note-form"' in page.content.decode()
    url = reverse("staff_billing_credit_note", kwargs={"invoice_id": invoice.public_id})
    assert staff.post(url, {"reason": ""}).status_code == 400
    response = staff.post(url, {"reason": "Unit billed twice"})
    credit_note = Invoice.unscoped.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_billing_invoice", kwargs={"invoice_id": credit_note.public_id})
    assert credit_note.corrects == invoice and credit_note.sequence == invoice.sequence + 1
    again = staff.post(url, {"reason": "again"})
    assert again.status_code == 409
    assert Invoice.unscoped.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    # the recipient sees both on its pages
    listing = session_client(owner.user, owner.device).get(
        reverse("billing_invoices", kwargs={"org_id": owner.organization.public_id})).content.decode()
    assert invoice.number in listing and credit_note.number in listing
    pdf = staff.get(reverse("staff_billing_invoice_pdf", kwargs={"invoice_id": credit_note.public_id}))
    assert pdf.status_code == 200 and b"-53,55" in pdf.content
