"""Invoice pages: the recipient's members see its invoices; partners and strangers get 404."""

import uuid

import pytest
from django.urls import reverse

from tenants.models import MembershipRole
from tests.factories import add_member
from tests.helpers import session_client

PAGES = ["billing_invoice", "billing_invoice_pdf", "billing_invoice_csv", "billing_invoice_xml"]


def _url(name, organization, invoice=None):
    kwargs = {"org_id": organization.public_id}
    if invoice is not None:
        kwargs["invoice_id"] = invoice.public_id
    return reverse(name, kwargs=kwargs)


def _statuses(actors, url) -> dict:
    return {actor.name: actors.session_client(actor.name).get(url).status_code for actor in actors}


def test_invoice_list_three_actors(actors, invoice):
    url = _url("billing_invoices", actors.owner.organization)
    assert _statuses(actors, url) == {"owner": 200, "partner": 404, "stranger": 404}
    page = actors.session_client("owner").get(url).content.decode()
    assert invoice.number in page and "53,55" in page
    assert _url("billing_invoice_pdf", actors.owner.organization, invoice) in page


@pytest.mark.parametrize("name", PAGES)
def test_invoice_pages_three_actors(actors, invoice, name):
    assert _statuses(actors, _url(name, actors.owner.organization, invoice)) == {
        "owner": 200, "partner": 404, "stranger": 404}


def test_member_role_sees_invoices(actors, invoice):
    response = actors.member_client("owner").get(_url("billing_invoice", actors.owner.organization, invoice))
    assert response.status_code == 200


def test_dealer_invoice_is_the_dealers_own(actors, dealer_invoice):
    """The dealer's members see its collective invoice; the operator that granted it a right does not."""
    assert _statuses(actors, _url("billing_invoice", actors.partner.organization, dealer_invoice)) == {
        "owner": 404, "partner": 200, "stranger": 404}
    # nor under the operator's own URL
    url = _url("billing_invoice", actors.owner.organization, dealer_invoice)
    assert actors.session_client("owner").get(url).status_code == 404


def test_invoice_detail_shows_fields(actors, invoice, in_english):
    page = actors.session_client("owner").get(_url("billing_invoice", actors.owner.organization, invoice))
    text = page.content.decode()
    for expected in (invoice.number, "Owner Betriebs GmbH", "Kassenportal Betreiber GmbH", "DE999999999",
                     "01.11.2026", "30.11.2026", "53.55", "8.55"):
        assert expected in text, expected
    assert 'data-testid="credit-note-form"' not in text  # not staff


def test_downloads_are_attachments_of_the_right_type(actors, invoice):
    client = actors.session_client("owner")
    pdf = client.get(_url("billing_invoice_pdf", actors.owner.organization, invoice))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f'filename="Rechnung_{invoice.number}.pdf"' in pdf["Content-Disposition"]
    assert b"53,55" in pdf.content
    csv = client.get(_url("billing_invoice_csv", actors.owner.organization, invoice))
    assert csv["Content-Type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
    xml = client.get(_url("billing_invoice_xml", actors.owner.organization, invoice))
    assert xml["Content-Type"] == "application/xml" and b"CrossIndustryInvoice" in xml.content


def test_unknown_invoice_is_404(actors, invoice):
    url = reverse("billing_invoice", kwargs={"org_id": actors.owner.organization.public_id,
                                             "invoice_id": uuid.uuid4()})
    assert actors.session_client("owner").get(url).status_code == 404


def test_staff_member_sees_the_credit_note_button(actors, invoice, staff_user):
    add_member(actors.owner.organization, staff_user, MembershipRole.MEMBER)
    page = session_client(staff_user).get(_url("billing_invoice", actors.owner.organization, invoice))
    assert 'data-testid="credit-note-form"' in page.content.decode()
