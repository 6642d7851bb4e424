"""Notification events derived from configuration changes made through the real services."""

import datetime as dt

import pytest
import time_machine

from compliance.models import NotificationEvent
from compliance.services.events import open_events, unassigned_registers
from exports.services.cash_registers import decommission_cash_register, update_cash_register
from portal.models import LogEntry
from tenants.models import ConfigurationVersion
from tenants.services.organizations import update_organization
from tenants.services.premises import close_betriebsstaette, update_betriebsstaette, update_outlet
from tests.compliance_events.conftest import REGISTER_DAY
from tse.models import SigningUnit
from tse.services.signing_units import create_signing_unit, initialize_signing_unit

D = dt.date
LATER = dt.datetime(2026, 8, 20, 9, 0, tzinfo=dt.UTC)


def kinds(**filters) -> list[tuple]:
    return sorted((e.kind, e.betriebsstaette.name, e.occurred_on, e.deadline)
                  for e in NotificationEvent.unscoped.filter(**filters).select_related("betriebsstaette"))


def test_a_new_register_is_acquired_commissioned_and_gets_its_first_tse(premises, make_register, ready_unit):
    register = make_register("KASSE-01", premises["1"])
    version = ConfigurationVersion.unscoped.filter(organization=register.organization).order_by("-number").first()
    events = {e.kind: e for e in NotificationEvent.unscoped.filter(cash_register=register)}
    assert set(events) == {"acquired", "commissioned", "tse_commissioned"}
    for event in events.values():
        assert event.betriebsstaette == premises["mitte"] and event.organization == register.organization
        assert (event.occurred_on, event.deadline) == (D(2026, 7, 10), D(2026, 8, 10))
        assert event.configuration_version == version and event.covered_by is None
        assert event.details["serial_number"] == "KASSE-01"
    assert events["tse_commissioned"].signing_unit == ready_unit
    assert events["tse_commissioned"].details["tse_serial_number"] == ready_unit.serial_number


def test_acquisition_and_commissioning_dates_of_the_register(premises, make_register):
    register = make_register("KASSE-01", premises["1"], acquired_on=D(2026, 1, 31), commissioned_on=D(2026, 3, 31))
    assert kinds(cash_register=register, kind__in=["acquired", "commissioned"]) == [
        ("acquired", "Laden Mitte", D(2026, 1, 31), D(2026, 2, 28)),
        ("commissioned", "Laden Mitte", D(2026, 3, 31), D(2026, 4, 30)),
    ]


def test_correcting_a_date_moves_the_open_event_and_a_notified_one_makes_a_change(premises, make_register):
    register = make_register("KASSE-01", premises["1"])
    with time_machine.travel(LATER, tick=False):
        update_cash_register(actor=None, cash_register=register, changes={"acquired_on": D(2026, 7, 1)})
    acquired = NotificationEvent.unscoped.get(cash_register=register, kind="acquired")
    assert (acquired.occurred_on, acquired.deadline) == (D(2026, 7, 1), D(2026, 8, 1))
    NotificationEvent.unscoped.filter(cash_register=register, kind="commissioned").delete()
    with time_machine.travel(LATER, tick=False):
        update_cash_register(actor=None, cash_register=register, changes={"commissioned_on": D(2026, 7, 2)})
    change = NotificationEvent.unscoped.get(cash_register=register, kind="master_data_changed")
    assert change.details["fields"] == ["commissioned_on"] and change.occurred_on == D(2026, 8, 20)


def test_a_register_commissioned_before_it_was_acquired_is_refused(premises, make_register):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        make_register("KASSE-01", premises["1"], acquired_on=D(2026, 7, 5), commissioned_on=D(2026, 7, 1))
    assert "commissioned_on" in error.value.message_dict


def test_a_register_at_an_outlet_without_betriebsstaette_makes_no_event(premises, make_register):
    register = make_register("KASSE-01", premises["3"])
    assert not NotificationEvent.unscoped.exists()
    assert list(unassigned_registers(register.organization)) == [register]


