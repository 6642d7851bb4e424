"""GET /api/v1/organizations/{id}/usage: three actors, the document, the dealer's sums, bad months, queries."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.billing_usage.conftest import NOW, activate, add_many, add_transactions, make_unit
from tests.helpers import api_client, assert_actors, assert_envelope

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _url(actor, month=None) -> str:
    return f"/api/v1/organizations/{actor.org_id}/usage" + (f"?month={month}" if month else "")


def test_three_actors(actors, licensed_unit, read_only_key):
    with time_machine.travel(NOW, tick=False):
        responses = assert_actors(actors.api_client, "GET", _url(actors.owner),
                                  {"owner": 200, "partner": 200, "stranger": 404})
        assert api_client(read_only_key[1]).get(_url(actors.owner)).status_code == 200
        assert actors.session_client("owner").get(_url(actors.owner)).status_code == 200
        for name in ("owner", "partner"):
            ids = [unit["signing_unit_id"] for unit in responses[name].json()["units"]]
            assert ids == [str(licensed_unit.public_id)], name
        assert actors.api_client("stranger").get(_url(actors.stranger)).json()["units"] == []


def test_the_usage_document(actors, licensed_unit):
    add_many(licensed_unit, 23000, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 15)
    add_transactions(licensed_unit, [dt.datetime(2026, 3, 31, 22, 0, tzinfo=UTC)])  # 1 April in Berlin
    with time_machine.travel(NOW, tick=False):
        body = actors.api_client("owner").get(_url(actors.owner)).json()
    assert body["month"] == "2026-03"
    (unit,) = body["units"]
    assert {key: value for key, value in unit.items() if key != "days"} == {
        "signing_unit_id": str(licensed_unit.public_id), "serial_number": licensed_unit.serial_number,
        "operator_id": actors.owner.org_id, "transactions": 23000, "blocks": 3, "fee": "27.00",
        "forecast_transactions": 47533, "forecast_fee": "45.00", "billable": True,
        "bill_to_id": actors.partner.org_id,
    }
    assert len(unit["days"]) == 31 and unit["days"][0] == {"date": "2026-03-01", "count": 1534}
    assert sum(day["count"] for day in unit["days"]) == 23000 and unit["days"][15]["count"] == 0
    assert body["totals"] == {"units": 1, "billed_units": 0, "transactions": 23000,
                              "forecast_transactions": 47533, "fee": "0.00", "forecast_fee": "0.00"}
    assert body["operators"] == []


def test_a_past_month_and_the_dealer_sums(actors, licensed_unit):
    second = make_unit(actors.owner.organization, "Kasse Terrasse")
    activate(second, actors.partner.organization, by_dealer=False)  # billed to the operator
    add_many(licensed_unit, 10001, dt.datetime(2026, 2, 1, 9, 0, tzinfo=UTC), 20)
    with time_machine.travel(NOW, tick=False):
        body = actors.api_client("partner").get(_url(actors.partner, "2026-02")).json()
        owner_body = actors.api_client("owner").get(_url(actors.owner, "2026-02")).json()
    assert [unit["signing_unit_id"] for unit in body["units"]] == [str(licensed_unit.public_id)]
    assert body["units"][0]["forecast_transactions"] == 10001 and body["units"][0]["fee"] == "18.00"
    assert body["totals"]["fee"] == body["totals"]["forecast_fee"] == "18.00"
    assert body["operators"] == [{"operator_id": actors.owner.org_id, "name": "Owner Betriebs GmbH", "units": 1,
                                  "transactions": 10001, "fee": "18.00", "forecast_fee": "18.00"}]
    assert [unit["billable"] for unit in owner_body["units"]] == [True, True]
    assert owner_body["totals"]["fee"] == "9.00" and owner_body["totals"]["billed_units"] == 1


@pytest.mark.parametrize("month", ["2026-00", "26-03", "2027-01"])
def test_a_bad_month_is_400(actors, month, in_english):
    with time_machine.travel(NOW, tick=False):
        response = actors.api_client("owner").get(_url(actors.owner, month))
    body = assert_envelope(response, 400, "E_MONTH_INVALID")
    assert "month" in body["details"]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured, time_machine.travel(NOW, tick=False):
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_count_does_not_grow_with_the_units(actors, licensed_unit):
    client = actors.api_client("partner")
    _queries(client, _url(actors.partner))  # warm-up (API key bookkeeping)
    before = [_queries(client, _url(actors.partner)), _queries(client, _url(actors.owner))]
    for index in range(3):
        unit = make_unit(actors.owner.organization, f"Kasse {index}")
        activate(unit, actors.partner.organization)
        add_many(unit, 20, dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 2)
    assert [_queries(client, _url(actors.partner)), _queries(client, _url(actors.owner))] == before
