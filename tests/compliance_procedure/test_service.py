"""Generating the procedure documentation: content from real objects, texts in HTML and PDF, versions."""

import hashlib

import pytest
from django.db import DatabaseError, transaction

from compliance.models import ProcedureDocument, ProcedureSections
from compliance.services.procedure import (
    SECTION_KEYS,
    SECTION_MAX_LENGTH,
    ProcedureError,
    diff_versions,
    document_content,
    generate_document,
    save_sections,
)
from portal.models import LogEntry
from portal.tenancy import actor_for_user
from tenants.models import ConfigurationVersion
from tests.compliance_procedure.conftest import BSI_ID, SECTION_TEXTS, pdf_bytes

pytestmark = pytest.mark.django_db


def _actor(owner):
    return actor_for_user(owner.user)


def test_content_is_built_from_the_portal_data(owner, procedure_setup):
    content = document_content(owner.organization)
    assert content["company"]["name"] == owner.organization.name
    [premises] = content["premises"]
    assert premises["name"] == "Hauptbetrieb" and [o["number"] for o in premises["outlets"]] == [1]
    assert [o["number"] for o in content["unassigned_outlets"]] == [2]

    systems = {row["serial_number"]: row for row in content["systems"]}
    assert list(systems) == ["KASSE-01", "KASSE-02"]
    first, second = systems["KASSE-01"], systems["KASSE-02"]
    assert (first["software"], first["software_version"], first["manufacturer"], first["model"]) == \
        ("KassenSoft", "3.1", "Kassenbau", "K1")
    assert first["type"] == "pc_pos" and first["commissioned_on"] == "2026-07-01"
    assert first["decommissioned_on"] is None
    assert second["software_version"] == "3.0" and second["acquired_on"] == "2026-06-20"
    assert second["decommissioned_on"] == "2026-07-10" and second["decommission_reason"] == "sold"
    assert second["decommission_note"] == "an Händler zurück"
    unit = procedure_setup["unit"]
    assert first["tse"] == unit.serial_number

    tses = {row["reference"]: row for row in content["tses"]}
    assert set(tses) == {"tse-1", "tse-2"}
    tse = tses["tse-1"]
    assert tse["serial_number"] == unit.serial_number and tse["bsi_id"] == BSI_ID.removeprefix("BSI-K-TR-")
    assert tse["product"].startswith("Swissbit") and tse["form_factor"] == "usb"
    assert tse["initialized_on"] == "2026-07-01" and tse["clients"] == ["KASSE-01", "KASSE-02"]
    assert tse["certificate_expires_on"] is not None
    assert tses["tse-2"]["initialized_on"] is None and tses["tse-2"]["state"] != tse["state"]

    [outage] = content["outages"]
    assert outage == {"tse": unit.serial_number, "tse_reference": "tse-1", "started_at": "2026-07-02T12:15:00+02:00",
                      "ended_at": "2026-07-02T12:45:00+02:00", "reason": "timeout", "error_code": "E_TSE_TIMEOUT",
                      "failed_signings": 3}

    versions = list(ConfigurationVersion.unscoped.filter(organization=owner.organization).order_by("number"))
    assert [row["number"] for row in content["configuration"]] == [v.number for v in versions]
    assert all(row["user"] == owner.user.full_name and row["source"] == "manual" for row in content["configuration"])
    assert content["configuration"][0]["changed_at"].startswith("2026-07-01T10:00")
    assert content["exports"] == {"retention_years": 10, "dsfinvk": [], "tar": [], "nachschau": []}
    assert content["notifications"] == []
    assert content["sections"] == dict.fromkeys(SECTION_KEYS, "")


def test_outages_older_than_ten_years_are_left_out(owner, procedure_setup):
    import datetime as dt

    from tse.models import Outage

    Outage.unscoped.create(organization=owner.organization, signing_unit=procedure_setup["unit"],
                           started_at=dt.datetime(2010, 1, 1, tzinfo=dt.UTC),
                           ended_at=dt.datetime(2010, 1, 1, 1, tzinfo=dt.UTC), reason="signing_failed")
    assert len(document_content(owner.organization)["outages"]) == 1


def test_texts_appear_in_html_and_pdf(owner, procedure_setup, in_english):
    save_sections(_actor(owner), owner.organization, SECTION_TEXTS)
    document = generate_document(_actor(owner), owner.organization, note="Erstfassung")
    assert document.number == 1 and document.note == "Erstfassung"
    for text in SECTION_TEXTS.values():
        assert text in document.html
    for part in ("Recording systems (cash registers)", "KASSE-01", "KASSE-02", "KassenSoft 3.1",
                 procedure_setup["unit"].serial_number, "0362-2019", "Outage log", "02.07.2026 12:15",
                 "TSE did not answer in time", "Configuration history", "Olga Owner", "sold"):
        assert part in document.html, part
    assert document.html.lstrip().startswith("<!DOCTYPE html>") and "<style>" in document.html
    assert "<link" not in document.html and "<script" not in document.html  # self-contained

    pdf = pdf_bytes(document)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == document.sha256
    for text in ("Stornos nur durch die Filialleitung", "Vier-Augen-Prinzip", "Monatliche Sicherung",
                 "Notbelege", "Einzweckgutscheine", "KASSE-02", "Procedure documentation", "Outage log",
                 "E_TSE_TIMEOUT"):
        assert text.encode() in pdf, text
    assert document.content["sections"] == SECTION_TEXTS


