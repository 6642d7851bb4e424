"""The dealer's operator overview: onboarding progress, search, status filter, paging, "open
account" links, and a constant number of SQL queries whatever the number of operators."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.tenancy import actor_for_user
from tenants.models import (
    AccessGrant,
    Betriebsstaette,
    DealerLink,
    LinkStatus,
    OperatorInvitation,
    Organization,
    OrganizationRole,
    RoleKind,
    RoleStatus,
)
from tenants.services import partners as svc
from tests.helpers import assert_envelope

pytestmark = pytest.mark.django_db

STEPS = ("invited", "registered", "agreement_signed", "rights_granted", "master_data_complete")


def _api(dealer, **params):
    return f"/api/v1/organizations/{dealer.org_id}/operators", params


def _rows(dealer, **params):
    url, query = _api(dealer, **params)
    response = dealer.client.get(url, query)
    assert response.status_code == 200, response.content
    return response.json()


def make_operators(dealer_org, count: int, start: int = 0) -> None:
    """``count`` operators of ``dealer_org`` in five onboarding stages, in bulk."""
    now = timezone.now()
    orgs = Organization.unscoped.bulk_create([
        Organization(name=f"Operator {n:04d} GmbH", legal_form="gmbh", street=f"Weg {n}", postal_code="10115",
                     city="Berlin", tax_number="21/815/08150" if n % 5 == 4 else "", email=f"op{n}@example.com")
        for n in range(start, start + count)
    ])
    roles, invitations, links, grants, premises = [], [], [], [], []
    for n, org in zip(range(start, start + count), orgs, strict=True):
        stage = n % 5
        roles.append(OrganizationRole(organization=org, kind=RoleKind.OPERATOR,
                                      status=RoleStatus.ACTIVE if stage >= 2 else RoleStatus.PENDING))
        invitation = OperatorInvitation(
            organization=dealer_org, company_name=f"Operator {n:04d} GmbH", street="Weg", postal_code="10115",
            city="Berlin", contact_first_name="A", contact_last_name="B", contact_email=f"op{n}@example.com",
            external_reference=f"REF-{n:04d}", requested_rights=["read"], token_digest=f"{n:064d}",
            expires_at=now + timedelta(days=3), operator=org if stage >= 1 else None,
            accepted_at=now if stage >= 2 else None,
        )
        invitations.append(invitation)
    OrganizationRole.unscoped.bulk_create(roles)
    OperatorInvitation.unscoped.bulk_create(invitations)
    for n, org, invitation in zip(range(start, start + count), orgs, invitations, strict=True):
        stage = n % 5
        if stage >= 2:
            links.append(DealerLink(organization=org, dealer=dealer_org, status=LinkStatus.ACTIVE,
                                    invitation=invitation, activated_at=now))
        if stage >= 3:
            grants.append(AccessGrant(organization=org, dealer=dealer_org, right="read"))
        if stage >= 4:
            premises.append(Betriebsstaette(organization=org, name="Laden", street="Weg", house_number="1",
                                            postal_code="10115", city="Berlin"))
    DealerLink.unscoped.bulk_create(links)
    AccessGrant.unscoped.bulk_create(grants)
    Betriebsstaette.unscoped.bulk_create(premises)


def test_progress_per_stage(dealer):
    make_operators(dealer.organization, 5)
    body = _rows(dealer, page_size=50)
    assert body["count"] == 5
    rows = {row["company_name"]: row for row in body["results"]}
    expected = {
        0: ("invited", [True, False, False, False, False]),
        1: ("registered", [True, True, False, False, False]),
        2: ("active", [True, True, True, False, False]),
        3: ("active", [True, True, True, True, False]),
        4: ("active", [True, True, True, True, True]),
    }
    for n, (status, progress) in expected.items():
        row = rows[f"Operator {n:04d} GmbH"]
        assert row["status"] == status, n
        assert [row["progress"][step] for step in STEPS] == progress, n
        assert (row["account_url"] is not None) == (n >= 3), n
        assert row["reference"] == f"REF-{n:04d}" and row["email"] == f"op{n}@example.com"
    assert rows["Operator 0003 GmbH"]["rights"] == ["read"]
    assert rows["Operator 0004 GmbH"]["account_url"] == f"/o/{rows['Operator 0004 GmbH']['operator_id']}/"


def test_any_right_gives_an_open_account_link_not_only_read(dealer):
    make_operators(dealer.organization, 5)
    operator = Organization.unscoped.get(name="Operator 0003 GmbH")
    AccessGrant.unscoped.filter(organization=operator).update(right="configure")
    row = next(r for r in _rows(dealer, page_size=50)["results"] if r["company_name"] == "Operator 0003 GmbH")
    assert row["rights"] == ["configure"]
    assert row["account_url"] == f"/o/{operator.public_id}/"
    assert dealer.client.get(row["account_url"]).status_code == 200


def test_master_data_needs_tax_number_address_and_a_betriebsstaette(dealer):
    make_operators(dealer.organization, 5)
    org = Organization.unscoped.get(name="Operator 0004 GmbH")
    assert _rows(dealer, search="Operator 0004")["results"][0]["progress"]["master_data_complete"] is True
    Organization.unscoped.filter(pk=org.pk).update(tax_number="")
    assert _rows(dealer, search="Operator 0004")["results"][0]["progress"]["master_data_complete"] is False
    Organization.unscoped.filter(pk=org.pk).update(tax_number="21/815/08150")
    Betriebsstaette.unscoped.filter(organization=org).delete()
    assert _rows(dealer, search="Operator 0004")["results"][0]["progress"]["master_data_complete"] is False


def test_invitations_links_requests_and_expired_rows(dealer, existing_operator):
    invitation, _token = dealer.invite(contact_email="later@example.com", company_name="Später GmbH")
    OperatorInvitation.unscoped.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked, _token = dealer.invite(contact_email="gone@example.com", company_name="Weg GmbH")
    svc.revoke_operator_invitation(actor=dealer.actor_obj, invitation=revoked)
    svc.request_dealer_link(actor=actor_for_user(existing_operator.user), operator=existing_operator.organization,
                            dealer_id=dealer.org_id)
    rows = {row["company_name"]: row for row in _rows(dealer)["results"]}
    assert set(rows) == {"Später GmbH", "Olli Imbiss GmbH"}  # revoked invitations only in the history
    assert rows["Später GmbH"]["status"] == "expired" and rows["Später GmbH"]["kind"] == "invitation"
    request = rows["Olli Imbiss GmbH"]
    assert request["status"] == "requested" and request["kind"] == "link"
    assert request["progress"]["invited"] is False and request["progress"]["agreement_signed"] is True


def test_search_and_status_filter(dealer):
    make_operators(dealer.organization, 10)
    assert [r["company_name"] for r in _rows(dealer, search="operator 0007")["results"]] == ["Operator 0007 GmbH"]
    assert [r["email"] for r in _rows(dealer, search="op3@example")["results"]] == ["op3@example.com"]
    assert [r["reference"] for r in _rows(dealer, search="REF-0009")["results"]] == ["REF-0009"]
    assert _rows(dealer, status="invited")["count"] == 2
    assert _rows(dealer, status="registered")["count"] == 2
    assert _rows(dealer, status="active")["count"] == 6
    assert _rows(dealer, status="ended")["count"] == 0
    assert _rows(dealer, status="active", search="0001")["count"] == 0
    assert_envelope(dealer.client.get(*_api(dealer, status="lost")), 400, "E_VALIDATION")
    page = dealer.client.get(f"/o/{dealer.org_id}/operators/", {"q": "REF-0004"}).content.decode()
    assert page.count('data-testid="operator-row"') == 1 and "Operator 0004 GmbH" in page
    assert 'data-testid="open-account"' in page
    partial = dealer.client.get(f"/o/{dealer.org_id}/operators/", {"status": "invited"}, HTTP_HX_REQUEST="true")
    assert partial.content.decode().count('data-testid="operator-row"') == 2
    assert "<html" not in partial.content.decode()


def test_paging_is_stable_and_complete(dealer):
    make_operators(dealer.organization, 60)
    first = _rows(dealer, page_size=25)
    assert first["count"] == 60 and len(first["results"]) == 25 and first["next"]
    ids = [r["id"] for page in (1, 2, 3) for r in _rows(dealer, page_size=25, page=page)["results"]]
    assert len(ids) == len(set(ids)) == 60
    html = dealer.client.get(f"/o/{dealer.org_id}/operators/", {"page": 2}).content.decode()
    assert html.count('data-testid="operator-row"') == 10 and "2" in html


def _count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def test_the_overview_runs_the_same_number_of_queries_for_10_and_200_operators(dealer):
    page_url = f"/o/{dealer.org_id}/operators/"
    api_url = f"/api/v1/organizations/{dealer.org_id}/operators"
    make_operators(dealer.organization, 10)
    _count_queries(dealer.client, page_url)  # warm-up (session, caches)
    small = (_count_queries(dealer.client, page_url), _count_queries(dealer.client, api_url, {"page_size": 200}))
    make_operators(dealer.organization, 190, start=10)
    large = (_count_queries(dealer.client, page_url), _count_queries(dealer.client, api_url, {"page_size": 200}))
    assert dealer.client.get(api_url, {"page_size": 200}).json()["count"] == 200
    assert small == large, (small, large)
    assert large[1] <= 20


def test_the_service_alone_needs_five_queries_per_page(dealer, django_assert_num_queries):
    make_operators(dealer.organization, 30)
    overview = svc.operator_overview(dealer.organization)
    with django_assert_num_queries(5):  # count, page keys, links, invitations, rights
        assert overview.count() == 30
        assert len(overview[0:30]) == 30
