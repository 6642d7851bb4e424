"""Watch rows: one per TSE in use, both expiries, the worst level at 91/90/30/7/0 days, in two queries."""

import datetime as dt

import pytest
import time_machine

from tse.models import BsiCertification, SigningUnit, SigningUnitState
from tse.services.certifications import watch_rows

from .conftest import BERLIN, TODAY, make_tse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("days", "level"), [
    (91, None), (90, "info"), (31, "info"), (30, "warning"), (8, "warning"), (7, "danger"), (0, "danger"),
    (-1, "danger"),
])
def test_the_certificate_expiry_levels(owner, on_today, days, level):
    unit = make_tse(owner.organization, days=days)
    [row] = watch_rows([owner.organization])
    assert row.unit == unit and row.certificate_expires_on == TODAY + dt.timedelta(days=days)
    assert row.certificate_days_left == days and row.level == level
    assert row.needs_replacement is (level is not None)
    assert row.days_left == (days if level else None)


def test_levels_change_as_the_days_pass(owner):
    make_tse(owner.organization, days=91)
    levels = []
    for days_later in (0, 1, 61, 84, 91, 92):
        moment = dt.datetime.combine(TODAY + dt.timedelta(days=days_later), dt.time(9), tzinfo=BERLIN)
        with time_machine.travel(moment, tick=False):
            levels.append(watch_rows([owner.organization])[0].level)
    assert levels == [None, "info", "warning", "danger", "danger", "danger"]


def test_a_row_carries_operator_outlet_product_and_capacity(owner, make_outlet, on_today, in_english):
    outlet = make_outlet(owner.organization)
    unit = make_tse(owner.organization, days=400, bsi="BSI-K-TR-0412-2020", backend="lan", outlet=outlet,
                    remaining=5_000)
    [row] = watch_rows([owner.organization])
    assert row.operator == owner.organization and row.outlet == outlet and row.serial_number == unit.serial_number
    assert (row.bsi_id, row.product_name, row.form_factor) == ("0412-2020", "Swissbit TSE 1.0", "")
    assert (row.product.code, row.backend_label, row.remaining_signatures) == ("valid", "LAN TSE", 5_000)
    assert row.level == "warning"  # the capacity runs out
    assert row.reasons == ["The TSE can create only 5000 more signatures."]


def test_the_form_factor_falls_back_to_the_product(owner, on_today, in_english):
    make_tse(owner.organization, bsi="BSI-K-TR-0403-2021")
    make_tse(owner.organization, bsi="BSI-K-TR-0362-2019", form_factor="sd", days=401)
    rows = watch_rows([owner.organization])
    assert [row.form_factor for row in rows] == ["cloud TSE", "SD / microSD card"]


def test_the_product_certification_counts_too(owner, on_today, in_english):
    withdrawn = make_tse(owner.organization, days=900, bsi="BSI-K-TR-0491-2021")
    ending = make_tse(owner.organization, days=900, bsi="0412-2020")
    BsiCertification.objects.filter(certification_id="BSI-K-TR-0412-2020").update(valid_until=dt.date(2027, 1, 15))
    fine = make_tse(owner.organization, days=900)
    rows = {row.unit: row for row in watch_rows([owner.organization])}
    assert (rows[withdrawn].level, rows[withdrawn].product.code) == ("danger", "withdrawn")
    assert rows[withdrawn].reasons == ["certification withdrawn on 07.01.2023; the grace period ended on 31.07.2024"]
    assert (rows[ending].level, rows[ending].product.code, rows[ending].days_left) == ("info", "expiring", 45)
    assert rows[fine].level is None and rows[fine].reasons == []


def test_the_software_tse_is_not_certified(ready_unit, on_today):
    SigningUnit.unscoped.filter(pk=ready_unit.pk).update(bsi_certification_id="BSI-K-TR-0403-2021")
    [row] = watch_rows([ready_unit.organization])
    assert row.is_software and row.certification is None and row.product.code == "unknown" and row.bsi_id == ""


def test_only_units_in_use_of_the_given_operators_sorted_by_urgency(owner, stranger, on_today):
    later = make_tse(owner.organization, days=60)
    urgent = make_tse(owner.organization, days=5)
    calm = make_tse(owner.organization, days=500)
    soon = make_tse(owner.organization, days=20)
    unknown_expiry = make_tse(owner.organization, days=None, state=SigningUnitState.UNINITIALIZED)
    make_tse(owner.organization, days=1, state=SigningUnitState.DISABLED)
    strangers = make_tse(stranger.organization, days=1)
    assert [row.unit for row in watch_rows([owner.organization])] == [urgent, soon, later, calm, unknown_expiry]
    both = [row.unit for row in watch_rows([owner.organization.pk, stranger.organization.pk])]
    assert both[:2] == [strangers, urgent]
    assert watch_rows([]) == []


def test_two_queries_whatever_the_number_of_units(owner, make_outlet, on_today, django_assert_num_queries):
    outlet = make_outlet(owner.organization)
    make_tse(owner.organization, days=5, outlet=outlet)
    with django_assert_num_queries(2):
        rows = watch_rows([owner.organization])
        [(row.operator.name, str(row.outlet), row.form_factor, row.product_name) for row in rows]
    for days in (1, 40, 80, 120, 500):
        make_tse(owner.organization, days=days, outlet=outlet, bsi="BSI-K-TR-0373")
    with django_assert_num_queries(2):
        rows = watch_rows([owner.organization])
        [(row.operator.name, str(row.outlet), row.form_factor, row.product_name) for row in rows]
    assert len(rows) == 6
