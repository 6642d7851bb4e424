"""The DSFinV-K pages: cash registers (list, create, detail, edit, decommission), VAT definitions, closings."""

import pytest

from exports.models import CashRegister, VatDefinition
from exports.services import cash_registers as service
from portal.models import LogEntry
from tests.dsfinvk_master.conftest import DAY_1, DAY_2, client_of, completed_closing, sign
from tests.factories import add_member, make_user
from tests.helpers import session_client

pytestmark = pytest.mark.django_db


def _base(owner) -> str:
    return f"/o/{owner.org_id}/dsfinvk"


def _register_url(owner, register) -> str:
    return f"{_base(owner)}/cash-registers/{register.public_id}/"


def _create_data(client, outlet, version, **extra) -> dict:
    return {"client": str(client.public_id), "outlet": str(outlet.public_id),
            "pos_system_version": str(version.public_id), "base_currency": "EUR", **extra}


def test_reads_three_actors(actors, register):
    completed_closing(register, 1, DAY_1)
    pages = [f"{_base(actors.owner)}/cash-registers/", _register_url(actors.owner, register),
             f"{_base(actors.owner)}/vat/", f"{_base(actors.owner)}/closings/"]
    for name, status in (("stranger", 404), ("partner", 200), ("owner", 200)):
        client = actors.session_client(name)
        for url in pages:
            assert client.get(url).status_code == status, f"{name} {url}"


def test_writes_three_actors(actors, register, ready_unit, outlets, catalogue, in_english):
    base = _base(actors.owner)
    VatDefinition.unscoped.create(organization=actors.owner.organization, key=1001, rate="5.00",
                                  description="Alt", slot="REDUCED_1")
    writes = [
        (f"{base}/cash-registers/", _create_data(client_of(ready_unit, "KASSE-02"), outlets[1], catalogue["old"])),
        (_register_url(actors.owner, register), {"outlet": str(outlets[1].public_id),
                                                 "pos_system_version": str(catalogue["new"].public_id),
                                                 "base_currency": "CHF"}),
        (f"{base}/vat/", {"key": "1000", "rate": "10.70", "description": "Eigen", "slot": "SPECIAL_RATE_1"}),
        (f"{base}/vat/1001/delete/", {}),
        (f"{_register_url(actors.owner, register)}decommission/", {"confirm": "on", "reason": "sold"}),
    ]
    for name, status in (("stranger", 404), ("partner", 403)):
        client = actors.session_client(name)
        for url, data in writes:
            assert client.post(url, data).status_code == status, f"{name} {url}"
    assert CashRegister.unscoped.count() == 1 and VatDefinition.unscoped.count() == 1
    assert not LogEntry.unscoped.filter(action__startswith="exports.").exclude(
        action="exports.cash_register.created").exists()
    owner = actors.session_client("owner")
    for url, data in writes:
        response = owner.post(url, data)
        assert response.status_code == 302, f"owner {url}: {response.status_code}"
    register.refresh_from_db()
    assert register.base_currency == "CHF" and register.outlet == outlets[1]
    assert register.decommissioned_at is not None
    assert CashRegister.unscoped.filter(client__client_id="KASSE-02").exists()
    assert list(VatDefinition.unscoped.values_list("key", flat=True)) == [1000]


def test_a_viewer_reads_but_does_not_write(actors, register):
    viewer = make_user()
    add_member(actors.owner.organization, viewer, "viewer")
    client = session_client(viewer)
    assert client.get(_register_url(actors.owner, register)).status_code == 200
    assert client.post(_register_url(actors.owner, register), {"base_currency": "USD"}).status_code == 403


def test_foreign_registers_do_not_exist(actors, register, stranger_register):
    client = actors.session_client("owner")
    assert client.get(_register_url(actors.owner, stranger_register)).status_code == 404
    assert client.post(f"{_register_url(actors.owner, stranger_register)}decommission/",
                       {"confirm": "on"}).status_code == 404
    stranger_register.refresh_from_db()
    assert stranger_register.decommissioned_at is None


