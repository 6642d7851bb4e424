"""The usage page: three actors, the SVG chart (thresholds, forecast, today marker, title/desc), the table,
the dealer's sums, bad months, and a query count independent of the number of units."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.billing_usage.conftest import NOW, activate, add_many, make_unit

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _url(actor, month=None) -> str:
    return f"/o/{actor.org_id}/billing/usage/" + (f"?month={month}" if month else "")


def _get(client, url):
    with time_machine.travel(NOW, tick=False):
        return client.get(url)


def test_three_actors(actors, licensed_unit):
    url = _url(actors.owner)
    for name, status in (("owner", 200), ("partner", 200), ("stranger", 404)):
        response = _get(actors.session_client(name), url)
        assert response.status_code == status, name
        if status == 200:
            assert f'data-testid="unit-{licensed_unit.public_id}"' in response.content.decode()
    assert _get(actors.member_client("owner"), url).status_code == 200
    # the stranger's own page does not show the owner's unit
    body = _get(actors.session_client("stranger"), _url(actors.stranger)).content.decode()
    assert str(licensed_unit.public_id) not in body


def _chart(body: str, unit) -> str:
    match = re.search(rf'<svg[^>]*data-unit="{unit.public_id}".*?</svg>', body, re.DOTALL)
    assert match, body
    return match.group(0)


def test_thresholds_forecast_and_today_for_a_unit_at_23000(actors, licensed_unit, in_english):
    add_many(licensed_unit, 23000, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 15)
    body = _get(actors.session_client("owner"), _url(actors.owner)).content.decode()
    svg = _chart(body, licensed_unit)
    thresholds = re.findall(r'data-threshold="(\d+)" data-fee="([\d.]+)"', svg)
    # the forecast (47,533) runs past the last threshold: all four up to the cap are drawn
    assert thresholds == [("10000", "18.00"), ("20000", "27.00"), ("30000", "36.00"), ("40000", "45.00")]
    assert svg.count('stroke-dasharray="6 4"') == 4
    assert "18.00 €" in svg and "45.00 €" in svg
    assert 'data-testid="usage-forecast"' in svg and 'data-testid="usage-today"' in svg
    assert 'data-y-max="50000"' in svg  # one block above the last threshold
    assert "<title id=" in svg and "<desc id=" in svg
    assert "23,000 transactions so far (27.00 EUR)" in svg
    assert "forecast for the month: 47,533 transactions (45.00 EUR)" in svg
    # coordinates are never localized (German would write 12,5)
    points = re.search(r'data-testid="usage-line"', svg) and re.search(r'<polyline points="([^"]+)"', svg).group(1)
    assert all(re.fullmatch(r"\d+\.\d,\d+\.\d", point) for point in points.split())
    # the table carries the numbers
    row = re.search(rf'<tr data-testid="unit-{licensed_unit.public_id}".*?</tr>', body, re.DOTALL).group(0)
    assert 'data-testid="unit-transactions">23,000<' in row
    assert 'data-testid="unit-blocks">3<' in row
    assert 'data-value="27.00"' in row and 'data-value="45.00"' in row
    assert "Partner Kassenhandel GmbH" in row


def test_a_forecast_beyond_the_axis_is_clipped_at_the_top(actors, licensed_unit):
    add_many(licensed_unit, 30000, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 5)  # forecast 62,000
    svg = _chart(_get(actors.session_client("owner"), _url(actors.owner)).content.decode(), licensed_unit)
    assert 'data-y-max="50000"' in svg
    forecast = re.search(r'<polyline points="([^"]+)"[^>]*data-testid="usage-forecast"', svg).group(1)
    (x0, y0), (x1, y1) = (map(float, point.split(",")) for point in forecast.split())
    assert y1 == 12.0 and x0 < x1 < 60 + 484  # reaches the top edge before the month's end


def test_german_is_the_default(actors, licensed_unit):
    add_many(licensed_unit, 23000, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 15)
    body = _get(actors.session_client("owner"), _url(actors.owner)).content.decode()
    assert "23.000" in body and "27,00 €" in body


def test_thresholds_stop_above_the_data_in_a_past_month(actors, licensed_unit):
    add_many(licensed_unit, 23000, dt.datetime(2026, 2, 1, 9, 0, tzinfo=UTC), 20)
    svg = _chart(_get(actors.session_client("owner"), _url(actors.owner, "2026-02")).content.decode(), licensed_unit)
    assert re.findall(r'data-threshold="(\d+)"', svg) == ["10000", "20000", "30000"]
    assert 'data-y-max="30000"' in svg


def test_a_past_month_has_no_forecast_and_no_today_marker(actors, licensed_unit, in_english):
    add_many(licensed_unit, 3000, dt.datetime(2026, 2, 1, 9, 0, tzinfo=UTC), 3)
    body = _get(actors.session_client("owner"), _url(actors.owner, "2026-02")).content.decode()
    svg = _chart(body, licensed_unit)
    assert 'data-testid="usage-forecast"' not in svg and 'data-testid="usage-today"' not in svg
    assert re.findall(r'data-threshold="(\d+)"', svg) == ["10000"]
    assert 'data-month="2026-02"' in body and "3,000 transactions so far (9.00 EUR)" in svg


@pytest.mark.parametrize("month", ["2026-13", "bogus", "2026-04"])
def test_a_bad_month_is_400(actors, month):
    response = _get(actors.session_client("owner"), _url(actors.owner, month))
    assert response.status_code == 400
    assert 'data-code="E_MONTH_INVALID"' in response.content.decode()


def test_the_dealer_sees_the_sums_across_its_operators(actors, licensed_unit, in_english):
    second = make_unit(actors.owner.organization, "Kasse Terrasse")
    activate(second, actors.partner.organization)
    add_many(licensed_unit, 12000, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 12)
    body = _get(actors.session_client("partner"), _url(actors.partner)).content.decode()
    operators = re.search(r'data-testid="usage-operators".*?</table>', body, re.DOTALL).group(0)
    assert f'data-testid="operator-{actors.owner.organization.public_id}"' in operators
    assert 'data-testid="operators-total-fee">27.00 €' in operators  # 18.00 + 9.00
    assert 'data-testid="operators-total-forecast-fee">36.00 €' in operators  # 12000 → 24800: 27.00 + 9.00
    assert 'data-testid="total-fee" data-value="27.00"' in body
    # the operator itself is billed nothing for these units
    owner_body = _get(actors.session_client("owner"), _url(actors.owner)).content.decode()
    assert 'data-testid="total-fee" data-value="0.00"' in owner_body
    assert 'data-testid="usage-operators"' not in owner_body


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert _get(client, url).status_code == 200
    return len(captured)


def test_page_query_count_does_not_grow_with_the_units(actors, licensed_unit):
    client = actors.session_client("partner")
    add_many(licensed_unit, 30, dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 3)
    urls = (_url(actors.partner), _url(actors.owner))
    _page_queries(client, urls[0])  # warm-up (session, caches)
    before = [_page_queries(client, url) for url in urls]
    for index in range(3):
        unit = make_unit(actors.owner.organization, f"Kasse {index}")
        activate(unit, actors.partner.organization)
        add_many(unit, 20, dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 2)
    assert [_page_queries(client, url) for url in urls] == before
