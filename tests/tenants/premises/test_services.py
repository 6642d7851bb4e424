"""The premises services: Betriebsstätten and outlets, numbers, links, closing, audit."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.models import LogEntry
from portal.services.audit import ACTION_LABELS
from tenants.models import Betriebsstaette, Outlet
from tenants.services.premises import (
    PremisesError,
    close_betriebsstaette,
    close_outlet,
    create_betriebsstaette,
    create_outlet,
    next_outlet_number,
    update_betriebsstaette,
    update_outlet,
)
from tests.tenants.premises.helpers import betriebsstaette_data, outlet_data

pytestmark = pytest.mark.django_db


def _outlet(organization, **data):
    return create_outlet(actor=None, organization=organization, data=outlet_data(**data))


# --- Betriebsstätten ------------------------------------------------------------------------


def test_it_creates_a_betriebsstaette_with_street_and_house_number_separate_and_audits_it(owner):
    betriebsstaette = create_betriebsstaette(
        actor=owner.user, organization=owner.organization,
        data=betriebsstaette_data(name="  Café Nord ", street="Nordstraße", house_number="12a", country="de",
                                  remarks="Hinterhof"),
    )
    betriebsstaette.refresh_from_db()
    assert (betriebsstaette.name, betriebsstaette.street, betriebsstaette.house_number) == (
        "Café Nord", "Nordstraße", "12a")
    assert betriebsstaette.country == "DE" and betriebsstaette.remarks == "Hinterhof"
    assert betriebsstaette.organization == owner.organization and betriebsstaette.closed_on is None
    entry = LogEntry.unscoped.get(action="tenants.betriebsstaette.created")
    assert entry.organization == owner.organization and entry.actor_user == owner.user
    assert entry.object_id == str(betriebsstaette.public_id)
    assert entry.data["fields"]["house_number"] == "12a"
    assert entry.acting_organization is None


@pytest.mark.parametrize("field, value", [
    ("postal_code", "1011"), ("country", "Deutschland"), ("street", ""), ("house_number", ""), ("name", ""),
])
def test_it_refuses_an_incomplete_or_invalid_betriebsstaette(owner, field, value):
    with pytest.raises(ValidationError) as info:
        create_betriebsstaette(actor=None, organization=owner.organization,
                               data=betriebsstaette_data(**{field: value}))
    assert field in info.value.message_dict
    assert not Betriebsstaette.unscoped.exists()
    assert not LogEntry.unscoped.filter(action="tenants.betriebsstaette.created").exists()


def test_a_foreign_postal_code_is_not_held_to_the_german_format(owner):
    betriebsstaette = create_betriebsstaette(actor=None, organization=owner.organization,
                                             data=betriebsstaette_data(country="AT", postal_code="1010"))
    assert betriebsstaette.postal_code == "1010"


def test_it_refuses_unknown_fields(owner):
    with pytest.raises(ValueError, match="organization"):
        create_betriebsstaette(actor=None, organization=owner.organization,
                               data=betriebsstaette_data(organization=owner.organization))


def test_it_changes_a_betriebsstaette_and_audits_only_real_changes(premises, owner):
    betriebsstaette, _outlet = premises
    update_betriebsstaette(actor=owner.user, betriebsstaette=betriebsstaette,
                           changes={"name": "Café Mitte", "house_number": "3"})
    betriebsstaette.refresh_from_db()
    assert betriebsstaette.house_number == "3"
    entry = LogEntry.unscoped.get(action="tenants.betriebsstaette.changed")
    assert entry.data["changes"] == {"house_number": {"old": "1", "new": "3"}}
    update_betriebsstaette(actor=owner.user, betriebsstaette=betriebsstaette, changes={"house_number": "3"})
    assert LogEntry.unscoped.filter(action="tenants.betriebsstaette.changed").count() == 1


def test_closing_a_betriebsstaette_sets_closed_on_and_keeps_the_row(premises, owner):
    betriebsstaette, outlet = premises
    day = timezone.localdate() - datetime.timedelta(days=3)
    close_betriebsstaette(actor=owner.user, betriebsstaette=betriebsstaette, closed_on=day)
    betriebsstaette.refresh_from_db()
    assert betriebsstaette.closed_on == day
    assert Outlet.unscoped.get(pk=outlet.pk).closed_on is None  # outlets stay; the data check flags them
    entry = LogEntry.unscoped.get(action="tenants.betriebsstaette.closed")
    assert entry.data == {"closed_on": day.isoformat(), "open_outlets": [outlet.number]}
    with pytest.raises(PremisesError) as info:
        close_betriebsstaette(actor=owner.user, betriebsstaette=betriebsstaette)
    assert info.value.code == "E_ALREADY_CLOSED" and info.value.status == 409


def test_closing_defaults_to_today_and_refuses_the_future(premises):
    betriebsstaette, outlet = premises
    with pytest.raises(ValidationError):
        close_outlet(actor=None, outlet=outlet, closed_on=timezone.localdate() + datetime.timedelta(days=1))
    assert close_outlet(actor=None, outlet=outlet).closed_on == timezone.localdate()
    with pytest.raises(PremisesError) as info:
        close_outlet(actor=None, outlet=outlet)
    assert info.value.code == "E_ALREADY_CLOSED"
    entry = LogEntry.unscoped.get(action="tenants.outlet.closed")
    assert entry.data == {"closed_on": timezone.localdate().isoformat(), "number": outlet.number}


# --- outlet numbers -------------------------------------------------------------------------


def test_a_blank_number_gets_the_next_free_number(owner):
    organization = owner.organization
    assert next_outlet_number(organization) == 1
    assert _outlet(organization).number == 1
    assert _outlet(organization, number="").number == 2
    assert _outlet(organization, number=10).number == 10
    assert _outlet(organization, number=None).number == 11
    assert next_outlet_number(organization) == 12


def test_numbers_of_closed_outlets_are_not_given_again(owner):
    first = _outlet(owner.organization)
    second = _outlet(owner.organization)
    close_outlet(actor=None, outlet=second)
    assert _outlet(owner.organization).number == 3
    assert first.number == 1


def test_numbers_are_per_organization(owner, stranger):
    assert _outlet(owner.organization).number == 1
    assert _outlet(stranger.organization).number == 1
    assert _outlet(stranger.organization, number=5).number == 5
    assert next_outlet_number(owner.organization) == 2


def test_a_taken_number_is_refused(owner):
    _outlet(owner.organization, number=7)
    with pytest.raises(PremisesError) as info:
        _outlet(owner.organization, number=7)
    assert info.value.code == "E_OUTLET_NUMBER_TAKEN" and info.value.status == 409 and info.value.field == "number"
    assert Outlet.unscoped.filter(organization=owner.organization).count() == 1


@pytest.mark.parametrize("number", [0, -1, True, "3"])
def test_a_number_must_be_a_positive_whole_number(owner, number):
    with pytest.raises(ValidationError) as info:
        _outlet(owner.organization, number=number)
    assert "number" in info.value.message_dict
    assert not Outlet.unscoped.exists()


def test_the_outlet_number_is_immutable_in_the_service(premises, owner):
    _betriebsstaette, outlet = premises
    with pytest.raises(PremisesError) as info:
        update_outlet(actor=owner.user, outlet=outlet, changes={"number": 2, "name": "Neu"})
    assert info.value.code == "E_OUTLET_NUMBER_IMMUTABLE" and info.value.field == "number"
    outlet.refresh_from_db()
    assert (outlet.number, outlet.name) == (1, "Filiale Mitte")
    assert not LogEntry.unscoped.filter(action="tenants.outlet.changed").exists()
    # passing the current number is fine and changes nothing about it
    update_outlet(actor=owner.user, outlet=outlet, changes={"number": 1, "name": "Neu"})
    outlet.refresh_from_db()
    assert (outlet.number, outlet.name) == (1, "Neu")
    entry = LogEntry.unscoped.get(action="tenants.outlet.changed")
    assert entry.data["changes"] == {"name": {"old": "Filiale Mitte", "new": "Neu"}}


# --- links to Betriebsstätten ---------------------------------------------------------------


def test_several_outlets_can_share_one_betriebsstaette(premises, owner):
    betriebsstaette, first = premises
    second = _outlet(owner.organization, name="Virtuelles Outlet", betriebsstaette=betriebsstaette)
    assert set(betriebsstaette.outlets.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_an_outlet_cannot_be_linked_to_a_betriebsstaette_of_another_organization(premises, owner,
                                                                                 stranger_premises):
    foreign, _foreign_outlet = stranger_premises
    with pytest.raises(PremisesError) as info:
        _outlet(owner.organization, betriebsstaette=foreign)
    assert info.value.code == "E_VALIDATION" and info.value.field == "betriebsstaette"
    assert Outlet.unscoped.filter(organization=owner.organization).count() == 1
    _betriebsstaette, outlet = premises
    with pytest.raises(PremisesError):
        update_outlet(actor=None, outlet=outlet, changes={"betriebsstaette": foreign})
    outlet.refresh_from_db()
    assert outlet.betriebsstaette.organization == owner.organization


def test_an_outlet_can_only_be_assigned_to_an_open_betriebsstaette(premises, owner):
    betriebsstaette, outlet = premises
    other = create_betriebsstaette(actor=None, organization=owner.organization,
                                   data=betriebsstaette_data(name="Alt"))
    close_betriebsstaette(actor=None, betriebsstaette=other)
    with pytest.raises(PremisesError) as info:
        update_outlet(actor=None, outlet=outlet, changes={"betriebsstaette": other})
    assert info.value.code == "E_BETRIEBSSTAETTE_CLOSED"
    with pytest.raises(PremisesError):
        _outlet(owner.organization, betriebsstaette=other)
    # an outlet whose Betriebsstätte was closed later can still be edited
    close_betriebsstaette(actor=None, betriebsstaette=betriebsstaette)
    outlet.refresh_from_db()
    update_outlet(actor=None, outlet=outlet, changes={"name": "Umbenannt", "betriebsstaette": betriebsstaette})
    assert Outlet.unscoped.get(pk=outlet.pk).name == "Umbenannt"


def test_an_outlet_can_be_moved_and_unassigned(premises, owner):
    betriebsstaette, outlet = premises
    other = create_betriebsstaette(actor=None, organization=owner.organization,
                                   data=betriebsstaette_data(name="Neu"))
    update_outlet(actor=owner.user, outlet=outlet, changes={"betriebsstaette": other})
    assert Outlet.unscoped.get(pk=outlet.pk).betriebsstaette == other
    entry = LogEntry.unscoped.get(action="tenants.outlet.changed")
    assert entry.data["changes"]["betriebsstaette"] == {"old": str(betriebsstaette.public_id),
                                                        "new": str(other.public_id)}
    update_outlet(actor=owner.user, outlet=outlet, changes={"betriebsstaette": None})
    assert Outlet.unscoped.get(pk=outlet.pk).betriebsstaette is None


def test_every_premises_action_has_a_label():
    for code in ("tenants.betriebsstaette.created", "tenants.betriebsstaette.changed",
                 "tenants.betriebsstaette.closed", "tenants.outlet.created", "tenants.outlet.changed",
                 "tenants.outlet.closed"):
        assert code in ACTION_LABELS and str(ACTION_LABELS[code]) != code
