"""Issue 7 in real Chromium: a dealer uploads a CSV of 5 operators, starts the rollout of a template shared
with it by a creator, watches the progress bar reach 100 %, then opens one operator's configuration tree and
its change history.

Set-up: the creator's template "Filiale" (Betriebsstätte, outlet 1, software TSE ``tse-1`` initialized, POS
``K<store>-<nn>`` with cash registers of the creator's POS system) is shared with the partner dealer; 5
operators (``OP-1`` … ``OP-5``) granted the dealer ``read`` and ``configure``. The job's Celery task runs on
a real worker thread consuming the ``default`` queue (eager mode off meanwhile), so the page sees the
progress through htmx polling of the live job row.
Screenshots go to ``$E2E_ARTIFACTS_DIR`` (default ``test-results/e2e/``).
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from portal.tenancy import actor_for_user
from tenants.models import (
    ConfigurationSource,
    ConfigurationVersion,
    Membership,
    MembershipRole,
    RolloutItemState,
    RolloutJob,
    RolloutJobItem,
    RolloutJobState,
)
from tenants.services.rollout.templates import create_template, share_template
from tests.configuration_fixtures import make_operators, template_document
from tests.workers import thread_worker
from tse.models import SigningUnit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or REPO / "test-results" / "e2e")
TIMEOUT_MS = 90_000
REGISTERS = {1: 2, 2: 2, 3: 3, 4: 1, 5: 2}


def _login(page, live_server, client) -> None:
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                               "url": live_server.url}])


def _shared_template(actors, pos_catalogue):
    creator = pos_catalogue["creator"]
    owner = Membership.unscoped.get(organization=creator, role=MembershipRole.OWNER).user
    actor = actor_for_user(owner)
    template = create_template(actor, creator, "Filiale", "Ein Laden mit TSE und Kassen",
                               template_document(pos_catalogue["new"].public_id), note="erste Fassung")
    share_template(actor, template, actors.partner.organization)
    return template


def test_dealer_rolls_a_template_out_to_five_operators(page, live_server, actors, pos_catalogue):
    template = _shared_template(actors, pos_catalogue)
    dealer = actors.partner.organization
    operators = make_operators(5, dealer, ("read", "configure"))
    csv_text = "operator;store;registers\n" + "".join(
        f"OP-{i};B0{i};{REGISTERS[i]}\n" for i in range(1, 6))
    _login(page, live_server, actors.session_client("partner"))
    base = f"{live_server.url}/o/{actors.partner.org_id}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with thread_worker("default"):
        # 1. the apply form: variables of the latest version, the CSV upload
        page.goto(f"{base}/rollout/templates/{template.public_id}/apply/")
        expect(page.get_by_test_id("rollout-variable-store")).to_be_visible()
        expect(page.get_by_test_id("rollout-variable-registers")).to_contain_text("2")
        form = page.get_by_test_id("rollout-apply-form")
        form.locator("[name=csv_file]").set_input_files(files=[{
            "name": "broken.csv", "mimeType": "text/csv", "buffer": b"operator;store\nOP-1;B01\n;B02\n"}])
        form.get_by_test_id("rollout-start").click()
        expect(page.get_by_test_id("rollout-row-error")).to_have_count(1)  # re-shown with the row's error
        expect(page.locator("[data-testid=rollout-row-error][data-row='2']")).to_contain_text("E_REQUIRED")
        page.screenshot(path=str(ARTIFACTS / "rollout-apply-errors.png"), full_page=True)
        assert not RolloutJob.unscoped.exists()
        form = page.get_by_test_id("rollout-apply-form")
        form.locator("[name=csv_file]").set_input_files(files=[{
            "name": "operators.csv", "mimeType": "text/csv", "buffer": csv_text.encode("utf-8")}])
        form.get_by_test_id("rollout-start").click()

        # 2. the job page: the bar fills up while the worker applies operator after operator
        page.wait_for_url(f"{base}/rollout/jobs/*/")
        progress = page.get_by_test_id("rollout-progress")
        expect(progress).to_be_visible()
        expect(page.get_by_test_id("rollout-progress-percent")).to_have_text("100 %", timeout=TIMEOUT_MS)
        expect(progress).to_have_attribute("data-finished", "true")
        expect(progress).to_have_attribute("data-state", RolloutJobState.COMPLETED)
        expect(page.get_by_test_id("rollout-progress-counts")).to_contain_text("5")
        for position in range(1, 6):  # the final report was swapped in by the last poll
            expect(page.get_by_test_id(f"rollout-item-{position}")).to_have_attribute(
                "data-state", RolloutItemState.APPLIED)
        page.screenshot(path=str(ARTIFACTS / "rollout-job.png"), full_page=True)

    job = RolloutJob.unscoped.get()
    assert (job.state, job.total, job.done, job.failed, job.source) == (RolloutJobState.COMPLETED, 5, 5, 0, "csv")
    items = {item.position: item for item in RolloutJobItem.unscoped.filter(job=job)}
    assert [items[i].operator for i in range(1, 6)] == operators

    # 3. one operator's configuration tree: the TSE and the registers from the template
    operator = operators[2]
    unit = SigningUnit.unscoped.get(organization=operator, reference="tse-1")
    page.get_by_test_id("rollout-item-3").get_by_test_id("rollout-item-version").click()
    page.wait_for_url(f"{live_server.url}/o/{operator.public_id}/configuration/history/*/")
    page.goto(f"{live_server.url}/o/{operator.public_id}/configuration/")
    outlet = page.get_by_test_id("tree-outlet-1")
    expect(outlet).to_contain_text("Filiale B03")
    tree_unit = page.get_by_test_id(f"tree-unit-{unit.public_id}")
    expect(tree_unit).to_have_attribute("data-reference", "tse-1")
    expect(tree_unit.get_by_test_id("unit-serial")).not_to_have_text("—")
    for n in range(1, REGISTERS[3] + 1):
        client_row = tree_unit.get_by_test_id(f"tree-client-KB03-{n:02}")
        expect(client_row).to_be_visible()
        expect(client_row.get_by_test_id("register-currency")).to_have_text("EUR")
        expect(client_row.get_by_test_id("register-pos-system")).to_contain_text("3.1")
    expect(tree_unit.get_by_test_id("tree-client-KB03-04")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "rollout-configuration.png"), full_page=True)

    # 4. its change history: the version made by the rollout, by the dealer's user on the operator's behalf
    version = ConfigurationVersion.unscoped.get(organization=operator)
    assert (version.source, version.rollout_job, version.acting_organization) == (
        ConfigurationSource.ROLLOUT, job, dealer)
    page.get_by_test_id("configuration-history").click()
    row = page.get_by_test_id(f"version-{version.number}")
    expect(row.get_by_test_id("version-source")).to_have_attribute("data-source", ConfigurationSource.ROLLOUT)
    expect(row.get_by_test_id("version-who")).to_contain_text(actors.partner.user.full_name)
    expect(row.get_by_test_id("version-on-behalf")).to_contain_text(dealer.name)
    page.screenshot(path=str(ARTIFACTS / "rollout-history.png"), full_page=True)
    row.get_by_test_id("version-job").click()  # back to the job that made it
    expect(page.get_by_test_id("rollout-progress-percent")).to_have_text("100 %")
