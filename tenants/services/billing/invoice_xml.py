"""The invoice as a structured e-invoice: UN/CEFACT CII XML, EN 16931 / XRechnung 3.0 (drafthorse).

Built from the invoice's snapshots (seller = issuer, buyer = recipient) and lines; drafthorse checks
the result against the Factur-X EN 16931 XML schema when serialising (an invalid document raises).
A credit note is type code 381 with positive amounts and references the corrected invoice (BG-3);
an invoice is type code 380. The schema is checked here; the XRechnung Schematron rules (KoSIT
validator, a Java tool) are not run: they also ask for the seller contact's phone number (BR-DE-6) and
payment terms or a due date (BR-CO-25), which ``BILLING_ISSUER`` does not define yet.
"""

from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.tradelines import LineItem

from tenants.models import Invoice, InvoiceKind, InvoiceLine

__all__ = ["GUIDELINE_ID", "SCHEMA", "render_xrechnung"]

GUIDELINE_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
BUSINESS_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
SCHEMA = "FACTUR-X_EN16931"
UNIT_CODE = "C62"  # "one" (UN/ECE Recommendation 20): one signing unit for one month
VAT_STANDARD = "S"


def _party(party, data: dict) -> None:
    party.name = data.get("name", "")
    party.address.line_one = data.get("street", "")
    party.address.postcode = data.get("postal_code", "")
    party.address.city_name = data.get("city", "")
    party.address.country_id = data.get("country") or "DE"
    if data.get("email"):
        party.electronic_address.uri_ID = ("EM", data["email"])
    if data.get("vat_id"):
        party.tax_registrations.add(TaxRegistration(id=("VA", data["vat_id"])))
    if data.get("tax_number"):
        party.tax_registrations.add(TaxRegistration(id=("FC", data["tax_number"])))


def _line_item(line: InvoiceLine, sign: Decimal) -> LineItem:
    item = LineItem()
    item.document.line_id = str(line.position)
    item.product.name = line.description
    item.agreement.gross.amount = sign * line.list_amount
    item.agreement.gross.basis_quantity = (Decimal("1"), UNIT_CODE)
    item.agreement.net.amount = sign * line.net_amount
    item.agreement.net.basis_quantity = (Decimal("1"), UNIT_CODE)
    item.delivery.billed_quantity = (Decimal("1"), UNIT_CODE)
    item.settlement.trade_tax.type_code = "VAT"
    item.settlement.trade_tax.category_code = VAT_STANDARD
    item.settlement.trade_tax.rate_applicable_percent = line.vat_rate
    item.settlement.monetary_summation.total_amount = sign * line.net_amount
    return item


def render_xrechnung(invoice: Invoice) -> bytes:
    """The CII XML of ``invoice`` (UTF-8), validated against the EN 16931 schema."""
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    sign = Decimal(-1) if credit else Decimal(1)
    currency = invoice.currency
    doc = Document()
    doc.context.business_parameter.id = BUSINESS_PROCESS
    doc.context.guideline_parameter.id = GUIDELINE_ID
    doc.header.id = invoice.number
    doc.header.type_code = "381" if credit else "380"
    doc.header.issue_date_time = invoice.issued_on
    note = IncludedNote()
    note.content = f"Leistungszeitraum {invoice.period_start:%d.%m.%Y} – {invoice.period_end:%d.%m.%Y}"
    doc.header.notes.add(note)

    agreement = doc.trade.agreement
    agreement.buyer_reference = str(invoice.organization.public_id)
    _party(agreement.seller, invoice.issuer)
    if invoice.issuer.get("email"):
        agreement.seller.contact.email.address = invoice.issuer["email"]
    _party(agreement.buyer, invoice.recipient)

    settlement = doc.trade.settlement
    settlement.currency_code = currency
    settlement.period.start = invoice.period_start
    settlement.period.end = invoice.period_end
    if credit and invoice.corrects_id:
        settlement.invoice_referenced_document.issuer_assigned_id = invoice.corrects.number
        settlement.invoice_referenced_document.issue_date_time = invoice.corrects.issued_on

    for line in InvoiceLine.unscoped.filter(invoice=invoice).order_by("position"):
        doc.trade.items.add(_line_item(line, sign))

    for row in invoice.vat_breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = sign * Decimal(row["vat"])
        tax.basis_amount = sign * Decimal(row["net"])
        tax.type_code = "VAT"
        tax.category_code = VAT_STANDARD
        tax.rate_applicable_percent = Decimal(row["rate"])
        settlement.trade_tax.add(tax)

    totals = settlement.monetary_summation
    totals.line_total = sign * invoice.net_total
    totals.charge_total = Decimal("0.00")
    totals.allowance_total = Decimal("0.00")
    totals.tax_basis_total = (sign * invoice.net_total, currency)
    totals.tax_total = (sign * invoice.vat_total, currency)
    totals.grand_total = (sign * invoice.gross_total, currency)
    totals.due_amount = sign * invoice.gross_total
    return doc.serialize(schema=SCHEMA)
