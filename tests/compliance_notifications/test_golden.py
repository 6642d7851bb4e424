"""The notification file of a Betriebsstätte with systems commissioned, a TSE replaced and one decommissioned
matches the golden file byte for byte and validates against the project's schema description.

Regenerate the golden file after an intended change with ``UPDATE_GOLDEN=1`` (and review the diff).
"""

import os
from pathlib import Path

import pytest
from lxml import etree

from compliance.notification import NAMESPACE, notification_xml, validate_notification_xml

GOLDEN = Path(__file__).with_name("golden") / "hauptbetrieb.xml"

pytestmark = pytest.mark.django_db


def _update(content: bytes) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_bytes(content)


def test_the_file_matches_the_golden_file(generate_on):
    notification = generate_on()
    content = notification.xml.encode("utf-8")
    _update(content)
    assert content == GOLDEN.read_bytes()
    assert validate_notification_xml(content) == []


def test_the_golden_file_says_what_happened(generate_on):
    root = etree.fromstring(generate_on().xml.encode())
    ns = {"n": NAMESPACE}
    assert root.tag == f"{{{NAMESPACE}}}Aufzeichnung146a" and root.get("version") == "1"
    assert root.findtext("n:StNr", namespaces=ns) == "21/815/08150"
    assert root.findtext("n:AllgAngabenNichtNatuerlichePerson/n:Firmenname", namespaces=ns) == "Bäckerei Beispiel GmbH"
    assert root.findtext("n:Adresse/n:AdrInl/n:Hausnummer", namespaces=ns) == "5"
    site = root.find("n:AngabenZuBetriebsstaette", namespaces=ns)
    assert site.findtext("n:AnzahlAufzeichnungssysteme", namespaces=ns) == "1"  # KASSE-02 is decommissioned
    first, second = site.findall("n:AngabenAufzeichnungssystem", namespaces=ns)  # gross list: both
    assert first.findtext("n:SeriennummerAS", namespaces=ns) == "KASSE-01"
    assert first.findtext("n:AnschaffungAS", namespaces=ns) == "20.06.2026"
    assert first.findtext("n:InbetriebnahmeAS", namespaces=ns) == "01.07.2026"
    assert first.findtext("n:SeriennummerTSE", namespaces=ns) == "b2" * 32  # the replacement TSE
    assert first.findtext("n:InbetriebnahmeTSE", namespaces=ns) == "20.07.2026"
    assert first.findtext("n:BSIID", namespaces=ns) == "0403-2021"
    assert first.findtext("n:ArtTSE", namespaces=ns) == "3"
    assert first.find("n:AusserbetriebnahmeAS", namespaces=ns) is None
    assert second.findtext("n:SeriennummerAS", namespaces=ns) == "KASSE-02"
    assert second.findtext("n:AusserbetriebnahmeAS", namespaces=ns) == "03.08.2026"
    assert second.findtext("n:GrundAusserbetriebnahme", namespaces=ns) == "Verkauf: an Nachfolger"
    assert second.findtext("n:SeriennummerTSE", namespaces=ns) == "a1" * 32
    assert second.find("n:BSIID", namespaces=ns) is None  # the software TSE is not certified


def test_the_file_is_deterministic(generate_on):
    first = generate_on()
    assert notification_xml(first.content) == first.xml.encode()
    assert generate_on().xml == first.xml


def test_the_codes_come_from_the_setting(generate_on, settings):
    settings.ELSTER_NOTIFICATION_CODES = {"system_types": {"pc_pos": "7"}, "tse_form_factors": {"cloud": "9"}}
    root = etree.fromstring(generate_on().xml.encode())
    ns = {"n": NAMESPACE}
    system = root.find("n:AngabenZuBetriebsstaette/n:AngabenAufzeichnungssystem", namespaces=ns)
    assert system.findtext("n:Art", namespaces=ns) == "7"
    assert system.findtext("n:ArtTSE", namespaces=ns) == "9"
