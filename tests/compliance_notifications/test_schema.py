"""The project's schema description rejects broken notification files."""

import pytest

from compliance.notification import notification_xml, validate_notification_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def good(generate_on):
    return generate_on().xml


def test_the_generated_file_is_valid(good):
    assert validate_notification_xml(good) == []
    assert validate_notification_xml(good.encode()) == []


@pytest.mark.parametrize(("old", "new", "element"), [
    ("<AnschaffungAS>20.06.2026</AnschaffungAS>", "<AnschaffungAS>2026-06-20</AnschaffungAS>", "AnschaffungAS"),
    ("<InbetriebnahmeAS>01.07.2026</InbetriebnahmeAS>", "<InbetriebnahmeAS>32.07.2026</InbetriebnahmeAS>",
     "InbetriebnahmeAS"),
    ("<SeriennummerTSE>b2b2", "<SeriennummerTSE>XYZ2", "SeriennummerTSE"),
    ("<BSIID>0403-2021</BSIID>", "<BSIID>BSI-K-TR-0403-2021</BSIID>", "BSIID"),
    ("<SeriennummerAS>KASSE-01</SeriennummerAS>", "", "SeriennummerAS"),
    ("<StNr>21/815/08150</StNr>", "<StNr></StNr>", "StNr"),
    ('version="1"', 'version="2"', "version"),
    ("<AnzahlAufzeichnungssysteme>1</AnzahlAufzeichnungssysteme>", "", "AnzahlAufzeichnungssysteme"),
])
def test_broken_files_are_rejected(good, old, new, element):
    assert old in good
    errors = validate_notification_xml(good.replace(old, new, 1))
    assert errors and any(element in error or "Hersteller" in error for error in errors), errors


def test_a_file_in_another_namespace_is_rejected(good):
    errors = validate_notification_xml(good.replace("aufzeichnung146a/v1", "aufzeichnung146a/v2"))
    assert errors


def test_not_xml_at_all_is_reported():
    assert validate_notification_xml(b"<Aufzeichnung146a>")[0].startswith("line 1")


def test_a_natural_person_and_a_closed_betriebsstaette(generate_on):
    data = generate_on().content
    data["taxpayer"].update(natural_person=True, first_name="Erika", last_name="Mustermann")
    data["betriebsstaette"]["closed_on"] = "2026-08-31"
    content = notification_xml(data).decode()
    assert "<AllgAngabenNatuerlichePerson>" in content and "<Vorname>Erika</Vorname>" in content
    assert "<DatumAufgabe>31.08.2026</DatumAufgabe>" in content
    assert validate_notification_xml(content) == []
