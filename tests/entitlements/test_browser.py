"""In real Chromium: a dealer buys entitlements in the shop and activates one for an operator's signing unit."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from tenants.models import Entitlement, EntitlementState

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_buy_transfer_and_activate(page, live_server, actors, shop, granted, outlet, new_unit, settings):
    settings.LANGUAGE_CODE = "en"
    session = actors.session_client("partner").cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/o/{actors.partner.org_id}/entitlements/shop/")
    buy = page.get_by_test_id("buy-form")
    buy.locator("select[name=product]").select_option(str(shop.public_id))
    buy.locator("input[name=quantity]").fill("2")
    buy.get_by_role("button").click()
    expect(page.get_by_test_id("exposure")).to_have_text(re.compile(r"216[.,]00 EUR"))  # de-DE browser
    expect(page.get_by_test_id("stock").locator("tbody tr")).to_have_count(2)

    chooser = page.get_by_test_id("choose-operator")
    chooser.locator("select[name=operator]").select_option(actors.owner.org_id)
    chooser.get_by_role("button").click()
    form = page.get_by_test_id("assign-form")
    form.locator("select[name=entitlement]").select_option(index=1)
    form.locator("select[name=outlet]").select_option(str(outlet.public_id))
    form.locator("select[name=signing_unit]").select_option(str(new_unit.public_id))
    form.get_by_role("button").click()
    expect(page.get_by_test_id("active").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("stock").locator("tbody tr")).to_have_count(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "entitlements-shop.png"), full_page=True)
    active = Entitlement.unscoped.get(state=EntitlementState.ACTIVE)
    assert (active.signing_unit_id, active.operator_id, active.activated_by_dealer) == (
        new_unit.pk, actors.owner.organization.pk, True)