def test_decommissioning_with_reason(premises, make_register):
    register = make_register("KASSE-01", premises["1"])
    with time_machine.travel(dt.datetime(2026, 8, 31, 22, 30, tzinfo=dt.UTC), tick=False):  # 1 Sep in Berlin
        decommission_cash_register(actor=None, cash_register=register, reason="stolen", note="Einbruch")
    event = NotificationEvent.unscoped.get(kind="decommissioned")
    assert (event.cash_register, event.betriebsstaette) == (register, premises["mitte"])
    assert (event.occurred_on, event.deadline) == (D(2026, 9, 1), D(2026, 10, 1))
    assert event.details == {"serial_number": "KASSE-01", "reason": "stolen", "note": "Einbruch"}
    register.refresh_from_db()
    assert (register.decommission_reason, register.decommission_note) == ("stolen", "Einbruch")


def test_decommissioning_refuses_an_unknown_reason(premises, make_register):
    from django.core.exceptions import ValidationError

    register = make_register("KASSE-01", premises["1"])
    with pytest.raises(ValidationError):
        decommission_cash_register(actor=None, cash_register=register, reason="vanished")
    register.refresh_from_db()
    assert register.decommissioned_at is None


def test_moving_a_register_to_an_outlet_of_another_betriebsstaette(premises, make_register):
    register = make_register("KASSE-01", premises["1"])
    with time_machine.travel(LATER, tick=False):
        update_cash_register(actor=None, cash_register=register, changes={"outlet": premises["2"]})
    assert kinds(kind__in=["moved_out", "moved_in"]) == [
        ("moved_in", "Laden Nord", D(2026, 8, 20), D(2026, 9, 20)),
        ("moved_out", "Laden Mitte", D(2026, 8, 20), D(2026, 9, 20)),
    ]
    moved_in = NotificationEvent.unscoped.get(kind="moved_in")
    assert moved_in.details == {"serial_number": "KASSE-01", "from": "Laden Mitte", "to": "Laden Nord"}
    # within the same Betriebsstätte: no event
    NotificationEvent.unscoped.all().delete()
    with time_machine.travel(LATER, tick=False):
        update_outlet(actor=None, outlet=premises["3"], changes={"betriebsstaette": premises["nord"]})
        update_cash_register(actor=None, cash_register=register, changes={"outlet": premises["3"]})
    assert not NotificationEvent.unscoped.exists()


def test_assigning_the_outlet_to_another_betriebsstaette_moves_its_registers(premises, make_register):
    make_register("KASSE-01", premises["1"])
    with time_machine.travel(LATER, tick=False):
        update_outlet(actor=None, outlet=premises["1"], changes={"betriebsstaette": premises["nord"]})
    assert [k[:2] for k in kinds(kind__in=["moved_out", "moved_in"])] == [("moved_in", "Laden Nord"),
                                                                           ("moved_out", "Laden Mitte")]


def test_replacing_the_tse(premises, make_register, ready_unit, second_unit):
    register = make_register("KASSE-01", premises["1"])
    from exports.services.tse_replacement import replace_tse

    with time_machine.travel(dt.datetime(2026, 9, 3, 9, 0, tzinfo=dt.UTC), tick=False):
        replace_tse(None, register, second_unit)
    event = NotificationEvent.unscoped.get(kind="tse_replaced")
    assert (event.cash_register, event.betriebsstaette, event.signing_unit) == (register, premises["mitte"],
                                                                               second_unit)
    assert (event.occurred_on, event.deadline) == (D(2026, 9, 3), D(2026, 10, 3))
    assert event.details == {"serial_number": "KASSE-01", "old_tse_serial_number": ready_unit.serial_number,
                             "new_tse_serial_number": second_unit.serial_number}
    # the first TSE was commissioned once; the replacement is no second "tse_commissioned"
    assert NotificationEvent.unscoped.filter(kind="tse_commissioned").count() == 1


def test_closing_a_betriebsstaette_lists_the_systems_still_in_use(premises, make_register):
    make_register("KASSE-01", premises["1"])
    gone = make_register("KASSE-02", premises["1"])
    with time_machine.travel(LATER, tick=False):
        decommission_cash_register(actor=None, cash_register=gone, reason="sold")
        close_betriebsstaette(actor=None, betriebsstaette=premises["mitte"], closed_on=D(2026, 8, 15))
    event = NotificationEvent.unscoped.get(kind="premises_closed")
    assert (event.betriebsstaette, event.cash_register) == (premises["mitte"], None)
    assert (event.occurred_on, event.deadline) == (D(2026, 8, 15), D(2026, 9, 15))
    assert event.details == {"active_systems": ["KASSE-01"]}
    # closing does not decommission: only the register the operator decommissioned has that event
    assert list(NotificationEvent.unscoped.filter(kind="decommissioned").values_list("cash_register", flat=True)) == [
        gone.pk]


