"""The watch page of an operator and the replacement list of a dealer: actors, content, CSV, query count."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.services.grants import grant_right
from tests.factories import make_organization
from tse.models import SigningUnit

from .conftest import make_tse

pytestmark = pytest.mark.django_db


def _watch(actors, name="owner"):
    return f"/o/{actors.owner.org_id}/compliance/tse-watch/"


def _replacements(org):
    return f"/o/{org.public_id}/compliance/replacements/"


def test_the_watch_page_for_three_actors(actors, on_today):
    make_tse(actors.owner.organization, days=10)
    url = _watch(actors)
    assert actors.session_client("owner").get(url).status_code == 200
    assert actors.member_client("owner").get(url).status_code == 200
    assert actors.session_client("partner").get(url).status_code == 200
    assert actors.member_client("partner").get(url).status_code == 200
    assert actors.session_client("stranger").get(url).status_code == 404
    assert actors.session_client("stranger").get(url + "?format=csv").status_code == 404
    # the page exists for operators only: the dealer's own organization has none
    assert actors.session_client("partner").get(f"/o/{actors.partner.org_id}/compliance/tse-watch/").status_code == 404


def test_the_watch_page_sorts_by_urgency_and_shows_the_bsi_excerpt(actors, ready_unit, make_outlet, on_today,
                                                                   in_english):
    organization = actors.owner.organization
    calm = make_tse(organization, days=400, bsi="BSI-K-TR-0412-2020", outlet=make_outlet(organization))
    urgent = make_tse(organization, days=3, description="Kasse Bar")
    withdrawn = make_tse(organization, days=800, bsi="BSI-K-TR-0491-2021")
    make_tse(actors.stranger.organization, days=1, description="Fremde Kasse")
    body = actors.session_client("owner").get(_watch(actors)).content.decode()
    order = [body.index(f'data-unit="{unit.public_id}"') for unit in (urgent, withdrawn, calm, ready_unit)]
    assert order == sorted(order)
    assert "Fremde Kasse" not in body
    assert f"/o/{actors.owner.org_id}/tse/{urgent.public_id}/" in body
    assert "The TSE certificate expires in 3 days." in body and 'data-level="danger"' in body
    assert "certification withdrawn on 07.01.2023; the grace period ended on 31.07.2024" in body
    assert 'data-testid="watch-attention"' in body and "2 TSEs need attention." in body
    for certification in ("BSI-K-TR-0403-2021", "BSI-K-TR-0412-2020", "BSI-K-TR-0491-2021"):
        assert f'data-certification="{certification}"' in body
    assert 'data-certification="BSI-K-TR-0362-2019"' not in body  # not in use
    assert 'data-testid="watch-software-note"' in body and "not certified (software TSE)" in body
    assert "Filiale Mitte" in body and "Swissbit TSE 1.0" in body


def test_an_operator_without_tses(actors, in_english):
    body = actors.session_client("owner").get(_watch(actors)).content.decode()
    assert "No signing unit in use." in body and 'data-testid="watch-software-note"' not in body
    assert 'data-testid="watch-csv"' not in body


def test_the_watch_page_needs_a_constant_number_of_queries(actors, make_outlet, on_today):
    organization = actors.owner.organization
    client = actors.session_client("owner")
    make_tse(organization, days=5, outlet=make_outlet(organization))
    client.get(_watch(actors))  # warm up (session, content types)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_watch(actors)).status_code == 200
        return len(queries)

    few = count()
    outlet = make_outlet(organization, "Filiale Süd")
    for days, bsi in ((1, "BSI-K-TR-0412-2020"), (20, "BSI-K-TR-0491-2021"), (60, "0373"), (200, ""), (900, "x")):
        make_tse(organization, days=days, bsi=bsi, outlet=outlet)
    assert count() == few


def test_the_operator_csv(actors, on_today):
    unit = make_tse(actors.owner.organization, days=30)
    response = actors.session_client("partner").get(_watch(actors) + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tse-watch_20261201.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    assert row["serial_number"] == unit.serial_number and row["bsi_id"] == "0403-2021"
    assert (row["certificate_expires_on"], row["certificate_days_left"], row["level"]) == ("2026-12-31", "30",
                                                                                         "warning")
    assert (row["operator"], row["form_factor"], row["product_status"]) == ("Owner Betriebs GmbH", "cloud", "valid")


# --- the dealer's replacement list ---------------------------------------------------------------------------


@pytest.fixture
def dealer_world(actors, on_today):
    """The partner dealer with a second operator (granted ``configure``), a revoked one and the stranger."""
    partner = actors.partner.organization
    second = make_organization(roles=("operator",), name="Zweite Gastro GmbH")
    grant_right(actor=None, operator=second, dealer=partner, right="configure")
    former = make_organization(roles=("operator",), name="Ehemals Kunde GmbH")
    grant = grant_right(actor=None, operator=former, dealer=partner, right="read")
    type(grant).unscoped.filter(pk=grant.pk).update(revoked_at=timezone.now())
    return {
        "owner_soon": make_tse(actors.owner.organization, days=45),
        "owner_fine": make_tse(actors.owner.organization, days=300),
        "owner_withdrawn": make_tse(actors.owner.organization, days=800, bsi="BSI-K-TR-0491-2021"),
        "second_urgent": make_tse(second, days=2),
        "second_disabled": make_tse(second, days=2, state="disabled"),
        "former": make_tse(former, days=2),
        "stranger": make_tse(actors.stranger.organization, days=2),
        "second": second,
    }


def test_the_replacement_list_for_three_actors(actors, dealer_world):
    url = _replacements(actors.partner.organization)
    assert actors.session_client("partner").get(url).status_code == 200
    assert actors.member_client("partner").get(url).status_code == 200
    assert actors.session_client("owner").get(url).status_code == 404
    assert actors.session_client("stranger").get(url).status_code == 404
    assert actors.session_client("stranger").get(url + "?format=csv").status_code == 404
    # dealer-only: an operator has no replacement list, a partner never sees the operator's
    assert actors.session_client("owner").get(_replacements(actors.owner.organization)).status_code == 404
    assert actors.session_client("partner").get(_replacements(actors.owner.organization)).status_code == 404


def test_the_list_shows_only_operators_that_granted_a_right(actors, dealer_world, in_english):
    body = actors.session_client("partner").get(_replacements(actors.partner.organization)).content.decode()
    shown = {name for name, unit in dealer_world.items() if isinstance(unit, SigningUnit)
             and f'data-unit="{unit.public_id}"' in body}
    assert shown == {"owner_soon", "owner_withdrawn", "second_urgent"}
    assert body.index("Owner Betriebs GmbH") < body.index("Zweite Gastro GmbH")
    assert "Ehemals Kunde GmbH" not in body and "Stranger Gastro GmbH" not in body
    assert "TSEs of the 2 operators that granted you access rights" in body
    assert f"/o/{dealer_world['second'].public_id}/tse/{dealer_world['second_urgent'].public_id}/" in body
    assert f"/o/{dealer_world['second'].public_id}/compliance/tse-watch/" in body


def test_the_replacement_csv(actors, dealer_world):
    response = actors.session_client("partner").get(_replacements(actors.partner.organization) + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8")[1:]), delimiter=";"))
    assert [(row["operator"], row["serial_number"], row["level"]) for row in rows] == [
        ("Zweite Gastro GmbH", dealer_world["second_urgent"].serial_number, "danger"),
        ("Owner Betriebs GmbH", dealer_world["owner_withdrawn"].serial_number, "danger"),
        ("Owner Betriebs GmbH", dealer_world["owner_soon"].serial_number, "info"),
    ]
    assert rows[1]["product_status"] == "withdrawn" and rows[1]["grace_until"] == "2024-07-31"


def test_a_dealer_without_anything_to_replace(actors, on_today, in_english):
    make_tse(actors.owner.organization, days=400)
    body = actors.session_client("partner").get(_replacements(actors.partner.organization)).content.decode()
    assert 'data-testid="replacements-empty"' in body and 'data-testid="replacements-csv"' not in body


def test_the_replacement_list_needs_a_constant_number_of_queries(actors, dealer_world):
    client = actors.session_client("partner")
    url = _replacements(actors.partner.organization)
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    for days in (1, 5, 10, 50):
        make_tse(dealer_world["second"], days=days)
        make_tse(actors.owner.organization, days=days, bsi="BSI-K-TR-0412-2020")
    assert count() == few
