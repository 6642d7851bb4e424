"""Fixtures of the invoice tests: issued invoices created directly with the ORM (the run is tested elsewhere)."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction

from tenants.models import Invoice, InvoiceLine, Product
from tenants.services.billing.numbers import allocate_numbers, invoice_number
from tenants.services.billing.parties import issuer_snapshot, recipient_snapshot
from tests.factories import make_user

CENT = Decimal("0.01")
PERIOD = dt.date(2026, 11, 1)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def make_invoice(organization, lines, *, issued_on=dt.date(2026, 12, 1), period_start=PERIOD,
                 period_end=dt.date(2026, 11, 30), vat_rate=Decimal("19.00")) -> Invoice:
    """An issued invoice of ``organization``; ``lines`` = [(description, transactions, blocks, list, percent)]."""
    product = Product.objects.get(code="TSE-SUB")
    rows = []
    for description, transactions, blocks, list_amount, percent in lines:
        net = _round(Decimal(list_amount) * (100 - Decimal(percent)) / 100)
        rows.append((description, transactions, blocks, Decimal(list_amount), Decimal(percent), net))
    net_total = sum((row[5] for row in rows), Decimal("0.00"))
    vat_total = _round(net_total * vat_rate / 100)
    issuer = issuer_snapshot()
    with transaction.atomic():
        sequence = allocate_numbers(issuer["key"], issued_on.year, 1)
        invoice = Invoice.unscoped.create(
            organization=organization, issuer_key=issuer["key"], year=issued_on.year, sequence=sequence,
            number=invoice_number(issuer["key"], issued_on.year, sequence), issued_on=issued_on,
            period_start=period_start, period_end=period_end, issuer=issuer,
            recipient=recipient_snapshot(organization), net_total=net_total, vat_total=vat_total,
            gross_total=net_total + vat_total,
            vat_breakdown=[{"rate": str(vat_rate), "net": str(net_total), "vat": str(vat_total)}],
        )
        InvoiceLine.unscoped.bulk_create([
            InvoiceLine(invoice=invoice, organization=organization, position=position, product=product,
                        description=description, transactions=transactions, blocks=blocks, list_amount=list_amount,
                        discount_percent=percent, net_amount=net, vat_rate=vat_rate)
            for position, (description, transactions, blocks, list_amount, percent, net) in enumerate(rows, 1)
        ])
    return invoice


@pytest.fixture
def invoice(owner):
    """Two lines: 9.00 and 36.00 net, 19 % VAT → 45.00 net, 8.55 VAT, 53.55 gross."""
    return make_invoice(owner.organization, [
        ("TSE 0001 (Owner Betriebs GmbH) 11/2026: 0 transactions, 1 block(s)", 0, 1, "9.00", "0"),
        ("TSE 0002 (Owner Betriebs GmbH) 11/2026: 31.500 transactions, 4 block(s)", 31500, 4, "36.00", "0"),
    ])


@pytest.fixture
def dealer_invoice(partner):
    """A dealer's collective invoice with a 10 % discount: 1,620.00 list → 1,458.00 net."""
    lines = [(f"TSE {n:04d} 11/2026", 50001, 5, "45.00", "10") for n in range(36)]
    return make_invoice(partner.organization, lines)


@pytest.fixture
def staff_user(db):
    return make_user("staff@kassenportal.example", full_name="Sam Staff", is_staff=True)