def test_changing_the_address_of_a_betriebsstaette(premises):
    with time_machine.travel(LATER, tick=False):
        update_betriebsstaette(actor=None, betriebsstaette=premises["nord"], changes={"street": "Südweg"})
        update_betriebsstaette(actor=None, betriebsstaette=premises["mitte"], changes={"reference": "mitte"})
    event = NotificationEvent.unscoped.get()
    assert (event.kind, event.betriebsstaette, event.occurred_on) == ("master_data_changed", premises["nord"],
                                                                      D(2026, 8, 20))
    assert event.details == {"scope": "betriebsstaette", "fields": ["street"],
                             "changes": {"street": {"old": "Nordweg", "new": "Südweg"}}}


def test_changing_the_pos_system_version(premises, make_register, catalogue):
    register = make_register("KASSE-01", premises["1"], version="old")
    with time_machine.travel(LATER, tick=False):
        update_cash_register(actor=None, cash_register=register, changes={"base_currency": "CHF"})
        assert not NotificationEvent.unscoped.filter(kind="master_data_changed").exists()
        update_cash_register(actor=None, cash_register=register, changes={"pos_system_version": catalogue["new"]})
    event = NotificationEvent.unscoped.get(kind="master_data_changed")
    assert (event.cash_register, event.betriebsstaette) == (register, premises["mitte"])
    change = event.details["changes"]["pos_system_version"]
    assert change["old"].endswith("KassenSoft 3.0") and change["new"].endswith("KassenSoft 3.1")


def test_changing_the_company_data(owner, premises):
    with time_machine.travel(LATER, tick=False):
        close_betriebsstaette(actor=None, betriebsstaette=premises["nord"], closed_on=D(2026, 8, 1))
        NotificationEvent.unscoped.all().delete()
        update_organization(actor=owner.user, organization=owner.organization, changes={"email": "neu@example.com"})
        assert not NotificationEvent.unscoped.exists()
        update_organization(actor=owner.user, organization=owner.organization,
                            changes={"street": "Neue Straße 7", "phone": "030 1234"})
    event = NotificationEvent.unscoped.get()
    assert (event.kind, event.betriebsstaette, event.occurred_on) == ("master_data_changed", premises["mitte"],
                                                                      D(2026, 8, 20))
    assert event.details == {"scope": "organization", "fields": ["street"]}
    assert event.configuration_version is None


def test_initialization_records_the_day_once(owner):
    unit = create_signing_unit(actor=None, organization=owner.organization, description="X")
    assert unit.initialized_at is None
    with time_machine.travel(dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC), tick=False):
        unit = initialize_signing_unit(actor=None, signing_unit=unit)
    assert unit.initialized_at == dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)
    SigningUnit.unscoped.filter(pk=unit.pk).update(state="uninitialized")
    with time_machine.travel(dt.datetime(2026, 10, 9, 12, 0, tzinfo=dt.UTC), tick=False):
        unit = initialize_signing_unit(actor=None, signing_unit=SigningUnit.unscoped.get(pk=unit.pk))
    assert unit.initialized_at == dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)


def test_open_events_by_deadline_and_per_operator(premises, make_register, stranger):
    make_register("KASSE-01", premises["1"], acquired_on=D(2026, 6, 1))
    make_register("KASSE-02", premises["2"], when=REGISTER_DAY + dt.timedelta(days=3))
    events = list(open_events(premises["mitte"].organization))
    assert [e.deadline for e in events] == sorted(e.deadline for e in events)
    assert events[0].kind == "acquired" and events[0].deadline == D(2026, 7, 1)
    assert len(events) == 6 and not list(open_events(stranger.organization))


def test_audit_of_the_decommissioning(premises, make_register):
    register = make_register("KASSE-01", premises["1"])
    decommission_cash_register(actor=None, cash_register=register, reason="sold", note="an Händler")
    entry = LogEntry.unscoped.filter(action="exports.cash_register.changed").latest("pk")
    assert entry.data["changes"]["decommission_reason"] == {"old": "", "new": "sold"}
