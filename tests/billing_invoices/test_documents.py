"""The invoice documents: PDF (number, names, totals, German format), CSV, XRechnung XML."""

from decimal import Decimal

from lxml import etree

from tenants.services.billing.invoice_pdf import render_pdf
from tenants.services.billing.invoice_xml import render_xrechnung
from tenants.services.billing.invoices import format_amount, invoice_csv

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def test_german_amount_format():
    assert format_amount(Decimal("1234.5")) == "1.234,50 €"
    assert format_amount(Decimal("-0.05")) == "-0,05 €"
    assert format_amount(Decimal("1234567.891")) == "1.234.567,89 €"


def test_pdf_carries_number_names_and_totals(invoice):
    pdf = render_pdf(invoice)
    assert pdf.startswith(b"%PDF")
    for text in (invoice.number, "Owner Betriebs GmbH", "Kassenportal Betreiber GmbH", "DE999999999",
                 "45,00", "8,55", "53,55", "01.11.2026", "30.11.2026", "31.500"):
        assert text.encode() in pdf, text


def test_pdf_of_a_dealer_invoice_shows_discount_and_thousands(dealer_invoice):
    pdf = render_pdf(dealer_invoice)
    # 36 × 45.00 = 1,620.00 list, 10 % off → 1,458.00 net, 277.02 VAT, 1,735.02 gross
    for text in ("Partner Kassenhandel GmbH", "10,00 %", "40,50", "1.458,00", "277,02", "1.735,02", "50.001"):
        assert text.encode() in pdf, text


def test_pdf_in_english_for_an_english_recipient(invoice, owner):
    owner.user.language = "en"
    owner.user.save(update_fields=["language"])
    pdf = render_pdf(invoice)
    assert f"Invoice {invoice.number}".encode() in pdf
    assert b"Total gross" in pdf


def test_csv_rows_with_bom_semicolons_and_decimal_comma(invoice):
    text = invoice_csv(invoice)
    assert text.startswith("\ufeff")
    rows = [row.split(";") for row in text[1:].splitlines()]
    assert rows[0][:6] == ["invoice_number", "invoice_date", "period_start", "period_end", "position", "description"]
    assert len(rows) == 3
    assert rows[1][0] == invoice.number and rows[1][4] == "1" and rows[1][8] == "9,00" and rows[1][11] == "19,00"
    assert rows[2][6] == "31500" and rows[2][7] == "4" and rows[2][10] == "36,00"
    assert text.encode("utf-8")[:3] == b"\xef\xbb\xbf"


def _xml(invoice):
    xml = render_xrechnung(invoice)
    return xml, etree.fromstring(xml)


def _text(root, path):
    return root.findtext(path, namespaces=NS)


def test_xrechnung_serialises_with_schema_and_totals_match(invoice):
    xml, root = _xml(invoice)
    assert _text(root, ".//rsm:ExchangedDocument/ram:ID") == invoice.number
    assert _text(root, ".//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert _text(root, ".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID").endswith("xrechnung_3.0")
    summation = ".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert Decimal(_text(root, summation + "LineTotalAmount")) == invoice.net_total
    assert Decimal(_text(root, summation + "TaxBasisTotalAmount")) == invoice.net_total
    assert Decimal(_text(root, summation + "TaxTotalAmount")) == invoice.vat_total
    assert Decimal(_text(root, summation + "GrandTotalAmount")) == invoice.gross_total == Decimal("53.55")
    assert Decimal(_text(root, summation + "DuePayableAmount")) == invoice.gross_total
    assert _text(root, ".//ram:SellerTradeParty/ram:Name") == "Kassenportal Betreiber GmbH"
    assert _text(root, ".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "DE999999999"
    assert _text(root, ".//ram:SellerTradeParty/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID"
                 ) == "rechnung@kassenportal.example"
    assert _text(root, ".//ram:BuyerTradeParty/ram:Name") == "Owner Betriebs GmbH"
    assert _text(root, ".//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CityName") == "Berlin"
    lines = root.findall(".//ram:IncludedSupplyChainTradeLineItem", NS)
    assert len(lines) == 2
    line_sum = sum(Decimal(line.findtext(".//ram:LineTotalAmount", namespaces=NS)) for line in lines)
    assert line_sum == invoice.net_total
    tax = root.find(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", NS)
    assert Decimal(tax.findtext("ram:BasisAmount", namespaces=NS)) == Decimal("45.00")
    assert Decimal(tax.findtext("ram:CalculatedAmount", namespaces=NS)) == Decimal("8.55")
    assert _text(root, ".//ram:BillingSpecifiedPeriod/ram:StartDateTime/*") == "20261101"
