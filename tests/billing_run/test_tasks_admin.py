"""The Celery tasks of the billing run and the staff admin of products, price plans and runs."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from portal.celery import app
from tenants.models import BillingRun, BillingRunState, PricePlan
from tenants.services.billing.run import run_billing
from tenants.tasks import renew_subscriptions_task, run_period_task, run_previous_month_task
from tests.billing_run.conftest import NOVEMBER, RUN_TIME, berlin
from tests.factories import make_user
from tests.helpers import session_client

pytestmark = pytest.mark.django_db

PLANS = "/admin/tenants/priceplan/"
RUNS = "/admin/tenants/billingrun/"


# --- tasks ------------------------------------------------------------------------------------


def test_the_period_task_runs_the_month(world):
    with time_machine.travel(RUN_TIME, tick=False):
        public_id = run_period_task.apply(kwargs={"period_start": "2026-11-01"}).get()
    billing_run = BillingRun.objects.get(public_id=public_id)
    assert billing_run.period_start == NOVEMBER and billing_run.state == BillingRunState.COMPLETED
    assert billing_run.invoice_count == 2


def test_the_monthly_task_bills_the_previous_berlin_month(world):
    # 00:30 on 1 December in Berlin is still 30 November in UTC
    with time_machine.travel(berlin(2026, 12, 1, 0, 30), tick=False):
        public_id = run_previous_month_task.apply().get()
        assert run_previous_month_task.apply().get() == public_id  # twice: the same run
    assert BillingRun.objects.get(public_id=public_id).period_start == NOVEMBER


def test_the_renewal_task_calls_the_entitlements_service(monkeypatch):
    calls = []

    def renew_subscriptions(today=None):
        calls.append(today)
        return 3

    monkeypatch.setattr("tenants.services.entitlements.renew_subscriptions", renew_subscriptions)
    assert renew_subscriptions_task.apply().get() == 3
    assert calls == [None]


@pytest.mark.parametrize("name", ["tenants.billing.run_previous_month", "tenants.billing.run_period",
                                  "tenants.billing.renew_subscriptions"])
def test_the_tasks_are_registered_on_the_billing_queue(name):
    assert name in app.tasks
    assert app.amqp.router.route({}, name)["queue"].name == "billing"


# --- admin ------------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    user = make_user("staff@kassenportal.example", full_name="Sam Staff", is_staff=True, is_superuser=True)
    return user, session_client(user)


def _plan_form(product, **overrides):
    data = {"product": product.pk, "valid_from": "2027-01-01", "base_fee": "10.00", "included_transactions": "10000",
            "block_size": "10000", "block_price": "10.00", "max_blocks": "5", "term_months": "12"}
    data.update(overrides)
    return data


@pytest.mark.parametrize("valid_from", ["2027-01-15", "2026-12-01", "2026-11-01"])
def test_a_new_plan_must_start_on_the_first_of_a_future_month(staff, tse_product, valid_from):
    _user, client = staff
    with time_machine.travel(RUN_TIME, tick=False):
        response = client.post(f"{PLANS}add/", _plan_form(tse_product, valid_from=valid_from))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["valid_from"]
    assert not PricePlan.objects.filter(product=tse_product, valid_from=dt.date.fromisoformat(valid_from)).exists()


def test_staff_add_a_plan_from_next_month(staff, tse_product):
    user, client = staff
    with time_machine.travel(RUN_TIME, tick=False):
        response = client.post(f"{PLANS}add/", _plan_form(tse_product))
    assert response.status_code == 302, response.content.decode()[:1500]
    plan = PricePlan.objects.get(product=tse_product, valid_from=dt.date(2027, 1, 1))
    assert plan.created_by == user and plan.base_fee == Decimal("10.00")


def test_a_plan_whose_month_has_begun_is_read_only(staff, tse_product):
    _user, client = staff
    plan = PricePlan.objects.get(product=tse_product, valid_from=dt.date(2020, 1, 1))
    url = f"{PLANS}{plan.pk}/change/"
    with time_machine.travel(RUN_TIME, tick=False):
        page = client.get(url)
        assert page.status_code == 200 and 'name="base_fee"' not in page.content.decode()
        assert client.post(url, _plan_form(tse_product, valid_from="2020-01-01", base_fee="1.00")).status_code == 403
        assert client.post(f"{PLANS}{plan.pk}/delete/", {"post": "yes"}).status_code == 403
    plan.refresh_from_db()
    assert plan.base_fee == Decimal("9.00")


def test_a_future_plan_can_still_be_corrected(staff, tse_product):
    user, client = staff
    plan = PricePlan.objects.create(product=tse_product, valid_from=dt.date(2027, 1, 1), base_fee=Decimal("10.00"))
    url = f"{PLANS}{plan.pk}/change/"
    with time_machine.travel(RUN_TIME, tick=False):
        assert client.post(url, _plan_form(tse_product, base_fee="11.00")).status_code == 302
        bad = client.post(url, _plan_form(tse_product, valid_from="2027-01-02"))
    assert bad.status_code == 200 and bad.context["adminform"].form.errors["valid_from"]
    plan.refresh_from_db()
    assert (plan.valid_from, plan.base_fee) == (dt.date(2027, 1, 1), Decimal("11.00"))
    with time_machine.travel(berlin(2027, 1, 1, 0, 0, 1), tick=False):  # its month has begun
        assert session_client(user).post(url, _plan_form(tse_product, base_fee="12.00")).status_code == 403


def test_billing_runs_are_view_only(staff, world):
    _user, client = staff
    with time_machine.travel(RUN_TIME, tick=False):
        billing_run = run_billing(NOVEMBER)
    assert client.get(RUNS).status_code == 200
    page = client.get(f"{RUNS}{billing_run.pk}/change/")
    assert page.status_code == 200 and 'name="state"' not in page.content.decode()
    assert client.get(f"{RUNS}add/").status_code == 403
    assert client.post(f"{RUNS}{billing_run.pk}/change/", {"state": "failed"}).status_code == 403
    assert client.post(f"{RUNS}{billing_run.pk}/delete/", {"post": "yes"}).status_code == 403
    billing_run.refresh_from_db()
    assert billing_run.state == BillingRunState.COMPLETED


def test_products_keep_their_code(staff, tse_product):
    _user, client = staff
    page = client.get(f"/admin/tenants/product/{tse_product.pk}/change/")
    assert page.status_code == 200 and 'name="code"' not in page.content.decode()
    assert client.post(f"/admin/tenants/product/{tse_product.pk}/delete/", {"post": "yes"}).status_code == 403
