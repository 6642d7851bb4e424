"""Issue 6 in real Chromium: a dealer buys entitlements, activates one for an operator's signing unit,
watches the usage, and after the billing run of the month downloads the invoice PDF with the right total.

Set-up: the owner (operator) granted the partner (dealer) ``entitlements`` besides ``read``; the dealer
holds a countersigned framework contract in force (credit limit 1,000.00 EUR, 10 % from 1 unit); the
operator has an outlet and a software TSE. The till signs three receipts through the TSE backend and
10,000 more transactions are written as rows (all in the current Berlin month): 10,003 transactions =
2 blocks = 18.00 EUR list, 16.20 EUR net after 10 %, 3.08 EUR VAT (19 %), 19.28 EUR gross. The
billing run for the month is done with the clock moved to the next month's first day (the run refuses
unfinished months); the browser then works at the real time again.
Screenshots go to ``$E2E_ARTIFACTS_DIR`` (default ``test-results/e2e/``).
"""

import datetime as dt
import os
import re
from importlib import import_module
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from tenants.models import DiscountTier, Entitlement, EntitlementState, FrameworkContract, Invoice, Outlet, Product
from tenants.services.billing.run import run_billing
from tenants.services.billing.usage import current_month
from tenants.services.grants import grant_right
from tests.billing_usage.conftest import add_many
from tse.services.signing_units import get_backend

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")
RECEIPT = b"Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar"


def _shop_ready(actors) -> tuple[Product, Outlet]:
    """TSE-SUB with its plan (a transactional test flushed the migration's rows), the dealer's contract,
    the operator's ``entitlements`` grant and outlet 1."""
    import_module("tenants.migrations.0008_invoices_final_default_plan").default_plan(apps, None)
    dealer, operator = actors.partner.organization, actors.owner.organization
    today = timezone.localdate()
    contract = FrameworkContract.unscoped.create(
        organization=dealer, title="Rahmenvertrag", text="Volumen und Rabatte.", planned_volume=10,
        starts_on=today - dt.timedelta(days=40), ends_on=today + dt.timedelta(days=320),
        credit_limit="1000.00", countersigned_at=timezone.now(), countersigned_by=actors.partner.user,
        countersign_name=actors.partner.user.full_name)
    DiscountTier.unscoped.create(contract=contract, organization=dealer, min_units=1, percent="10.00")
    grant_right(actor=None, operator=operator, dealer=dealer, right="entitlements")
    outlet = Outlet.unscoped.filter(organization=operator, number=1).first() or Outlet.unscoped.create(
        organization=operator, number=1, name="Filiale Mitte", street="Hauptstraße", house_number="1",
        postal_code="10115", city="Berlin")
    return Product.objects.get(code="TSE-SUB"), outlet


def _login(page, live_server, client) -> None:
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])


def _sign(unit, receipts: int, rows: int) -> None:
    backend = get_backend(unit)
    for _receipt in range(receipts):
        started = backend.start_transaction("KASSE-01")
        backend.finish_transaction("KASSE-01", started.number, "Kassenbeleg-V1", RECEIPT)
    add_many(unit, rows, timezone.now() - dt.timedelta(seconds=1), 1)


def test_dealer_buys_activates_and_downloads_the_invoice(page, live_server, actors, ready_unit):
    product, outlet = _shop_ready(actors)
    dealer, operator = actors.partner.organization, actors.owner.organization
    _login(page, live_server, actors.session_client("partner"))
    base = f"{live_server.url}/o/{actors.partner.org_id}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # 1. buy 2 entitlements in the shop (10 % off: 2 × 9.00 × 12 × 0.9 = 194.40 EUR committed)
    page.goto(f"{base}/entitlements/shop/")
    expect(page.get_by_test_id(f"product-{product.code}")).to_be_visible()
    buy = page.get_by_test_id("buy-form")
    buy.locator("[name=product]").select_option(str(product.public_id))
    buy.locator("[name=quantity]").fill("2")
    buy.locator("button[type=submit]").click()
    expect(page.get_by_test_id("exposure")).to_contain_text("194")
    stock = list(Entitlement.unscoped.filter(dealer=dealer, state=EntitlementState.STOCK).order_by("pk"))
    assert len(stock) == 2

    # 2. transfer one to the operator's outlet and activate it for the signing unit
    chooser = page.get_by_test_id("choose-operator")
    chooser.locator("[name=operator]").select_option(str(operator.public_id))
    chooser.locator("button[type=submit]").click()
    assign = page.get_by_test_id("assign-form")
    assign.locator("[name=entitlement]").select_option(str(stock[0].public_id))
    assign.locator("[name=outlet]").select_option(str(outlet.public_id))
    assign.locator("[name=signing_unit]").select_option(str(ready_unit.public_id))
    expect(assign.locator("[name=activate]")).to_be_checked()
    assign.locator("button[type=submit]").click()
    expect(page.get_by_test_id("active")).to_contain_text(product.name)
    page.screenshot(path=str(ARTIFACTS / "billing-shop.png"), full_page=True)
    activated = Entitlement.unscoped.get(pk=stock[0].pk)
    assert activated.state == EntitlementState.ACTIVE and activated.signing_unit == ready_unit
    assert activated.activated_by_dealer
    assert Entitlement.unscoped.get(pk=stock[1].pk).state == EntitlementState.STOCK

    # 3. the till signs; the dealer's usage page sums its operators and draws the first threshold
    _sign(ready_unit, receipts=3, rows=10000)
    page.goto(f"{base}/billing/usage/")
    expect(page.get_by_test_id(f"operator-{operator.public_id}")).to_contain_text("18,00 €")
    chart = page.locator(f"svg[data-unit='{ready_unit.public_id}']")
    expect(chart).to_be_visible()
    expect(chart.locator("[data-threshold='10000']")).to_have_count(1)
    expect(page.get_by_test_id(f"unit-{ready_unit.public_id}").get_by_test_id("unit-transactions")).to_have_text(
        "10.003")
    page.screenshot(path=str(ARTIFACTS / "billing-usage.png"), full_page=True)

    # 4. the billing run of the month, on the first day of the next month
    month = current_month()
    following = (month + dt.timedelta(days=32)).replace(day=1)
    with time_machine.travel(dt.datetime.combine(following, dt.time(1, 0), timezone.get_default_timezone()),
                             tick=False):
        billing_run = run_billing(month)
    assert billing_run.state == "completed"
    invoice = Invoice.unscoped.get(organization=dealer, run=billing_run)
    assert (str(invoice.net_total), str(invoice.vat_total), str(invoice.gross_total)) == ("16.20", "3.08", "19.28")
    assert not Invoice.unscoped.filter(organization=operator).exists()  # the dealer activated: it is billed

    # 5. the invoice page and its PDF with the right total
    page.goto(f"{base}/billing/invoices/")
    row = page.get_by_test_id(f"invoice-{invoice.public_id}")
    expect(row.get_by_test_id("invoice-gross")).to_contain_text(re.compile(r"19[,.]28"))
    row.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_test_id("invoice-title")).to_contain_text(invoice.number)
    page.screenshot(path=str(ARTIFACTS / "billing-invoice.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("invoice-pdf").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"19,28" in pdf and b"16,20" in pdf and b"3,08" in pdf
    assert invoice.number.encode() in pdf
