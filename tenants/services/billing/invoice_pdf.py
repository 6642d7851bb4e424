"""The invoice or credit note as a PDF (A4, reportlab platypus), in the recipient's language.

Carries the § 14 Abs. 4 UStG fields from the invoice's snapshots: issuer and recipient name and
address, the issuer's VAT id / tax number, invoice date and number, service period, one row per line
(quantities, list price, discount, net), net and VAT per rate, gross. Amounts in German format
(1.234,56 €). Page compression is off: the PDF stays small and its text is searchable in the bytes.
"""

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import KeepTogether

from tenants.models import Invoice, InvoiceKind, InvoiceLine
from tenants.services.billing.invoices import format_amount, format_decimal, invoice_language

__all__ = ["render_pdf"]


def _styles() -> dict:
    sheet = getSampleStyleSheet()
    return {
        "normal": ParagraphStyle("kp-normal", parent=sheet["Normal"], fontName="Helvetica", fontSize=9, leading=12),
        "small": ParagraphStyle("kp-small", parent=sheet["Normal"], fontName="Helvetica", fontSize=7.5, leading=9),
        "title": ParagraphStyle("kp-title", parent=sheet["Heading1"], fontName="Helvetica-Bold", fontSize=15,
                                leading=19, spaceAfter=4),
        "cell": ParagraphStyle("kp-cell", parent=sheet["Normal"], fontName="Helvetica", fontSize=8, leading=10),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _date(value) -> str:
    return value.strftime("%d.%m.%Y")


def _address(party: dict) -> list[str]:
    lines = [party.get("name", ""), party.get("street", ""),
             " ".join(part for part in (party.get("postal_code", ""), party.get("city", "")) if part)]
    if party.get("country") and party.get("country") != "DE":
        lines.append(party["country"])
    return [line for line in lines if line]


def _tax_ids(party: dict) -> list[str]:
    rows = []
    if party.get("vat_id"):
        rows.append(_("VAT id: {vat_id}").format(vat_id=party["vat_id"]))
    if party.get("tax_number"):
        rows.append(_("Tax number: {tax_number}").format(tax_number=party["tax_number"]))
    return rows


def _header(invoice: Invoice, styles) -> list:
    issuer, recipient = invoice.issuer, invoice.recipient
    issuer_lines = _address(issuer) + _tax_ids(issuer)
    if issuer.get("email"):
        issuer_lines.append(_("E-mail: {email}").format(email=issuer["email"]))
    sender_line = " · ".join(_address(issuer))
    recipient_block = [_p(sender_line, styles["small"]), Spacer(1, 2 * mm),
                       _p("\n".join(_address(recipient) + _tax_ids(recipient)), styles["normal"])]
    table = Table([[recipient_block, _p("\n".join(issuer_lines), styles["normal"])]],
                  colWidths=[100 * mm, 70 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [table, Spacer(1, 10 * mm)]


def _title(invoice: Invoice, styles) -> list:
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    title = (_("Credit note {number}") if credit else _("Invoice {number}")).format(number=invoice.number)
    facts = [
        _("Invoice date: {date}").format(date=_date(invoice.issued_on)),
        _("Service period: {start} – {end}").format(start=_date(invoice.period_start), end=_date(invoice.period_end)),
        _("Currency: {currency}").format(currency=invoice.currency),
    ]
    if credit and invoice.corrects_id:
        facts.append(_("Credit note for invoice {number}").format(number=invoice.corrects.number))
    return [_p(title, styles["title"]), _p("\n".join(facts), styles["normal"]), Spacer(1, 6 * mm)]


def _lines_table(invoice: Invoice, styles) -> Table:
    head = [_("Pos."), _("Description"), _("Transactions"), _("Blocks"), _("List price"), _("Discount"), _("Net")]
    rows = [head]
    for line in InvoiceLine.unscoped.filter(invoice=invoice).order_by("position"):
        rows.append([
            str(line.position), _p(line.description, styles["cell"]), format_decimal(line.transactions, 0),
            str(line.blocks), format_amount(line.list_amount, invoice.currency),
            f"{format_decimal(line.discount_percent)} %", format_amount(line.net_amount, invoice.currency),
        ])
    table = Table(rows, colWidths=[10 * mm, 62 * mm, 22 * mm, 13 * mm, 22 * mm, 16 * mm, 25 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.grey),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _totals(invoice: Invoice, styles) -> list:
    currency = invoice.currency
    rows = []
    for row in invoice.vat_breakdown:
        rate = format_decimal(Decimal(row["rate"]))
        rows.append([_("Net amount at {rate} % VAT").format(rate=rate), format_amount(Decimal(row["net"]), currency)])
        rows.append([_("VAT {rate} %").format(rate=rate), format_amount(Decimal(row["vat"]), currency)])
    rows.append([_("Total net"), format_amount(invoice.net_total, currency)])
    rows.append([_("Total VAT"), format_amount(invoice.vat_total, currency)])
    rows.append([_("Total gross"), format_amount(invoice.gross_total, currency)])
    table = Table(rows, colWidths=[60 * mm, 30 * mm], hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 9),
        ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
    ]))
    note = _("Service period {start} – {end}. Amounts in {currency}.").format(
        start=_date(invoice.period_start), end=_date(invoice.period_end), currency=currency)
    return [Spacer(1, 4 * mm), KeepTogether([table]), Spacer(1, 6 * mm), _p(note, styles["normal"])]


def render_pdf(invoice: Invoice) -> bytes:
    """The PDF of ``invoice`` (invoice or credit note) in its recipient's language."""
    with translation.override(invoice_language(invoice)):
        styles = _styles()
        buffer = io.BytesIO()
        credit = invoice.kind == InvoiceKind.CREDIT_NOTE
        document = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
            title=f"{_('Credit note') if credit else _('Invoice')} {invoice.number}",
            author=invoice.issuer.get("name", ""), pageCompression=0, invariant=1,
        )
        story = [*_header(invoice, styles), *_title(invoice, styles), _lines_table(invoice, styles),
                 *_totals(invoice, styles)]
        document.build(story)
        return buffer.getvalue()
