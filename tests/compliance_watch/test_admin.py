"""Portal staff keep the BSI list in the admin: list, filter, search, change validity, withdrawal and grace."""

import pytest

from tests.factories import give_totp_device, make_user
from tests.helpers import session_client
from tse.models import BsiCertification

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    user = make_user("staff@kassenportal.example", is_staff=True, is_superuser=True)
    return session_client(user, give_totp_device(user))


def test_the_list_with_status_filter_and_search(staff_client, on_today, in_english):
    listing = staff_client.get("/admin/tse/bsicertification/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "BSI-K-TR-0403-2021" in body and "certification withdrawn on 07.01.2023" in body
    withdrawn = staff_client.get("/admin/tse/bsicertification/?status=withdrawn").content.decode()
    assert "BSI-K-TR-0491-2021" in withdrawn and "BSI-K-TR-0403-2021" not in withdrawn
    found = staff_client.get("/admin/tse/bsicertification/?q=Swissbit").content.decode()
    assert "BSI-K-TR-0412-2020" in found and "BSI-K-TR-0403-2021" not in found
    assert staff_client.get("/admin/tse/bsicertification/?form_factor=cloud").status_code == 200


def _form(certification, **changes) -> dict:
    data = {name: getattr(certification, name) or "" for name in
            ("product", "applicant", "form_factor", "issued_on", "valid_until", "withdrawn_on", "grace_until", "note")}
    data = {name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in data.items()}
    return {**data, **changes}


def test_staff_record_a_withdrawal_with_grace(staff_client, in_english):
    certification = BsiCertification.objects.get(certification_id="BSI-K-TR-0403-2021")
    url = f"/admin/tse/bsicertification/{certification.pk}/change/"
    page = staff_client.get(url)
    assert page.status_code == 200 and 'name="certification_id"' not in page.content.decode()
    early = staff_client.post(url, _form(certification, withdrawn_on="2027-03-01", grace_until="2027-02-01"))
    assert early.status_code == 200 and "The grace period cannot end before" in early.content.decode()
    response = staff_client.post(url, _form(certification, withdrawn_on="2027-03-01", grace_until="2027-09-30"))
    assert response.status_code == 302
    certification.refresh_from_db()
    assert (str(certification.withdrawn_on), str(certification.grace_until)) == ("2027-03-01", "2027-09-30")
    assert staff_client.post(f"/admin/tse/bsicertification/{certification.pk}/delete/",
                             {"post": "yes"}).status_code == 403


def test_staff_add_a_certification_with_a_normalised_id(staff_client, in_english):
    data = {"certification_id": " bsi-k-tr-0901-2026", "product": "Neue TSE", "applicant": "Hersteller",
            "form_factor": "usb", "issued_on": "2026-11-01", "valid_until": "", "withdrawn_on": "",
            "grace_until": "", "note": ""}
    assert staff_client.post("/admin/tse/bsicertification/add/", data).status_code == 302
    assert BsiCertification.objects.get(certification_id="BSI-K-TR-0901-2026").product == "Neue TSE"
    bad = staff_client.post("/admin/tse/bsicertification/add/", {**data, "certification_id": "BSI-K-TR-0902"})
    assert bad.status_code == 200 and "BSI-K-TR-nnnn-yyyy" in bad.content.decode()
    grace = staff_client.post("/admin/tse/bsicertification/add/",
                              {**data, "certification_id": "0903-2026", "grace_until": "2027-01-01"})
    assert grace.status_code == 200 and "A grace period follows a withdrawal" in grace.content.decode()


def test_the_admin_is_for_staff_only(actors):
    response = actors.session_client("owner").get("/admin/tse/bsicertification/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
