"""CSV bulk import of operator invitations: per-row report, good rows complete, bad rows not at
all, no duplicates on re-import, encodings and delimiters, limits."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import LogEntry, OutgoingMail
from tenants.models import InvitationImport, OperatorInvitation
from tenants.services import partners as svc
from tests.helpers import assert_envelope
from tests.tenants.partners.conftest import csv_file

pytestmark = pytest.mark.django_db

GOOD_1 = ("Café Sonne GmbH;Sonnenallee 1;12045;Berlin;DE;Sina;Sonne;sina@sonne.example;DE136695976;030 1234;K-1;"
          "Hallo!;read configure")
BAD_POSTAL = "Bäckerei Korn;Kornweg 2;1234;Hamburg;DE;Karl;Korn;karl@korn.example;;;K-2;;"
GOOD_2 = "Imbiss Eck;Eckstr. 3;80331;München;de;Ella;Eck;ELLA@eck.example;;;K-3;;"
BAD_MANY = "Kiosk;;;Köln;Deutschland;;Kai;kein-email;DE1;;K-4;;admin"
GOOD_AT = "Wiener Café;Ring 1;1010;Wien;AT;Willi;Wien;willi@wien.example;;;K-5;;read"


def _import(dealer, content, name="operators.csv", **extra):
    url = f"/api/v1/organizations/{dealer.org_id}/operator-invitations/import"
    return dealer.client.post(url, {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **extra})


def test_good_rows_are_imported_and_bad_rows_reported(dealer):
    content = csv_file(GOOD_1, BAD_POSTAL, GOOD_2, BAD_MANY, GOOD_AT)
    response = _import(dealer, content)
    assert response.status_code == 201, response.content
    body = response.json()
    counts = (body["total_rows"], body["imported_rows"], body["already_invited_rows"], body["failed_rows"])
    assert counts == (5, 3, 0, 2)
    report = {row["row"]: row for row in body["report"]}
    assert [report[n]["status"] for n in (2, 3, 4, 5, 6)] == ["imported", "failed", "imported", "failed", "imported"]
    assert set(report[3]["errors"]) == {"postal_code"}
    assert set(report[5]["errors"]) == {"street", "postal_code", "country", "contact_first_name", "contact_email",
                                        "vat_id", "rights"}
    # good rows: complete invitations with their mail and audit entry
    emails = set(OperatorInvitation.unscoped.values_list("contact_email", flat=True))
    assert emails == {"sina@sonne.example", "ella@eck.example", "willi@wien.example"}
    sina = OperatorInvitation.unscoped.get(contact_email="sina@sonne.example")
    assert sina.requested_rights == ["read", "configure"] and sina.vat_id == "DE136695976"
    assert sina.personal_message == "Hallo!" and sina.external_reference == "K-1"
    assert OperatorInvitation.unscoped.get(contact_email="ella@eck.example").country == "DE"
    assert OperatorInvitation.unscoped.get(contact_email="ella@eck.example").requested_rights == ["read"]
    assert sina.import_batch.public_id.hex == body["id"].replace("-", "")
    assert set(OutgoingMail.objects.values_list("to", flat=True)) == emails
    assert LogEntry.unscoped.filter(action="tenants.operator_invitation.created").count() == 3
    # bad rows: nothing written
    assert not OperatorInvitation.unscoped.filter(contact_email__in=["karl@korn.example", "kein-email"]).exists()
    assert not OutgoingMail.objects.filter(to="karl@korn.example").exists()
    batch = InvitationImport.unscoped.get()
    assert batch.organization == dealer.organization and batch.failed_rows == 2
    summary = LogEntry.unscoped.get(action="tenants.operator_invitation.imported")
    assert summary.data["imported"] == 3 and summary.data["failed"] == 2


def test_importing_the_same_file_again_creates_no_duplicates(dealer):
    content = csv_file(GOOD_1, BAD_POSTAL, GOOD_2)
    first = _import(dealer, content).json()
    assert first["imported_rows"] == 2
    second = _import(dealer, content)
    assert second.status_code == 201
    body = second.json()
    assert (body["imported_rows"], body["already_invited_rows"], body["failed_rows"]) == (0, 2, 1)
    assert [row["status"] for row in body["report"]] == ["already_invited", "failed", "already_invited"]
    assert OperatorInvitation.unscoped.count() == 2
    assert OutgoingMail.objects.count() == 2
    # a corrected file imports only the row that failed before
    fixed = csv_file(GOOD_1, BAD_POSTAL.replace(";1234;", ";20095;"), GOOD_2)
    body = _import(dealer, fixed).json()
    assert [row["status"] for row in body["report"]] == ["already_invited", "imported", "already_invited"]
    assert OperatorInvitation.unscoped.count() == 3


def test_duplicates_inside_one_file_and_accepted_invitations_count_as_invited(dealer):
    from django.utils import timezone

    accepted, _token = dealer.invite(contact_email="done@example.com")
    OperatorInvitation.unscoped.filter(pk=accepted.pk).update(accepted_at=timezone.now())
    done = GOOD_2.replace("ELLA@eck.example", "done@example.com")
    body = _import(dealer, csv_file(GOOD_1, GOOD_1.replace("Café Sonne", "Sonne 2"), done)).json()
    assert [row["status"] for row in body["report"]] == ["imported", "already_invited", "already_invited"]


def test_comma_delimiter_bom_quotes_and_empty_lines(dealer):
    header = ("\ufeffCompany_Name,street,postal_code,city,country,contact_first_name,contact_last_name,"
              "contact_email,personal_message")
    rows = ['"Müller, Meier & Co. KG","Hauptstr. 5",10115,Berlin,DE,Max,Müller,max@mm.example,"Zeile 1\nZeile 2"',
            "", "Solo,Weg 1,10117,Berlin,DE,Sol,O,solo@example.com,"]
    content = ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")
    body = _import(dealer, content).json()
    assert [(row["row"], row["status"]) for row in body["report"]] == [(2, "imported"), (5, "imported")]
    max_ = OperatorInvitation.unscoped.get(contact_email="max@mm.example")
    assert max_.company_name == "Müller, Meier & Co. KG" and max_.personal_message == "Zeile 1\nZeile 2"


def test_missing_columns_not_utf8_and_empty_files_are_refused(dealer):
    body = assert_envelope(_import(dealer, b"company_name;street;city\nA;B;C\n"), 400, "E_CSV_INVALID")
    assert "postal_code" in body["details"]["missing_columns"]
    assert_envelope(_import(dealer, csv_file(GOOD_1).decode().encode("utf-16")), 400, "E_CSV_INVALID")
    assert_envelope(_import(dealer, "Café;Straße".encode("latin-1")), 400, "E_CSV_INVALID")
    assert_envelope(_import(dealer, b""), 400)
    assert_envelope(_import(dealer, b"\r\n\r\n"), 400, "E_CSV_INVALID")
    assert not InvitationImport.unscoped.exists() and not OperatorInvitation.unscoped.exists()


def test_a_row_with_more_values_than_the_header_fails(dealer):
    body = _import(dealer, csv_file(GOOD_1 + ";extra")).json()
    assert body["report"][0]["status"] == "failed" and "row" in body["report"][0]["errors"]


def test_size_and_row_limits(dealer, monkeypatch):
    # the limits are read where the CSV is parsed (and by the API for the upload size)
    monkeypatch.setattr("tenants.services.partners.invitations.CSV_MAX_ROWS", 2)
    body = assert_envelope(_import(dealer, csv_file(GOOD_1, GOOD_2, GOOD_AT)), 413, "E_CSV_TOO_LARGE")
    assert "2" in body["message"]
    monkeypatch.setattr("tenants.services.partners.invitations.CSV_MAX_BYTES", 100)
    monkeypatch.setattr(svc, "CSV_MAX_BYTES", 100)
    assert_envelope(_import(dealer, csv_file(GOOD_1)), 413, "E_CSV_TOO_LARGE")
    assert not OperatorInvitation.unscoped.exists() and not InvitationImport.unscoped.exists()


def test_default_rights_for_rows_without_rights(dealer):
    body = _import(dealer, csv_file(GOOD_2), rights="read entitlements").json()
    assert body["imported_rows"] == 1
    assert OperatorInvitation.unscoped.get().requested_rights == ["read", "entitlements"]
    assert_envelope(_import(dealer, csv_file(GOOD_AT), rights="root"), 400, "E_VALIDATION")


def test_the_import_page_shows_the_report(dealer):
    url = f"/o/{dealer.org_id}/operators/import/"
    assert dealer.client.get(url).status_code == 200
    upload = SimpleUploadedFile("kunden.csv", csv_file(GOOD_1, BAD_POSTAL), content_type="text/csv")
    response = dealer.client.post(url, {"file": upload, "rights": ["read"]})
    assert response.status_code == 302
    page = dealer.client.get(response["Location"]).content.decode()
    assert 'data-row="2" data-status="imported"' in page
    assert 'data-row="3" data-status="failed"' in page and "postal_code" in page
    bad = dealer.client.post(url, {"file": SimpleUploadedFile("x.csv", b"a;b\n1;2\n")})
    assert bad.status_code == 200 and "contact_email" in bad.content.decode()
    assert InvitationImport.unscoped.count() == 1


def test_a_failing_mail_queue_leaves_no_half_written_row(dealer, monkeypatch):
    """A row that fails while being written rolls back completely; the other rows stay."""
    from tenants.services.partners import invitations

    real = invitations.queue_mail

    def flaky(to, *args, **kwargs):
        if to == "ella@eck.example":
            raise svc.PartnerError("E_VALIDATION", "mail refused", details={"contact_email": ["mail refused"]})
        return real(to, *args, **kwargs)

    monkeypatch.setattr("tenants.services.partners.invitations.queue_mail", flaky)
    body = _import(dealer, csv_file(GOOD_1, GOOD_2)).json()
    assert [row["status"] for row in body["report"]] == ["imported", "failed"]
    assert list(OperatorInvitation.unscoped.values_list("contact_email", flat=True)) == ["sina@sonne.example"]
    assert not LogEntry.unscoped.filter(action="tenants.operator_invitation.created",
                                        data__email="ella@eck.example").exists()