def test_document_is_german_by_default(owner, procedure_setup):
    document = generate_document(_actor(owner), owner.organization)
    assert '<html lang="de">' in document.html
    assert "TSE hat nicht rechtzeitig geantwortet" in document.html and "manuell geändert" in document.html
    assert b"TSE hat nicht rechtzeitig geantwortet" in pdf_bytes(document)


def test_versions_are_numbered_and_unchanged_data_makes_none(owner, procedure_setup):
    actor = _actor(owner)
    first = generate_document(actor, owner.organization)
    with pytest.raises(ProcedureError) as unchanged:
        generate_document(actor, owner.organization, note="again")
    assert unchanged.value.code == "E_UNCHANGED" and "1" in unchanged.value.message
    assert ProcedureDocument.unscoped.filter(organization=owner.organization).count() == 1

    save_sections(actor, owner.organization, {"general": "Neu beschrieben."})
    second = generate_document(actor, owner.organization, note="Texte")
    assert (first.number, second.number) == (1, 2)
    assert diff_versions(first.content, second.content) == ["sections.general"]
    entry = LogEntry.objects.filter(action="compliance.procedure_document.generated").order_by("-pk").first()
    assert entry.data["number"] == 2 and entry.data["changed"] == ["sections.general"]
    assert entry.data["sha256"] == second.sha256


def test_a_new_outage_changes_the_content(owner, procedure_setup):
    import datetime as dt

    from tse.models import Outage

    actor = _actor(owner)
    generate_document(actor, owner.organization)
    Outage.unscoped.create(organization=owner.organization, signing_unit=procedure_setup["unit"],
                           started_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC),
                           ended_at=dt.datetime(2026, 8, 1, 1, tzinfo=dt.UTC), reason="signing_failed")
    second = generate_document(actor, owner.organization)
    previous = ProcedureDocument.unscoped.get(organization=owner.organization, number=1)
    assert second.number == 2 and diff_versions(previous.content, second.content) == ["outages"]


def test_versions_are_append_only(owner, procedure_setup):
    document = generate_document(_actor(owner), owner.organization)
    with pytest.raises(DatabaseError), transaction.atomic():
        ProcedureDocument.unscoped.filter(pk=document.pk).update(note="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        ProcedureDocument.unscoped.filter(pk=document.pk).delete()
    document.refresh_from_db()
    assert document.note == ""


def test_versions_are_per_operator(owner, stranger, procedure_setup):
    generate_document(_actor(owner), owner.organization)
    other = generate_document(actor_for_user(stranger.user), stranger.organization)
    assert other.number == 1 and other.content["systems"] == []


def test_save_sections_validates_and_audits(owner, in_english):
    actor = _actor(owner)
    with pytest.raises(ProcedureError) as unknown:
        save_sections(actor, owner.organization, {"general": "ok", "secret": "x"})
    assert unknown.value.code == "E_UNKNOWN_SECTION" and set(unknown.value.errors) == {"secret"}
    with pytest.raises(ProcedureError) as too_long:
        save_sections(actor, owner.organization, {"general": "x" * (SECTION_MAX_LENGTH + 1)})
    assert too_long.value.code == "E_INVALID" and "At most" in too_long.value.errors["general"]
    with pytest.raises(ProcedureError) as not_text:
        save_sections(actor, owner.organization, {"general": 5})
    assert not_text.value.code == "E_INVALID"
    with pytest.raises(ProcedureError):
        save_sections(actor, owner.organization, ["general"])
    assert not ProcedureSections.unscoped.filter(organization=owner.organization).exists()

    row = save_sections(actor, owner.organization, {"general": "  Eins\r\nZwei  ", "other": "x"})
    assert row.sections["general"] == "Eins\nZwei" and row.sections["cash_handling"] == ""
    assert row.updated_by == owner.user
    save_sections(actor, owner.organization, {"other": "y"})  # the others keep their text
    row.refresh_from_db()
    assert row.sections["general"] == "Eins\nZwei" and row.sections["other"] == "y"
    entries = list(LogEntry.objects.filter(action="compliance.procedure_sections.saved").order_by("pk"))
    assert [entry.data["changed"] for entry in entries] == [["general", "other"], ["other"]]
    save_sections(actor, owner.organization, {"other": "y"})  # no change, no entry
    assert LogEntry.objects.filter(action="compliance.procedure_sections.saved").count() == 2


def test_note_length_is_limited(owner):
    with pytest.raises(ProcedureError) as error:
        generate_document(_actor(owner), owner.organization, note="x" * 301)
    assert error.value.code == "E_INVALID"