def test_list_shows_registers_badges_and_problems(actors, register, ready_unit, outlets, in_english):
    completed_closing(register, 1, DAY_1)
    sign(register, DAY_2)
    service.update_cash_register(actor=None, cash_register=register, changes={"outlet": outlets[1]})
    response = actors.session_client("partner").get(f"{_base(actors.owner)}/cash-registers/")
    html = response.content.decode()
    assert "KASSE-01" in html and "Filiale Nord" in html and "KassenSoft 3.1" in html
    assert 'data-testid="badge-pending-change"' in html
    assert "master data changed while a closing is due" in html
    assert "E_TAX_ID_MISSING" in html
    assert 'data-testid="create-cash-register"' not in html  # the partner may not write
    owner_html = actors.session_client("owner").get(f"{_base(actors.owner)}/cash-registers/").content.decode()
    assert 'data-testid="create-cash-register"' in owner_html
    assert f'value="{client_of(ready_unit, "KASSE-02").public_id}"' in owner_html  # free client offered
    assert f'value="{register.client.public_id}"' not in owner_html  # used client not offered


def test_create_form_shows_service_errors(actors, ready_unit, catalogue, outlets, in_english):
    from tse.models import TseClient

    bad = TseClient.unscoped.create(organization=actors.owner.organization, signing_unit=ready_unit,
                                    client_id="KASSE_9")
    response = actors.session_client("owner").post(f"{_base(actors.owner)}/cash-registers/",
                                                   _create_data(bad, outlets[0], catalogue["new"],
                                                                base_currency="XYZ"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "must not contain" in html and "ISO 4217" in html
    assert not CashRegister.unscoped.exists()


def test_detail_shows_master_data_and_revision_history(actors, register, outlets, in_english):
    completed_closing(register, 1, DAY_1)
    register = service.update_cash_register(actor=None, cash_register=register, changes={"outlet": outlets[1]})
    completed_closing(register, 2, DAY_2)
    html = actors.session_client("partner").get(_register_url(actors.owner, register)).content.decode()
    assert "KASSE_SERIENNR" in html and "LOC_NAME" in html and "TSE_SERIAL" in html and "UST_SCHLUESSEL" in html
    assert 'data-testid="revision-2"' in html and 'data-testid="revision-1"' in html
    assert "location.LOC_NAME" in html and "Filiale Mitte" in html  # the diff of revision 2
    assert "first revision" in html
    assert 'data-testid="edit-cash-register"' not in html


def test_vat_page_lists_anlage_2_and_own_keys(actors, register, in_english):
    VatDefinition.unscoped.create(organization=actors.owner.organization, key=1000, rate="10.70",
                                  description="Landwirtschaft", slot="SPECIAL_RATE_1")
    completed_closing(register, 1, DAY_1, document={"businesscases": [{"UST_SCHLUESSEL": 1000}]})
    html = actors.session_client("partner").get(f"{_base(actors.owner)}/vat/").content.decode()
    assert "Regelsteuersatz" in html and "Landwirtschaft" in html and 'data-testid="save-vat"' not in html
    owner = actors.session_client("owner")
    response = owner.post(f"{_base(actors.owner)}/vat/", {"key": "999", "rate": "5", "description": "x",
                                                          "slot": "NULL"})
    assert response.status_code == 400
    response = owner.post(f"{_base(actors.owner)}/vat/1000/delete/", follow=True)
    assert "used by an accepted closing" in response.content.decode()
    assert VatDefinition.unscoped.filter(key=1000).exists()


def test_closings_page_filters_and_lists_errors(actors, register, ready_unit, outlets, catalogue, in_english):
    other = service.create_cash_register(actor=None, organization=actors.owner.organization,
                                         client=client_of(ready_unit, "KASSE-02"), outlet=outlets[1],
                                         pos_system_version=catalogue["new"])
    accepted = completed_closing(register, 1, DAY_1)
    rejected = completed_closing(other, 1, DAY_2, errors=[
        {"path": "cash_point_closing_export_id", "code": "E_Z_NR_SEQUENCE", "message": "Z_NR must be 2"}])
    url = f"{_base(actors.owner)}/closings/"
    client = actors.session_client("partner")
    html = client.get(url).content.decode()
    assert f"closing-{accepted.closing_id}" in html and f"closing-{rejected.closing_id}" in html
    assert "E_Z_NR_SEQUENCE" in html and "Z_NR must be 2" in html
    assert "01.08.2026 00:30:00" in html  # Berlin time of DAY_1
    html = client.get(url, {"state": "COMPLETED"}).content.decode()
    assert f"closing-{accepted.closing_id}" in html and f"closing-{rejected.closing_id}" not in html
    html = client.get(url, {"cash_register": str(other.public_id)}).content.decode()
    assert f"closing-{accepted.closing_id}" not in html and f"closing-{rejected.closing_id}" in html
