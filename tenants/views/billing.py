"""Invoice pages of an organization (list, detail, PDF/CSV/XML) and the staff billing page.

Invoices are the recipient's business documents: its members see them, partners acting for it do
not (404). The staff pages (``/staff/billing/…``, ``user.is_staff`` only, else 404) preview and run
the billing of a month, list the runs, show any invoice and issue credit notes.
"""

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scopes_disabled

from portal.views.base import organization_page
from tenants.models import BillingRun, BillingRunState, Invoice, InvoiceKind
from tenants.services.billing.invoice_pdf import render_pdf
from tenants.services.billing.invoice_xml import render_xrechnung
from tenants.services.billing.invoices import (
    InvoiceError,
    invoice_csv,
    invoice_file_name,
    issue_credit_note,
    visible_invoice,
    visible_invoices,
)
from tenants.services.billing.run import BillingRunError, preview_period, run_billing

__all__ = [
    "invoice_download",
    "invoice_download_view",
    "invoice_view",
    "invoices_view",
    "staff_billing_run_view",
    "staff_billing_view",
    "staff_credit_note_view",
    "staff_invoice_download_view",
    "staff_invoice_view",
]

FORMATS = {
    "pdf": ("application/pdf", "pdf"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xml": ("application/xml", "xml"),
}


def invoice_download(invoice: Invoice, fmt: str) -> HttpResponse:
    """The invoice as a PDF, CSV or XRechnung XML attachment."""
    content_type, extension = FORMATS[fmt]
    if fmt == "pdf":
        content = render_pdf(invoice)
    elif fmt == "csv":
        content = invoice_csv(invoice).encode("utf-8")
    else:
        content = render_xrechnung(invoice)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, invoice_file_name(invoice, extension))
    return response


def _detail_context(request, invoice: Invoice, *, staff_view: bool) -> dict:
    return {
        "organization": invoice.organization, "invoice": invoice, "staff_view": staff_view,
        "lines": list(invoice.lines.order_by("position")),
        "vat_rows": [{key: Decimal(row[key]) for key in ("rate", "net", "vat")} for row in invoice.vat_breakdown],
        "credit_notes": list(invoice.credit_notes.all()), "can_credit": _can_credit(request, invoice),
    }


# --- the recipient's pages --------------------------------------------------------------------


@require_GET
@organization_page("view")
def invoices_view(request, organization):
    invoices = Paginator(visible_invoices(request.actor, organization), 25).get_page(request.GET.get("page"))
    return render(request, "tenants/billing/invoices.html", {"organization": organization, "invoices": invoices})


@require_GET
@organization_page("view")
def invoice_view(request, organization, invoice_id):
    invoice = visible_invoice(request.actor, organization, invoice_id)
    return render(request, "tenants/billing/invoice.html", _detail_context(request, invoice, staff_view=False))


@require_GET
@organization_page("view")
def invoice_download_view(request, organization, invoice_id, fmt):
    return invoice_download(visible_invoice(request.actor, organization, invoice_id), fmt)


# --- staff ------------------------------------------------------------------------------------


def _staff_only(request) -> None:
    if not (request.user.is_authenticated and request.user.is_active and request.user.is_staff):
        raise Http404


def _can_credit(request, invoice: Invoice) -> bool:
    return bool(request.user.is_staff and invoice.kind == InvoiceKind.INVOICE
                and not Invoice.unscoped.filter(corrects=invoice).exists())


def _previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _parse_period(value: str | None) -> dt.date | None:
    """``YYYY-MM`` → the month's first day; ValueError when malformed."""
    if not value:
        return None
    return dt.datetime.strptime(value, "%Y-%m").date()


def _staff_page(request, *, period: dt.date, error: str | None = None, status: int = 200):
    preview = None
    if error is None and request.GET.get("preview"):
        try:
            preview = preview_period(period)
        except BillingRunError as exc:
            error, status = str(exc), 409
    runs = list(BillingRun.objects.all()[:24])
    period_invoices = Invoice.unscoped.filter(run__period_start=period).order_by("sequence")
    return render(request, "tenants/billing/staff_billing.html", {
        "period": period, "period_value": f"{period:%Y-%m}", "preview": preview, "runs": runs, "error": error,
        "run_done": any(run.period_start == period and run.state == BillingRunState.COMPLETED for run in runs),
        "period_invoices": period_invoices,
    }, status=status)


@require_GET
def staff_billing_view(request):
    """Choose a month, preview its bills per bill-to party, run it; the list of runs."""
    _staff_only(request)
    with scopes_disabled():
        try:
            period = _parse_period(request.GET.get("period")) or _previous_month(timezone.localdate())
        except ValueError:
            return _staff_page(request, period=_previous_month(timezone.localdate()),
                               error=_("Choose a month as YYYY-MM."), status=400)
        return _staff_page(request, period=period)


@require_POST
def staff_billing_run_view(request):
    """Run the billing of the posted month (idempotent), then back to the staff page."""
    _staff_only(request)
    with scopes_disabled():
        try:
            period = _parse_period(request.POST.get("period"))
        except ValueError:
            period = None
        if period is None:
            return _staff_page(request, period=_previous_month(timezone.localdate()),
                               error=_("Choose a month as YYYY-MM."), status=400)
        if period >= timezone.localdate().replace(day=1):
            return _staff_page(request, period=period, error=_("Only a month that has ended can be billed."),
                               status=400)
        try:
            billing_run = run_billing(period)
        except BillingRunError as exc:
            return _staff_page(request, period=period, error=str(exc), status=409)
    messages.success(request, _("Billing for {period} is done: {count} invoice(s).").format(
        period=f"{period:%m/%Y}", count=billing_run.invoice_count))
    return redirect(f"{reverse('staff_billing')}?period={period:%Y-%m}")


def _staff_invoice(invoice_id) -> Invoice:
    return get_object_or_404(Invoice.unscoped.select_related("organization", "corrects"), public_id=invoice_id)


def _render_staff_invoice(request, invoice: Invoice, *, error: str | None = None, status: int = 200):
    context = {**_detail_context(request, invoice, staff_view=True), "error": error}
    return render(request, "tenants/billing/invoice.html", context, status=status)


@require_GET
def staff_invoice_view(request, invoice_id):
    _staff_only(request)
    with scopes_disabled():
        return _render_staff_invoice(request, _staff_invoice(invoice_id))


@require_GET
def staff_invoice_download_view(request, invoice_id, fmt):
    _staff_only(request)
    with scopes_disabled():
        return invoice_download(_staff_invoice(invoice_id), fmt)


@require_POST
def staff_credit_note_view(request, invoice_id):
    """Issue the credit note of an invoice (full reversal) with the posted reason."""
    _staff_only(request)
    with scopes_disabled():
        invoice = _staff_invoice(invoice_id)
        try:
            credit_note = issue_credit_note(actor=request.actor, invoice=invoice, reason=request.POST.get("reason", ""))
        except InvoiceError as exc:
            return _render_staff_invoice(request, invoice, error=exc.message, status=exc.status)
    messages.success(request, _("Credit note {number} was issued.").format(number=credit_note.number))
    return redirect("staff_billing_invoice", invoice_id=credit_note.public_id)
