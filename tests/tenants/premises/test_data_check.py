"""The data check: findings appear and disappear as master data are completed; the queryset helper."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from stdnum.de import stnr

from tenants.models import Betriebsstaette, Organization, Outlet
from tenants.services.organizations import update_organization
from tenants.services.premises import (
    annotate_master_data_complete,
    check_master_data,
    close_betriebsstaette,
    close_outlet,
    create_betriebsstaette,
    create_outlet,
    master_data_complete,
    split_street_and_house_number,
    update_outlet,
)
from tests.factories import make_organization
from tests.tenants.premises.helpers import VALID_TAX_NUMBER, betriebsstaette_data, complete_company_data, outlet_data

pytestmark = pytest.mark.django_db


def _codes(organization, severity="error"):
    return sorted(f.code for f in check_master_data(organization).findings if f.severity == severity)


def _assert_consistent(organization):
    """check_master_data, master_data_complete and the queryset annotation agree."""
    check = check_master_data(organization)
    annotated = annotate_master_data_complete(Organization.unscoped.filter(pk=organization.pk)).get()
    assert check.complete == master_data_complete(organization) == annotated.master_data_complete
    return check.complete


def _finding(organization, code):
    matches = [f for f in check_master_data(organization).findings if f.code == code]
    assert len(matches) == 1, [f.code for f in check_master_data(organization).findings]
    return matches[0]


def test_findings_appear_and_disappear_as_the_data_are_completed(owner):
    organization = owner.organization
    # a freshly registered operator: no tax number, no Betriebsstätte
    assert _codes(organization) == ["W_MISSING_TAX_NUMBER", "W_NO_OPEN_BETRIEBSSTAETTE"]
    assert _assert_consistent(organization) is False

    update_organization(actor=None, organization=organization, changes={"tax_number": VALID_TAX_NUMBER})
    assert _codes(organization) == ["W_NO_OPEN_BETRIEBSSTAETTE"]

    betriebsstaette = create_betriebsstaette(actor=None, organization=organization, data=betriebsstaette_data())
    assert _codes(organization) == []
    assert _assert_consistent(organization) is True

    outlet = create_outlet(actor=None, organization=organization, data=outlet_data())
    assert _codes(organization) == ["W_OUTLET_WITHOUT_BETRIEBSSTAETTE"]
    assert _assert_consistent(organization) is False
    finding = _finding(organization, "W_OUTLET_WITHOUT_BETRIEBSSTAETTE")
    assert (finding.object_type, finding.object_id, finding.field) == ("outlet", str(outlet.public_id),
                                                                       "betriebsstaette")

    update_outlet(actor=None, outlet=outlet, changes={"betriebsstaette": betriebsstaette})
    assert _codes(organization) == []

    close_betriebsstaette(actor=None, betriebsstaette=betriebsstaette)
    assert _codes(organization) == ["W_NO_OPEN_BETRIEBSSTAETTE", "W_OUTLET_BETRIEBSSTAETTE_CLOSED"]
    assert _assert_consistent(organization) is False

    close_outlet(actor=None, outlet=outlet)
    assert _codes(organization) == ["W_NO_OPEN_BETRIEBSSTAETTE"]

    create_betriebsstaette(actor=None, organization=organization, data=betriebsstaette_data(name="Neu"))
    assert _codes(organization) == []
    assert _assert_consistent(organization) is True


@pytest.mark.usefixtures("in_english")
def test_the_vat_id_cannot_replace_the_tax_number(premises, owner):
    organization = owner.organization
    Organization.unscoped.filter(pk=organization.pk).update(tax_number="")
    assert organization.vat_id
    finding = _finding(organization, "W_MISSING_TAX_NUMBER")
    assert (finding.object_type, finding.object_id, finding.field) == (
        "organization", str(organization.public_id), "tax_number")
    assert "VAT id cannot replace" in finding.message
    assert _assert_consistent(organization) is False


@pytest.mark.parametrize("field, value, code", [
    ("legal_form", "", "W_MISSING_LEGAL_FORM"),
    ("name", "", "W_MISSING_NAME"),
    ("street", "", "W_MISSING_STREET"),
    ("street", "Am Markt", "W_MISSING_HOUSE_NUMBER"),
    ("postal_code", "", "W_MISSING_POSTAL_CODE"),
    ("postal_code", "1011", "W_INVALID_POSTAL_CODE"),
    ("city", "", "W_MISSING_CITY"),
    ("country", "", "W_MISSING_COUNTRY"),
    ("tax_number", "12345", "W_INVALID_TAX_NUMBER"),
])
def test_it_finds_gaps_in_the_company_data(premises, owner, field, value, code):
    organization = owner.organization
    assert _codes(organization) == []
    Organization.unscoped.filter(pk=organization.pk).update(**{field: value})
    assert code in _codes(organization)
    assert _finding(organization, code).object_type == "organization"
    assert _assert_consistent(organization) is False


@pytest.mark.parametrize("field, value, code", [
    ("name", "", "W_MISSING_NAME"),
    ("street", "", "W_MISSING_STREET"),
    ("house_number", "", "W_MISSING_HOUSE_NUMBER"),
    ("postal_code", "", "W_MISSING_POSTAL_CODE"),
    ("postal_code", "ABCDE", "W_INVALID_POSTAL_CODE"),
    ("city", "", "W_MISSING_CITY"),
    ("country", "", "W_MISSING_COUNTRY"),
])
@pytest.mark.parametrize("model", [Betriebsstaette, Outlet])
def test_it_finds_incomplete_addresses_of_betriebsstaetten_and_outlets(premises, owner, model, field, value, code):
    betriebsstaette, outlet = premises
    target = betriebsstaette if model is Betriebsstaette else outlet
    model.unscoped.filter(pk=target.pk).update(**{field: value})
    finding = _finding(owner.organization, code)
    assert finding.object_type == model.__name__.lower()
    assert finding.object_id == str(target.public_id)
    assert finding.field == field
    assert _assert_consistent(owner.organization) is False
    model.unscoped.filter(pk=target.pk).update(**{field: getattr(target, field)})
    assert _codes(owner.organization) == []


def test_the_company_street_needs_a_house_number(premises, owner):
    organization = owner.organization
    for street in ("Hauptstraße 1", "Marktplatz 3a", "Am Ring 12 b", "Kantstraße 10-12", "Weg 4/6",
                   "Straße des 17. Juni 135", "S 1"):
        Organization.unscoped.filter(pk=organization.pk).update(street=street)
        assert "W_MISSING_HOUSE_NUMBER" not in _codes(organization), street
    for street in ("Am Markt", "Hauptstraße", "12", "Postfach"):
        Organization.unscoped.filter(pk=organization.pk).update(street=street)
        assert "W_MISSING_HOUSE_NUMBER" in _codes(organization), street


def test_street_and_house_number_are_split_for_the_notification():
    assert split_street_and_house_number("Hauptstraße 12a") == ("Hauptstraße", "12a")
    assert split_street_and_house_number("Straße des 17. Juni 135") == ("Straße des 17. Juni", "135")
    assert split_street_and_house_number("Kantstraße 10 - 12") == ("Kantstraße", "10 - 12")
    assert split_street_and_house_number(" Am Markt ") == ("Am Markt", "")


def test_invalid_optional_ids_are_warnings_that_do_not_block(premises, owner):
    organization = owner.organization
    Organization.unscoped.filter(pk=organization.pk).update(vat_id="DE123456789", w_idnr="DE123456789-00001")
    assert _codes(organization) == []
    assert _codes(organization, "warning") == ["W_INVALID_VAT_ID", "W_INVALID_W_IDNR"]
    assert _assert_consistent(organization) is True


def test_an_outlet_linked_across_organizations_is_found_without_naming_the_foreign_site(premises, owner,
                                                                                        stranger_premises):
    _betriebsstaette, outlet = premises
    foreign, _foreign_outlet = stranger_premises
    Outlet.unscoped.filter(pk=outlet.pk).update(betriebsstaette=foreign)  # only possible below the services
    finding = _finding(owner.organization, "W_OUTLET_BETRIEBSSTAETTE_FOREIGN")
    assert finding.object_id == str(outlet.public_id)
    assert foreign.name not in finding.message
    assert _assert_consistent(owner.organization) is False


def test_closed_outlets_need_no_betriebsstaette(premises, owner):
    outlet = create_outlet(actor=None, organization=owner.organization, data=outlet_data(name="Lager"))
    assert _codes(owner.organization) == ["W_OUTLET_WITHOUT_BETRIEBSSTAETTE"]
    close_outlet(actor=None, outlet=outlet)
    assert _codes(owner.organization) == []


def test_findings_are_about_the_organization_only(premises, owner, stranger):
    # the stranger has nothing; the owner's complete data do not hide the stranger's gaps or vice versa
    assert _codes(owner.organization) == []
    assert "W_NO_OPEN_BETRIEBSSTAETTE" in _codes(stranger.organization)


def test_the_sql_tax_number_check_agrees_with_stdnum(premises, owner):
    organization = owner.organization
    values = ["21/815/08150", "181/815/08155", "214/5678/1234", "99015/12345", "013 815 08153", "1121081508150",
              "9181081508155", "5214056781234", "4151081508156", "21.815.08150", "21-815-08150", "12345",
              "123456789", "123456789012", "4151181508156", "6612081508150", "21/815/0815X", "DE136695976",
              "12345678901234", "2181508150/"]
    for value in values:
        Organization.unscoped.filter(pk=organization.pk).update(tax_number=value)
        assert ("W_INVALID_TAX_NUMBER" not in _codes(organization)) == stnr.is_valid(value), value


# --- the queryset helper for the dealer overview --------------------------------------------


def test_the_annotation_takes_one_query_for_any_number_of_organizations(owner, stranger, partner):
    complete = []
    for n in range(4):
        organization = complete_company_data(make_organization(name=f"Komplett {n} GmbH"))
        betriebsstaette = create_betriebsstaette(actor=None, organization=organization, data=betriebsstaette_data())
        create_outlet(actor=None, organization=organization, data=outlet_data(betriebsstaette=betriebsstaette))
        complete.append(organization.pk)
    incomplete = [owner.organization.pk, stranger.organization.pk, partner.organization.pk]
    queryset = annotate_master_data_complete(Organization.unscoped.filter(pk__in=complete + incomplete))
    with CaptureQueriesContext(connection) as queries:
        result = dict(queryset.values_list("pk", "master_data_complete"))
    assert len(queries) == 1
    assert {pk for pk, ok in result.items() if ok} == set(complete)
    assert {pk for pk, ok in result.items() if not ok} == set(incomplete)
    assert annotate_master_data_complete(Organization.unscoped.all()).filter(master_data_complete=True).count() == 4


def test_the_annotation_can_be_named_and_filtered(premises, owner, stranger):
    queryset = annotate_master_data_complete(Organization.unscoped.all(), name="ready")
    assert list(queryset.filter(ready=True).values_list("pk", flat=True)) == [owner.organization.pk]
    assert stranger.organization.pk in queryset.filter(ready=False).values_list("pk", flat=True)


def test_the_check_takes_a_constant_number_of_queries(premises, owner):
    betriebsstaette, _outlet = premises
    with CaptureQueriesContext(connection) as few:
        check_master_data(owner.organization)
    for n in range(5):
        create_outlet(actor=None, organization=owner.organization,
                      data=outlet_data(name=f"O{n}", betriebsstaette=betriebsstaette))
        create_betriebsstaette(actor=None, organization=owner.organization, data=betriebsstaette_data(name=f"B{n}"))
    with CaptureQueriesContext(connection) as many:
        check_master_data(owner.organization)
    assert len(few) == len(many) == 3
