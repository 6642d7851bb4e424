"""Issued invoices: who may see them, their CSV, credit notes, and shared formatting.

Invoices are the recipient's business documents: only its members (and its own API keys) see them,
never a partner acting for it. An issued invoice is never changed (PostgreSQL trigger); a correction
is a credit note (``kind=credit_note``): a full reversal with negative amounts, the same rates, its
own gapless number from the same sequence, ``corrects`` = the original. One credit note per invoice;
a credit note is not credited again.
"""

import csv
import io
from decimal import Decimal

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import log_action, register_action_labels
from tenants.models import Invoice, InvoiceKind, InvoiceLine, Membership, MembershipRole
from tenants.services.billing.numbers import allocate_numbers, invoice_number

__all__ = [
    "LANGUAGES",
    "InvoiceError",
    "format_amount",
    "format_decimal",
    "invoice_csv",
    "invoice_file_name",
    "invoice_language",
    "issue_credit_note",
    "visible_invoice",
    "visible_invoices",
]

LANGUAGES = ("de", "en")
CREDIT_NOTE_ACTION = "tenants.billing.credit_note_issued"
CENT = Decimal("0.01")

register_action_labels({CREDIT_NOTE_ACTION: gettext_lazy("Credit note issued")})


class InvoiceError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --- access ------------------------------------------------------------------------------------


def _members_only(actor, organization) -> None:
    """Partners acting for the organization do not see its invoices (404)."""
    if organization.pk not in actor.member_roles:
        raise Http404


def visible_invoices(actor, organization):
    """The invoices and credit notes the organization received, newest first (members only)."""
    _members_only(actor, organization)
    return Invoice.objects.filter(organization=organization).select_related("corrects")


def visible_invoice(actor, organization, public_id) -> Invoice:
    invoice = visible_invoices(actor, organization).filter(public_id=public_id).first()
    if invoice is None:
        raise Http404
    return invoice


# --- formatting --------------------------------------------------------------------------------


def format_decimal(value, places: int = 2) -> str:
    """German number format: 1.234,56 (thousands point, decimal comma)."""
    quantum = Decimal(1).scaleb(-places)
    text = f"{Decimal(value).quantize(quantum):,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_amount(value, currency: str = "EUR") -> str:
    symbol = "€" if currency == "EUR" else currency
    return f"{format_decimal(value)} {symbol}"


def invoice_language(invoice: Invoice) -> str:
    """The recipient's language, as mails choose it: its first owner's (else an admin's) language; German default."""
    memberships = list(Membership.unscoped.filter(
        organization_id=invoice.organization_id, role__in=[MembershipRole.OWNER, MembershipRole.ADMIN],
        user__is_active=True).select_related("user").order_by("pk"))
    memberships.sort(key=lambda membership: membership.role != MembershipRole.OWNER)
    language = memberships[0].user.language if memberships else "de"
    return language if language in LANGUAGES else "de"


def invoice_file_name(invoice: Invoice, extension: str) -> str:
    prefix = "Gutschrift" if invoice.kind == InvoiceKind.CREDIT_NOTE else "Rechnung"
    return f"{prefix}_{invoice.number}.{extension}"


# --- CSV ---------------------------------------------------------------------------------------

CSV_HEADER = ("invoice_number", "invoice_date", "period_start", "period_end", "position", "description",
              "transactions", "blocks", "list_amount", "discount_percent", "net_amount", "vat_rate", "currency")


def invoice_csv(invoice: Invoice) -> str:
    """One row per line, ``;``-separated, decimal comma, header row; UTF-8 with BOM (for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in InvoiceLine.unscoped.filter(invoice=invoice).order_by("position"):
        writer.writerow([
            invoice.number, invoice.issued_on.isoformat(), invoice.period_start.isoformat(),
            invoice.period_end.isoformat(), line.position, line.description, line.transactions, line.blocks,
            _csv_decimal(line.list_amount), _csv_decimal(line.discount_percent), _csv_decimal(line.net_amount),
            _csv_decimal(line.vat_rate), invoice.currency,
        ])
    return "\ufeff" + buffer.getvalue()


def _csv_decimal(value) -> str:
    return str(Decimal(value).quantize(CENT)).replace(".", ",")


# --- credit notes ------------------------------------------------------------------------------


def _negated_breakdown(rows) -> list[dict]:
    negated = []
    for row in rows:
        negated.append({**row, **{key: str(-Decimal(row[key])) for key in ("net", "vat", "gross") if key in row}})
    return negated


def issue_credit_note(*, actor, invoice: Invoice, reason: str) -> Invoice:
    """A full reversal of ``invoice``; 409 E_ALREADY_CREDITED / E_CREDIT_NOTE_NOT_CREDITABLE, 400 E_REASON_REQUIRED."""
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceError(400, "E_REASON_REQUIRED", _("Give the reason for the credit note."))
    with transaction.atomic():
        original = Invoice.unscoped.select_for_update().get(pk=invoice.pk)
        if original.kind == InvoiceKind.CREDIT_NOTE:
            raise InvoiceError(409, "E_CREDIT_NOTE_NOT_CREDITABLE", _("A credit note cannot be credited."))
        if Invoice.unscoped.filter(corrects=original, kind=InvoiceKind.CREDIT_NOTE).exists():
            raise InvoiceError(409, "E_ALREADY_CREDITED", _("This invoice has already been credited."))
        issued_on = timezone.localdate()
        sequence = allocate_numbers(original.issuer_key, issued_on.year, 1)
        credit_note = Invoice.unscoped.create(
            organization_id=original.organization_id, kind=InvoiceKind.CREDIT_NOTE, run=None, corrects=original,
            issuer_key=original.issuer_key, year=issued_on.year, sequence=sequence,
            number=invoice_number(original.issuer_key, issued_on.year, sequence), issued_on=issued_on,
            period_start=original.period_start, period_end=original.period_end, issuer=original.issuer,
            recipient=original.recipient, currency=original.currency, net_total=-original.net_total,
            vat_total=-original.vat_total, gross_total=-original.gross_total,
            vat_breakdown=_negated_breakdown(original.vat_breakdown),
        )
        InvoiceLine.unscoped.bulk_create([
            InvoiceLine(
                invoice=credit_note, organization_id=line.organization_id, position=line.position,
                product_id=line.product_id, signing_unit_id=line.signing_unit_id, operator_id=line.operator_id,
                description=line.description, transactions=line.transactions, blocks=line.blocks,
                list_amount=-line.list_amount, discount_percent=line.discount_percent,
                net_amount=-line.net_amount, vat_rate=line.vat_rate,
            )
            for line in InvoiceLine.unscoped.filter(invoice=original).order_by("position")
        ])
        log_action(CREDIT_NOTE_ACTION, actor, credit_note.organization, obj=credit_note,
                   data={"invoice": original.number, "credit_note": credit_note.number, "reason": reason,
                         "gross_total": str(credit_note.gross_total)})
    return credit_note
