"""The monthly billing run over the ``world`` fixture (see conftest): billable units, bill-to parties,
discounts, invoice fields (§ 14 UStG), idempotency, failures, constant query count, preview."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import BillingRun, BillingRunState, Invoice, InvoiceLine, InvoiceSequence, PricePlan, Product
from tenants.services.billing.parties import ISSUER_KEYS
from tenants.services.billing.pricing import line_net
from tenants.services.billing.run import (
    BillingRunError,
    billable_rows,
    preview_period,
    run_billing,
    run_previous_month,
)
from tests.billing_run.conftest import (
    NOVEMBER,
    OCTOBER,
    RUN_TIME,
    add_month_transactions,
    add_transactions,
    berlin,
    entitle,
    make_contract,
    make_order,
    make_unit,
)
from tests.factories import make_organization

pytestmark = pytest.mark.django_db

D = Decimal


def _run(period=NOVEMBER, when=RUN_TIME) -> BillingRun:
    with time_machine.travel(when, tick=False):
        return run_billing(period)


def _rows_by_unit(period):
    with time_machine.travel(RUN_TIME, tick=False):
        return {row["unit_id"]: row for row in billable_rows(period)}


def test_billable_units_transactions_blocks_and_amounts(world):
    rows = _rows_by_unit(NOVEMBER)
    u = world.units
    assert set(rows) == {u["u1"].pk, u["u2"].pk, u["u3"].pk, u["u4"].pk, u["u6"].pk}  # u5 ended, u7 unlicensed
    expected = {  # unit: (transactions, blocks, list, units of the bill-to, discount %, net, bill-to)
        "u1": (10_001, 2, "18.00", 4, "10.00", "16.20", world.dealer),
        "u2": (0, 1, "9.00", 4, "10.00", "8.10", world.dealer),      # activated mid-month: full base fee
        "u3": (1, 1, "9.00", 4, "10.00", "8.10", world.dealer),
        "u4": (3, 1, "9.00", 1, "0.00", "9.00", world.beta),         # activated by the operator: no discount
        "u6": (2, 1, "9.00", 4, "10.00", "8.10", world.dealer),      # 2 of 4 inside the Berlin month
    }
    for name, (transactions, blocks, list_amount, units, percent, net, bill_to) in expected.items():
        row = rows[u[name].pk]
        assert row["transactions"] == transactions, name
        assert row["blocks"] == blocks, name
        assert row["list_cents"] == int(D(list_amount) * 100), name
        assert row["units"] == units, name
        assert row["discount_bp"] == int(D(percent) * 100), name
        assert row["net_cents"] == int(D(net) * 100), name
        assert row["bill_to_id"] == bill_to.pk, name
        assert row["operator_id"] == u[name].organization_id, name


def test_the_sql_rounds_like_pricing(tse_product):
    dealer = make_organization(roles=("dealer",), name="Krumm Handel GmbH")
    operator = make_organization(name="Krumm Gastro GmbH")
    make_contract(dealer, [(1, "7.50")])
    order = make_order(dealer, tse_product)
    for count in (0, 10_001, 20_001):
        unit = make_unit(operator)
        entitle(unit, order, activated_at=berlin(2026, 10, 1, 9))
        add_month_transactions(unit, count)
    rows = _rows_by_unit(NOVEMBER).values()
    nets = sorted((D(row["list_cents"]) / 100, D(row["net_cents"]) / 100) for row in rows)
    assert nets == [(D("9"), D("8.33")), (D("18"), D("16.65")), (D("27"), D("24.98"))]  # 8.325, 16.65, 24.975
    assert all(net == line_net(list_amount, D("7.50")) for list_amount, net in nets)


@pytest.mark.parametrize(("period", "inside", "outside"), [
    # October 2026: begins in summer time (UTC+2), ends in winter time (UTC+1)
    (OCTOBER, [(2026, 10, 1, 0, 0, 0), (2026, 10, 25, 2, 30, 0), (2026, 10, 31, 23, 59, 59)],
     [(2026, 9, 30, 23, 59, 59), (2026, 11, 1, 0, 0, 0)]),
    # March 2026: begins in winter time, ends in summer time
    (dt.date(2026, 3, 1), [(2026, 3, 1, 0, 0, 0), (2026, 3, 29, 3, 30, 0), (2026, 3, 31, 23, 59, 59)],
     [(2026, 2, 28, 23, 59, 59), (2026, 4, 1, 0, 0, 0)]),
])
def test_berlin_month_edges_at_dst_changes(tse_product, period, inside, outside):
    dealer = make_organization(roles=("dealer",), name="Zeit Handel GmbH")
    unit = make_unit(make_organization(name="Zeit Gastro GmbH"))
    entitle(unit, make_order(dealer, tse_product), activated_at=berlin(2026, 1, 1, 9))
    add_transactions(unit, [berlin(*parts) for parts in inside + outside])
    assert _rows_by_unit(period)[unit.pk]["transactions"] == len(inside)


def test_activation_and_end_at_the_period_edges(world):
    late = make_unit(world.alpha)
    entitle(late, world.order, activated_at=berlin(2026, 12, 1, 0, 0, 0))  # from the next month on
    ended_at_start = make_unit(world.alpha)
    entitle(ended_at_start, world.order, activated_at=berlin(2026, 9, 1), ended_at=berlin(2026, 11, 1, 0, 0, 0))
    last_second = make_unit(world.alpha)
    entitle(last_second, world.order, activated_at=berlin(2026, 11, 30, 23, 59, 59))
    rows = _rows_by_unit(NOVEMBER)
    assert late.pk not in rows and ended_at_start.pk not in rows
    assert rows[last_second.pk]["blocks"] == 1


def test_a_plan_valid_from_december_does_not_price_november(world):
    PricePlan.objects.create(product=world.product, valid_from=dt.date(2026, 12, 1), base_fee=D("12.00"),
                             included_transactions=10_000, block_size=10_000, block_price=D("12.00"), max_blocks=5)
    rows = _rows_by_unit(NOVEMBER)
    assert rows[world.units["u1"].pk]["list_cents"] == 1800
    assert rows[world.units["u4"].pk]["list_cents"] == 900


def test_the_run_issues_one_invoice_per_bill_to(world, in_english):
    billing_run = _run()
    assert billing_run.state == BillingRunState.COMPLETED
    assert (billing_run.invoice_count, billing_run.line_count, billing_run.net_total) == (2, 5, D("49.50"))
    assert billing_run.period_end == dt.date(2026, 11, 30) and billing_run.finished_at is not None
    beta, dealer = Invoice.unscoped.filter(run=billing_run).order_by("sequence")
    assert (beta.organization, dealer.organization) == (world.beta, world.dealer)  # numbered by recipient name
    assert [beta.number, dealer.number] == ["KP-2026-000001", "KP-2026-000002"]
    assert (dealer.net_total, dealer.vat_total, dealer.gross_total) == (D("40.50"), D("7.70"), D("48.20"))
    assert dealer.vat_breakdown == [{"rate": "19.00", "net": "40.50", "vat": "7.70"}]
    assert (beta.net_total, beta.vat_total, beta.gross_total) == (D("9.00"), D("1.71"), D("10.71"))
    lines = list(dealer.lines.order_by("position"))
    u = world.units
    assert [line.signing_unit_id for line in lines] == [u["u1"].pk, u["u2"].pk, u["u3"].pk, u["u6"].pk]
    assert [line.position for line in lines] == [1, 2, 3, 4]
    first = lines[0]
    assert (first.transactions, first.blocks, first.list_amount, first.discount_percent, first.net_amount,
            first.vat_rate) == (10_001, 2, D("18.00"), D("10.00"), D("16.20"), D("19.00"))
    assert (first.operator, first.organization, first.product) == (world.alpha, world.dealer, world.product)
    assert first.description == (f"TSE {u['u1'].serial_number[:16]} (Alpha Gastro GmbH) 11/2026: "
                                 "10001 transactions, 2 block(s)")
    assert lines[1].description.endswith("(Alpha Gastro GmbH) 11/2026: 0 transactions, 1 block(s)")
    assert sum(line.net_amount for line in lines) == dealer.net_total
    (own,) = beta.lines.all()
    assert (own.signing_unit_id, own.operator, own.discount_percent, own.net_amount) == (
        u["u4"].pk, world.beta, D("0.00"), D("9.00"))
    assert not InvoiceLine.unscoped.filter(signing_unit__in=[u["u5"], u["u7"]]).exists()


def test_invoice_carries_the_section_14_fields(world, settings):
    _run()
    invoice = Invoice.unscoped.get(organization=world.dealer)
    issuer = settings.BILLING_ISSUER
    assert invoice.issuer == {key: issuer[key] for key in ISSUER_KEYS}
    assert invoice.issuer["name"] and invoice.issuer["street"] and invoice.issuer["city"]
    assert invoice.issuer["vat_id"] or invoice.issuer["tax_number"]
    assert invoice.recipient == {"name": "Kassenhandel Nord GmbH", "street": "Hafenstraße 5", "postal_code": "20457",
                                 "city": "Hamburg", "country": "DE", "vat_id": "DE811111111", "tax_number": ""}
    assert invoice.issued_on == dt.date(2026, 12, 1)  # the run date in Berlin
    assert invoice.number == f"{issuer['key']}-2026-000002" and (invoice.year, invoice.sequence) == (2026, 2)
    assert (invoice.period_start, invoice.period_end) == (NOVEMBER, dt.date(2026, 11, 30))
    assert invoice.currency == "EUR" and invoice.kind == "invoice"
    assert all(line.transactions is not None and line.blocks >= 1 for line in invoice.lines.all())
    beta = Invoice.unscoped.get(organization=world.beta)
    assert beta.recipient["tax_number"] == "21/815/08150" and beta.recipient["city"] == "München"


def test_the_snapshot_survives_changes_of_the_recipient(world):
    _run()
    world.dealer.name = "Umbenannt GmbH"
    world.dealer.save()
    assert Invoice.unscoped.get(organization=world.dealer).recipient["name"] == "Kassenhandel Nord GmbH"


def test_rerunning_issues_nothing_new(world):
    first = _run()
    numbers = list(Invoice.unscoped.order_by("sequence").values_list("number", flat=True))
    add_month_transactions(world.units["u2"], 3)  # even with changed data: the period is closed
    with CaptureQueriesContext(connection) as again:
        second = _run(when=RUN_TIME + dt.timedelta(days=3))
    assert second.pk == first.pk and second.state == BillingRunState.COMPLETED
    assert list(Invoice.unscoped.order_by("sequence").values_list("number", flat=True)) == numbers
    assert InvoiceLine.unscoped.count() == 5
    assert InvoiceSequence.objects.get(issuer_key="KP", year=2026).last_number == 2
    assert len(again) <= 2  # the run is looked up and returned


def test_the_preview_shows_what_the_run_issues_without_writing(world):
    with time_machine.travel(RUN_TIME, tick=False):
        preview = preview_period(NOVEMBER)
    assert not Invoice.unscoped.exists() and not BillingRun.objects.exists()
    assert [bill["organization"] for bill in preview] == [world.beta, world.dealer]
    dealer = preview[1]
    assert (dealer["units"], dealer["net_total"], dealer["vat_total"], dealer["gross_total"]) == (
        4, D("40.50"), D("7.70"), D("48.20"))
    assert [line["transactions"] for line in dealer["lines"]] == [10_001, 0, 1, 2]
    assert dealer["lines"][0]["list_amount"] == D("18.00") and dealer["lines"][0]["discount_percent"] == D("10.00")
    assert dealer["recipient"]["vat_id"] == "DE811111111"
    _run()
    for bill in preview:
        invoice = Invoice.unscoped.get(organization=bill["organization"])
        assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (
            bill["net_total"], bill["vat_total"], bill["gross_total"])
        assert invoice.vat_breakdown == bill["vat_breakdown"]
        assert [(line.position, line.signing_unit_id, line.net_amount, line.description)
                for line in invoice.lines.order_by("position")] == [
            (line["position"], line["signing_unit_id"], line["net_amount"], line["description"])
            for line in bill["lines"]]


def test_a_period_that_has_not_ended_is_not_run(world):
    with time_machine.travel(berlin(2026, 11, 30, 23, 59, 59), tick=False), pytest.raises(BillingRunError):
        run_billing(NOVEMBER)
    assert not BillingRun.objects.exists()
    with pytest.raises(ValueError):
        run_billing(dt.date(2026, 11, 15))


def test_a_unit_without_price_plan_fails_the_run_and_a_rerun_completes_it(world):
    product = Product.objects.create(code="TSE-LAN", name="LAN-TSE", kind="signing_unit")
    order = make_order(world.dealer, world.product)
    entitle(make_unit(world.alpha), order, activated_at=berlin(2026, 10, 1), product=product)
    with pytest.raises(BillingRunError):
        _run()
    failed = BillingRun.objects.get(period_start=NOVEMBER)
    assert failed.state == BillingRunState.FAILED and "price plan" in failed.error_message
    assert not Invoice.unscoped.exists() and not InvoiceSequence.objects.exists()  # nothing half-written
    PricePlan.objects.create(product=product, valid_from=dt.date(2026, 1, 1), base_fee=D("20.00"))
    completed = _run()
    assert completed.pk == failed.pk and completed.state == BillingRunState.COMPLETED
    assert completed.error_message == "" and completed.line_count == 6
    assert InvoiceLine.unscoped.filter(product=product).get().net_amount == D("18.00")  # 20.00 − 10 % (5 units)


def test_an_empty_period_completes_without_invoices(tse_product):
    billing_run = _run()
    assert billing_run.state == BillingRunState.COMPLETED
    assert (billing_run.invoice_count, billing_run.line_count, billing_run.net_total) == (0, 0, D("0.00"))
    assert not InvoiceSequence.objects.exists()


def test_run_previous_month(world):
    with time_machine.travel(RUN_TIME, tick=False):
        assert run_previous_month().period_start == NOVEMBER
        assert run_previous_month(dt.date(2026, 11, 17)).period_start == OCTOBER


def test_numbers_continue_gaplessly_across_periods(world):
    october = _run(OCTOBER, when=berlin(2026, 11, 1, 4, 10))
    november = _run()
    assert (october.invoice_count, november.invoice_count) == (2, 2)
    sequences = list(Invoice.unscoped.order_by("sequence").values_list("run__period_start", "sequence"))
    assert sequences == [(OCTOBER, 1), (OCTOBER, 2), (NOVEMBER, 3), (NOVEMBER, 4)]


def _fleet(dealer, operators, order, count, activated_at):
    for index in range(count):
        operator = operators[index % len(operators)]
        unit = make_unit(operator)
        entitle(unit, order, by_dealer=index % 2 == 1, activated_at=activated_at)
        add_transactions(unit, [berlin(2026, 10, 10, 12), berlin(2026, 11, 10, 12)])


def test_the_query_count_does_not_grow_with_the_units(tse_product, capsys):
    dealer = make_organization(roles=("dealer",), name="Flotte Handel GmbH")
    make_contract(dealer, [(2, "5.00")])
    operators = [make_organization(name=f"Flotte {n} GmbH") for n in range(3)]
    order = make_order(dealer, tse_product)
    _fleet(dealer, operators, order, 3, berlin(2026, 9, 1))
    with CaptureQueriesContext(connection) as three:
        october = _run(OCTOBER, when=berlin(2026, 11, 1, 4, 10))
    _fleet(dealer, operators, order, 27, berlin(2026, 10, 20))
    with CaptureQueriesContext(connection) as thirty:
        november = _run()
    assert (october.line_count, november.line_count) == (3, 30)
    assert (october.invoice_count, november.invoice_count) == (3, 4)
    assert len(three) == len(thirty), [q["sql"][:80] for q in thirty]
    with capsys.disabled():
        print(f"\nbilling run queries: {len(three)} for 3 units, {len(thirty)} for 30 units")
