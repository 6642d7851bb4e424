"""The procedure documentation pages: three actors on every page, editor, generation, version view, PDF."""

import hashlib

import pytest
from django.urls import reverse

from compliance.models import ProcedureDocument, ProcedureSections
from compliance.services.procedure import SECTION_MAX_LENGTH, generate_document, save_sections
from portal.tenancy import actor_for_user
from tests.compliance_procedure.conftest import SECTION_TEXTS

pytestmark = pytest.mark.django_db

ACTORS = ("owner", "partner", "stranger")


def _url(name, organization, **kwargs) -> str:
    return reverse(name, kwargs={"org_id": organization.public_id, **kwargs})


def _statuses(actors, method, url, data=None) -> dict:
    results = {}
    for name in ACTORS:
        client = actors.session_client(name)
        response = client.post(url, data or {}) if method == "POST" else client.get(url)
        results[name] = response.status_code
        _body(response)
    return results


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def version(owner, procedure_setup):
    actor = actor_for_user(owner.user)
    save_sections(actor, owner.organization, SECTION_TEXTS)
    return generate_document(actor, owner.organization, note="Erstfassung")


@pytest.mark.parametrize("name", ["compliance_procedure_version", "compliance_procedure_pdf"])
def test_three_actors_read_a_version(actors, version, name):
    url = _url(name, actors.owner.organization, number=version.number)
    assert _statuses(actors, "GET", url) == {"owner": 200, "partner": 200, "stranger": 404}


def test_three_actors_read_the_page(actors, version):
    assert _statuses(actors, "GET", _url("compliance_procedure", actors.owner.organization)) == \
        {"owner": 200, "partner": 200, "stranger": 404}


def test_three_actors_save_texts(actors):
    url = _url("compliance_procedure", actors.owner.organization)
    assert _statuses(actors, "POST", url, {"general": "Von allen"}) == {"owner": 302, "partner": 403, "stranger": 404}
    assert ProcedureSections.unscoped.get(organization=actors.owner.organization).sections["general"] == "Von allen"


def test_three_actors_generate(actors, procedure_setup):
    url = _url("compliance_procedure_generate", actors.owner.organization)
    assert _statuses(actors, "POST", url) == {"owner": 302, "partner": 403, "stranger": 404}
    assert list(ProcedureDocument.unscoped.filter(organization=actors.owner.organization)
                .values_list("number", flat=True)) == [1]


def test_a_partner_with_configure_may_edit_and_generate(actors, configure_partner, procedure_setup, in_english):
    client = actors.session_client("partner")
    page = _url("compliance_procedure", actors.owner.organization)
    assert 'data-testid="procedure-sections-form"' in client.get(page).content.decode()
    assert client.post(page, {"general": "Vom Händler gepflegt"}).status_code == 302
    response = client.post(_url("compliance_procedure_generate", actors.owner.organization), {"note": "Händler"})
    document = ProcedureDocument.unscoped.get(organization=actors.owner.organization)
    assert response.status_code == 302 and response["Location"] == _url(
        "compliance_procedure_version", actors.owner.organization, number=1)
    assert "Vom Händler gepflegt" in document.html
    assert f"on behalf, by {actors.partner.organization.name}" in document.html


def test_a_read_partner_sees_the_texts_without_the_editor(actors, version):
    body = actors.session_client("partner").get(_url("compliance_procedure", actors.owner.organization)) \
        .content.decode()
    assert 'data-testid="procedure-sections-form"' not in body and 'data-testid="procedure-generate"' not in body
    assert SECTION_TEXTS["cash_handling"] in body
    assert 'data-testid="procedure-version-1"' in body and version.sha256 in body


def test_editor_shows_guidance_and_versions(actors, version, in_english):
    body = actors.session_client("owner").get(_url("compliance_procedure", actors.owner.organization)) \
        .content.decode()
    for key in SECTION_TEXTS:
        assert f'data-testid="section-{key}"' in body
    assert "who may cancel or void receipts" in body and "Change management" in body
    assert SECTION_TEXTS["outages"] in body  # the textarea holds the saved text
    row = body.split('data-testid="procedure-version-1"')[1].split("</tr>")[0]
    assert "Olga Owner" in row and "Erstfassung" in row and version.sha256 in row
    assert _url("compliance_procedure_pdf", actors.owner.organization, number=1) in row


def test_too_long_text_is_refused(actors, in_english):
    response = actors.session_client("owner").post(_url("compliance_procedure", actors.owner.organization),
                                                   {"general": "x" * (SECTION_MAX_LENGTH + 1)})
    assert response.status_code == 400 and "at most" in response.content.decode().lower()
    assert not ProcedureSections.unscoped.filter(organization=actors.owner.organization).exists()


def test_generating_twice_without_change_makes_no_version(actors, version, in_english):
    client = actors.session_client("owner")
    response = client.post(_url("compliance_procedure_generate", actors.owner.organization), follow=True)
    assert response.status_code == 200 and "Nothing changed since version 1" in response.content.decode()
    assert ProcedureDocument.unscoped.filter(organization=actors.owner.organization).count() == 1


def test_version_page_and_print_view(actors, version, in_english):
    client = actors.session_client("owner")
    url = _url("compliance_procedure_version", actors.owner.organization, number=1)
    body = client.get(url).content.decode()
    assert 'data-testid="procedure-document"' in body and "srcdoc=" in body and version.sha256 in body
    standalone = client.get(url + "?standalone=1")
    assert standalone.status_code == 200 and standalone.content.decode() == version.html
    assert standalone["X-Content-SHA256"] == version.sha256
    for text in SECTION_TEXTS.values():
        assert text in standalone.content.decode()


def test_version_page_names_what_changed(actors, version, in_english):
    save_sections(actor_for_user(actors.owner.user), actors.owner.organization, {"other": "Neu"})
    generate_document(actor_for_user(actors.owner.user), actors.owner.organization)
    body = actors.session_client("owner").get(
        _url("compliance_procedure_version", actors.owner.organization, number=2)).content.decode()
    assert body.split('data-testid="procedure-changed">')[1].split("</dd>")[0] == "Other notes"


def test_pdf_download(actors, version):
    response = actors.session_client("owner").get(_url("compliance_procedure_pdf", actors.owner.organization,
                                                       number=1))
    content = _body(response)
    assert response["Content-Type"] == "application/pdf" and content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == version.sha256 == response["X-Content-SHA256"]
    assert "attachment" in response["Content-Disposition"] and "-v1.pdf" in response["Content-Disposition"]
    assert SECTION_TEXTS["organisation"].encode() in content


def test_unknown_and_foreign_versions_are_404(actors, version):
    generate_document(actor_for_user(actors.stranger.user), actors.stranger.organization)
    owner = actors.session_client("owner")
    for name in ("compliance_procedure_version", "compliance_procedure_pdf"):
        assert owner.get(_url(name, actors.owner.organization, number=99)).status_code == 404
        assert owner.get(_url(name, actors.stranger.organization, number=1)).status_code == 404


def test_member_role_may_edit(actors):
    client = actors.member_client("owner")
    url = _url("compliance_procedure", actors.owner.organization)
    assert client.get(url).status_code == 200
    assert client.post(url, {"data_backup": "Täglich"}).status_code == 302
