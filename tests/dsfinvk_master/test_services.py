"""Services of the DSFinV-K master data: validation per field, audit entries, revisions and the pending-change flag."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from exports.models import CashRegister, VatDefinition
from exports.services import cash_registers as service
from exports.services.master_data import diff_master_data, has_pending_change, latest_revision
from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tests.dsfinvk_master.conftest import DAY_1, DAY_2, client_of, completed_closing, make_outlet, sign
from tse.models import TseClient

pytestmark = pytest.mark.django_db


def _create(owner, client, outlet, version, **extra):
    return service.create_cash_register(actor=None, organization=owner.organization, client=client, outlet=outlet,
                                        pos_system_version=version, **extra)


def _errors(excinfo) -> dict:
    return excinfo.value.message_dict


def test_create_writes_the_register_and_an_audit_entry(owner, ready_unit, outlets, catalogue):
    actor = actor_for_user(owner.user)
    register = service.create_cash_register(
        actor=actor, organization=owner.organization, client=client_of(ready_unit, "KASSE-02"), outlet=outlets[1],
        pos_system_version=catalogue["old"], base_currency="eur", no_vat_assignment=True)
    assert (register.kasse_id, register.outlet, register.base_currency, register.no_vat_assignment) == (
        "KASSE-02", outlets[1], "EUR", True)
    entry = LogEntry.unscoped.get(action="exports.cash_register.created")
    assert entry.organization == owner.organization and entry.actor_user == owner.user
    assert entry.acting_organization is None
    assert entry.data["fields"] == {"client": "KASSE-02", "outlet": str(outlets[1].public_id),
                                    "pos_system_version": str(catalogue["old"].public_id),
                                    "base_currency": "EUR", "no_vat_assignment": True}


def test_create_refuses_bad_fields_each_by_name(owner, stranger, ready_unit, outlets, catalogue):
    foreign_outlet = make_outlet(stranger.organization, 7)
    with pytest.raises(ValidationError) as excinfo:
        _create(owner, client_of(ready_unit, "KASSE-01"), foreign_outlet, catalogue["retired"], base_currency="EURO")
    assert set(_errors(excinfo)) == {"outlet", "pos_system_version", "base_currency"}
    closed = make_outlet(owner.organization, 3, closed_on=timezone.localdate())
    for currency in ("XYZ", "12", "", None):
        with pytest.raises(ValidationError) as excinfo:
            _create(owner, client_of(ready_unit, "KASSE-01"), closed, catalogue["new"], base_currency=currency)
        assert set(_errors(excinfo)) == {"outlet", "base_currency"}
    assert not CashRegister.unscoped.exists()
    assert not LogEntry.unscoped.filter(action="exports.cash_register.created").exists()


def test_the_client_must_be_the_operators_unused_and_legal(owner, stranger, stranger_register, register, ready_unit,
                                                           outlets, catalogue, in_english):
    cases = {
        "used": register.client,
        "foreign": stranger_register.client,
        "slash": TseClient.unscoped.create(organization=owner.organization, signing_unit=ready_unit,
                                           client_id="KASSE/3"),
        "underscore": TseClient.unscoped.create(organization=owner.organization, signing_unit=ready_unit,
                                                client_id="KASSE_4"),
    }
    for name, client in cases.items():
        with pytest.raises(ValidationError) as excinfo:
            _create(owner, client, outlets[0], catalogue["new"])
        assert list(_errors(excinfo)) == ["client"], name
    assert _errors(excinfo)["client"] == ["The serial number of the POS must not contain '/' or '_' (DSFinV-K 2.3)."]
    assert CashRegister.unscoped.count() == 2


def test_any_non_retired_version_of_the_catalogue_is_selectable(catalogue):
    versions = set(service.selectable_pos_system_versions())
    assert versions == {catalogue["old"], catalogue["new"]}
    assert catalogue["retired"] in set(service.selectable_pos_system_versions(including=catalogue["retired"].pk))


def test_update_changes_fields_and_audits_the_diff(owner, partner, register, outlets, catalogue):
    actor = actor_for_user(partner.user)  # a dealer acting in the operator's account
    service.update_cash_register(actor=actor, cash_register=register, changes={
        "outlet": outlets[1], "pos_system_version": catalogue["old"], "base_currency": "CHF",
        "no_vat_assignment": True})
    register.refresh_from_db()
    assert (register.outlet, register.pos_system_version, register.base_currency, register.no_vat_assignment) == (
        outlets[1], catalogue["old"], "CHF", True)
    entry = LogEntry.unscoped.get(action="exports.cash_register.changed")
    assert entry.organization == owner.organization
    assert entry.acting_organization == partner.organization
    assert entry.data["changes"]["outlet"] == {"old": str(outlets[0].public_id), "new": str(outlets[1].public_id)}
    assert entry.data["changes"]["base_currency"] == {"old": "EUR", "new": "CHF"}
    # nothing changed: no entry
    service.update_cash_register(actor=None, cash_register=register, changes={"base_currency": "CHF"})
    assert LogEntry.unscoped.filter(action="exports.cash_register.changed").count() == 1


def test_update_refuses_bad_values_and_the_client(register, catalogue, stranger):
    with pytest.raises(ValidationError) as excinfo:
        service.update_cash_register(actor=None, cash_register=register, changes={
            "outlet": make_outlet(stranger.organization, 9), "pos_system_version": catalogue["retired"],
            "base_currency": "E"})
    assert set(_errors(excinfo)) == {"outlet", "pos_system_version", "base_currency"}
    with pytest.raises(ValueError):
        service.update_cash_register(actor=None, cash_register=register, changes={"client": register.client})
    register.refresh_from_db()
    assert register.base_currency == "EUR"


def test_a_retired_current_version_may_stay(register, catalogue):
    CashRegister.unscoped.filter(pk=register.pk).update(pos_system_version=catalogue["retired"])
    register.refresh_from_db()
    service.update_cash_register(actor=None, cash_register=register, changes={
        "pos_system_version": catalogue["retired"], "base_currency": "USD"})
    register.refresh_from_db()
    assert register.base_currency == "USD"


def test_decommission_is_final(register):
    service.decommission_cash_register(actor=None, cash_register=register)
    register.refresh_from_db()
    assert register.decommissioned_at is not None
    entry = LogEntry.unscoped.get(action="exports.cash_register.changed")
    assert entry.data["changes"]["decommissioned_at"]["old"] is None
    for call in (lambda: service.decommission_cash_register(actor=None, cash_register=register),
                 lambda: service.update_cash_register(actor=None, cash_register=register,
                                                      changes={"base_currency": "USD"})):
        with pytest.raises(service.MasterDataError) as excinfo:
            call()
        assert (excinfo.value.code, excinfo.value.status) == ("E_CASH_REGISTER_DECOMMISSIONED", 409)


# --- VAT definitions -------------------------------------------------------------------------


def _save(owner, key=1000, rate="10.70", description="Landwirtschaft", slot="SPECIAL_RATE_1", actor=None):
    return service.save_vat_definition(actor=actor, organization=owner.organization, key=key, rate=rate,
                                       description=description, slot=slot)


def test_vat_definition_create_and_change_are_audited(owner):
    definition, created = _save(owner)
    assert created and definition.rate == Decimal("10.70")
    same, created = _save(owner, rate=Decimal("10.7"))
    assert not created and same.pk == definition.pk
    changed, created = _save(owner, rate=5, description="Neu", slot="REDUCED_1")
    assert not created and (changed.rate, changed.description, changed.slot) == (Decimal("5.00"), "Neu", "REDUCED_1")
    entries = list(LogEntry.unscoped.filter(action="exports.vat_definition.saved").order_by("pk"))
    assert [entry.data["created"] for entry in entries] == [True, False]  # the unchanged save wrote nothing
    assert entries[1].data["changes"]["rate"] == {"old": "10.70", "new": "5.00"}


def test_vat_keys_below_1000_are_reserved(owner):
    for key in (1, 7, 43, 999):
        with pytest.raises(service.MasterDataError) as excinfo:
            _save(owner, key=key)
        assert excinfo.value.code == "E_VAT_KEY_RESERVED"
    assert not VatDefinition.unscoped.exists()


@pytest.mark.parametrize(("fields", "error"), [
    ({"rate": "100.01"}, "rate"), ({"rate": "-1"}, "rate"), ({"rate": "7.125"}, "rate"), ({"rate": "abc"}, "rate"),
    ({"rate": None}, "rate"), ({"rate": True}, "rate"), ({"rate": "NaN"}, "rate"),
    ({"description": "x" * 56}, "description"), ({"description": "  "}, "description"),
    ({"slot": "HALF"}, "slot"), ({"key": "1000"}, "key"),
])
def test_vat_definition_field_errors(owner, fields, error):
    with pytest.raises(ValidationError) as excinfo:
        _save(owner, **fields)
    assert list(excinfo.value.message_dict) == [error]
    assert not VatDefinition.unscoped.exists()


def test_vat_rate_bounds_and_trailing_zeros_are_accepted(owner):
    for key, rate in ((1000, "0"), (1001, "100"), (1002, "19.500")):
        definition, _created = _save(owner, key=key, rate=rate)
        assert definition.rate == Decimal(rate).quantize(Decimal("0.01"))
    assert len(_save(owner, key=1003, description="x" * 55)[0].description) == 55


def test_a_used_vat_key_can_change_but_not_be_deleted(owner, register):
    used, _ = _save(owner, key=1000)
    unused, _ = _save(owner, key=1001)
    completed_closing(register, 1, DAY_1, document={"transactions": [
        {"head": {"BON_ID": "1"}, "vat": [{"UST_SCHLUESSEL": 1}],
         "lines": [{"line": {"POS_ZEILE": "1"}, "vat": [{"UST_SCHLUESSEL": 1000}]}]}]})
    assert service.vat_key_in_use(owner.organization, 1000)
    assert not service.vat_key_in_use(owner.organization, 1001)
    with pytest.raises(service.MasterDataError) as excinfo:
        service.delete_vat_definition(actor=None, vat_definition=used)
    assert (excinfo.value.code, excinfo.value.status) == ("E_VAT_KEY_IN_USE", 409)
    changed, created = _save(owner, key=1000, rate="12.00")
    assert not created and changed.rate == Decimal("12.00")
    service.delete_vat_definition(actor=None, vat_definition=unused)
    assert list(VatDefinition.unscoped.values_list("key", flat=True)) == [1000]
    assert LogEntry.unscoped.get(action="exports.vat_definition.deleted").data["key"] == 1001


def test_the_python_scan_agrees_with_the_database_query(owner, register):
    document = {"businesscases": [{"UST_SCHLUESSEL": 1004}], "transactions": [{"lines": [
        {"amounts": [{"UST_SCHLUESSEL": 1002}], "subitems": [{"ZI_UST_SCHLUESSEL": 1003}]}]}]}
    completed_closing(register, 1, DAY_1, document=document)
    for key in (1002, 1003, 1004, 1005):
        assert service._document_uses(document, key) == service.vat_key_in_use(owner.organization, key) == (
            key != 1005)


def test_a_rejected_closing_does_not_pin_a_key(owner, register):
    definition, _ = _save(owner, key=1000)
    completed_closing(register, 1, DAY_1, errors=[{"path": "z_nr", "code": "E_Z_NR_SEQUENCE", "message": "x"}])
    service.delete_vat_definition(actor=None, vat_definition=definition)
    assert not VatDefinition.unscoped.exists()


# --- revisions and the pending-change flag -----------------------------------------------------


def test_revision_diff_lists_each_changed_field(owner, register, outlets):
    first = completed_closing(register, 1, DAY_1).revision
    _save(owner, key=1000)
    register = service.update_cash_register(actor=None, cash_register=register,
                                            changes={"outlet": outlets[1], "no_vat_assignment": True})
    second = completed_closing(register, 2, DAY_2).revision
    assert (first.number, second.number) == (1, 2)
    changes = {change["path"]: (change["old"], change["new"]) for change in diff_master_data(first.data, second.data)}
    assert changes["location.LOC_NAME"] == ("Filiale Mitte", "Filiale Nord")
    assert changes["location.LOC_STRASSE"] == ("Hauptstraße 1", "Hauptstraße 2")
    assert changes["cashregister.KEINE_UST_ZUORDNUNG"] == (False, True)
    assert changes["vat[1000].UST_SATZ"] == (None, "10.70")
    assert changes["vat[1000].slot"] == (None, "SPECIAL_RATE_1")
    assert not any(path.startswith(("tse", "cashpointclosing")) for path in changes)
    assert diff_master_data(None, first.data) == []
    assert diff_master_data(first.data, first.data) == []


def test_pending_change_flag(register, outlets):
    day = timezone.localdate(DAY_2)
    sign(register, DAY_1)
    assert not has_pending_change(register, day)  # no revision yet
    closing = completed_closing(register, 1, DAY_1.replace(hour=23))
    assert latest_revision(register) == closing.revision
    register = service.update_cash_register(actor=None, cash_register=register, changes={"outlet": outlets[1]})
    assert not has_pending_change(register, day)  # changed, but nothing signed since the closing
    assert not service.register_status(register, day).pending_change
    sign(register, DAY_2)
    assert has_pending_change(register, day)
    status = service.register_status(register, day)
    assert status.pending_change and status.latest == closing.revision
    register = service.update_cash_register(actor=None, cash_register=register, changes={"outlet": outlets[0]})
    assert not has_pending_change(register, day)  # back to the recorded data


def test_master_data_problems_show_in_the_status(owner, register):
    status = service.register_status(register)
    assert [problem["code"] for problem in status.problems] == ["E_TAX_ID_MISSING"]
    owner.organization.tax_number = "1121081508150"
    owner.organization.save(update_fields=["tax_number"])
    register.refresh_from_db()
    assert service.register_status(register).problems == []


def test_every_action_written_has_a_label(owner, register, outlets):
    from portal.services.audit import ACTION_LABELS

    service.update_cash_register(actor=None, cash_register=register, changes={"outlet": outlets[1]})
    definition, _ = _save(owner)
    service.delete_vat_definition(actor=None, vat_definition=definition)
    codes = set(LogEntry.unscoped.filter(action__startswith="exports.").values_list("action", flat=True))
    assert codes == {"exports.cash_register.created", "exports.cash_register.changed", "exports.vat_definition.saved",
                     "exports.vat_definition.deleted"}
    assert codes <= set(ACTION_LABELS)
