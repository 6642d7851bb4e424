"""The configuration tree: three actors, content, edit links by capability, the partner banner, query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports.services.cash_registers import create_cash_register
from tse.models import TseClient
from tse.services.signing_units import create_signing_unit

pytestmark = pytest.mark.django_db


def _url(org_id) -> str:
    return f"/o/{org_id}/configuration/"


def _statuses(actors, url) -> dict:
    return {name: actors.session_client(name).get(url).status_code for name in ("owner", "partner", "stranger")}


def test_three_actors(actors, configured):
    assert _statuses(actors, _url(actors.owner.org_id)) == {"owner": 200, "partner": 200, "stranger": 404}
    assert actors.member_client("owner").get(_url(actors.owner.org_id)).status_code == 200
    # the stranger's own page exists for it, and the partner does not see it
    assert actors.session_client("partner").get(_url(actors.stranger.org_id)).status_code == 404


def test_tree_shows_the_whole_configuration(actors, configured, in_english):
    body = actors.session_client("owner").get(_url(actors.owner.org_id)).content.decode()
    main = configured["main"]
    section = body.split(f'data-testid="tree-betriebsstaette-{main.public_id}"')[1].split("</section>")[0]
    assert "Hauptbetrieb" in section and "main" in section
    assert 'data-testid="tree-outlet-1"' in section and "Filiale Mitte" in section
    unit = configured["unit"]
    assert f'data-testid="tree-unit-{unit.public_id}"' in section
    assert unit.serial_number and unit.serial_number in section
    assert 'data-testid="tse-state"' in section and "initialized" in section
    assert 'data-health="green"' in section
    assert 'data-testid="tree-client-KASSE-01"' in section and 'data-testid="tree-client-KASSE-02"' in section
    register_row = section.split('data-testid="tree-client-KASSE-01"')[1].split("</tr>")[0]
    assert "Kassenbau Kasse K1 · KassenSoft 3.1" in register_row and "EUR" in register_row
    assert "no cash register" in section.split('data-testid="tree-client-KASSE-02"')[1].split("</tr>")[0]
    # the outlet without Betriebsstätte and the unit without outlet in their own groups
    unassigned = body.split('data-testid="tree-unassigned-outlets"')[1].split("</section>")[0]
    assert 'data-testid="tree-outlet-2"' in unassigned and "Filiale Nord" in unassigned
    spare = body.split('data-testid="tree-unassigned-units"')[1].split("</section>")[0]
    assert f'data-testid="tree-unit-{configured["spare"].public_id}"' in spare and "uninitialized" in spare
    assert "1 Betriebsstätten · 2 outlets · 2 signing units · 2 POS clients" in body
    assert 'data-testid="configuration-latest">Version' in body


def test_edit_links_and_buttons_follow_the_capability(actors, configured, configure_partner, in_english):
    org = actors.owner.org_id
    owner = actors.session_client("owner").get(_url(org)).content.decode()
    for testid in ("edit-betriebsstaette", "edit-outlet", "edit-unit", "edit-register", "configuration-import"):
        assert f'data-testid="{testid}"' in owner, testid
    assert f'/o/{org}/premises/betriebsstaetten/{configured["main"].public_id}/' in owner
    assert f'/o/{org}/premises/outlets/{configured["outlets"][1].public_id}/' in owner
    assert f'/o/{org}/tse/{configured["unit"].public_id}/' in owner
    assert f'/o/{org}/dsfinvk/cash-registers/{configured["register"].public_id}/' in owner
    assert f'/o/{org}/configuration/export/' in owner and f'/o/{org}/configuration/history/' in owner
    assert 'data-testid="configuration-acting"' not in owner
    # a dealer granted configure edits, and is told whose account it works in
    partner = actors.session_client("partner").get(_url(org)).content.decode()
    assert 'data-testid="edit-outlet"' in partner and 'data-testid="configuration-import"' in partner
    banner = partner.split('data-testid="configuration-acting">')[1].split("</div>")[0]
    assert "Acting on behalf of Owner Betriebs GmbH as Partner Kassenhandel GmbH" in banner


def test_a_partner_with_read_only_sees_no_edit_links(actors, configured, in_english):
    body = actors.session_client("partner").get(_url(actors.owner.org_id)).content.decode()
    assert 'data-testid="tree-outlet-1"' in body
    for testid in ("edit-betriebsstaette", "edit-outlet", "edit-unit", "edit-register", "configuration-import"):
        assert f'data-testid="{testid}"' not in body, testid
    assert 'data-testid="configuration-export"' in body and 'data-testid="configuration-acting"' in body


def test_navigation_links_operators_only(actors, configured):
    org = actors.owner.org_id
    assert 'data-testid="nav-configuration"' in actors.session_client("owner").get(_url(org)).content.decode()
    assert 'data-testid="nav-configuration"' in actors.session_client("partner").get(_url(org)).content.decode()
    dealer_home = actors.session_client("partner").get(f"/o/{actors.partner.org_id}/").content.decode()
    assert 'data-testid="nav-configuration"' not in dealer_home


def test_empty_configuration(actors, in_english):
    body = actors.session_client("owner").get(_url(actors.owner.org_id)).content.decode()
    assert 'data-testid="tree-no-betriebsstaette"' in body and "No version recorded yet." in body


def _grow(organization, version, start: int) -> None:
    from tenants.services.premises import create_outlet
    from tse.services.signing_units import get_backend, initialize_signing_unit

    actor = None
    for number in range(start, start + 3):
        outlet = create_outlet(actor=actor, organization=organization,
                               data={"number": number, "name": f"Filiale {number}", "street": "Weg",
                                     "house_number": str(number), "postal_code": "10115", "city": "Berlin"})
        unit = create_signing_unit(actor=None, organization=organization, outlet=outlet, reference=f"tse-{number}")
        backend = get_backend(initialize_signing_unit(actor=None, signing_unit=unit))
        for i in range(3):
            backend.register_client(f"K{number}-{i}")
            create_cash_register(actor=None, organization=organization, outlet=outlet, pos_system_version=version,
                                 client=TseClient.unscoped.get(signing_unit=unit, client_id=f"K{number}-{i}"))


def test_constant_number_of_queries(actors, configured, pos_catalogue):
    client = actors.session_client("owner")
    url = _url(actors.owner.org_id)
    client.get(url)  # warm caches (content types, sessions)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = count()
    _grow(actors.owner.organization, pos_catalogue["new"], 10)
    assert count() == small
    assert small < 40


def test_active_entitlement_is_shown(actors, configured, configure_partner, dealer_stock, in_english):
    from portal.tenancy import actor_for_user
    from tenants.services.entitlements import activate

    entitlement = dealer_stock(1)[0]
    activate(actor=actor_for_user(actors.partner.user), entitlement=entitlement, signing_unit=configured["unit"],
             outlet=configured["outlets"][0])
    body = actors.session_client("owner").get(_url(actors.owner.org_id)).content.decode()
    unit = body.split(f'data-testid="tree-unit-{configured["unit"].public_id}"')[1]
    assert unit.split('data-testid="unit-entitlement">')[1].startswith("TSE-SUB")
    spare = body.split(f'data-testid="tree-unit-{configured["spare"].public_id}"')[1]
    assert spare.split('data-testid="unit-entitlement">')[1].startswith("none")
