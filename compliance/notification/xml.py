"""The ELSTER upload file of a § 146a (4) AO notification ("Mitteilung über elektronische Aufzeichnungssysteme").

``notification_xml(data)`` turns the data of ``compliance.services.notification_data.notification_data`` (one
Betriebsstätte, all of its recording systems: gross method) into the XML file an operator uploads in Mein
ELSTER. The output is deterministic (same data → same bytes), UTF-8 with an XML declaration and indented.

Structure (``reference/legal.md`` § 8.3; names marked * are the project's choice where the reference is silent)::

    Aufzeichnung146a  xmlns=http://finkonsens.de/elster/elsternachricht/aufzeichnung146a/v1  version="1"
      StNr                                   tax number (omitted when missing: a listed problem)
      WIdNr*                                 Wirtschafts-Identifikationsnummer, optional
      AllgAngabenNichtNatuerlichePerson/Firmenname      or  AllgAngabenNatuerlichePerson*/Vorname*, Name*
      Adresse/AdrInl/Strasse, Hausnummer, Postleitzahl, Ort
      AngabenZuBetriebsstaette
        Bezeichnung*                         name of the Betriebsstätte
        Adresse/Strasse, Hausnummer, Postleitzahl, Ort
        AnzahlAufzeichnungssysteme           systems not decommissioned as of the notification date
        DatumAufgabe*                        date the Betriebsstätte was given up (only when closed)
        Bemerkungen*                         free remarks ("individuelle Informationen zur Betriebsstätte")
        AngabenAufzeichnungssystem*          one per recording system (all of them, also decommissioned ones)*
          Art, Software, SoftwareVersion, SeriennummerAS, Hersteller, Modell, AnschaffungAS, InbetriebnahmeAS,
          AusserbetriebnahmeAS + GrundAusserbetriebnahme (when decommissioned),
          ArtTSE, SeriennummerTSE (hex), BSIID (nnnn-yyyy), InbetriebnahmeTSE

Dates are ``DD.MM.YYYY``. Empty values are left out (the schema makes those elements optional) — the data's
``problems`` say what ELSTER still needs. The texts of the file (reasons for decommissioning) are German: the
file goes to a German tax office, whatever the language of the page that produced it.

**Enumeration codes are unconfirmed** against the official XSD (which is only distributed with ERiC): the codes
of ``Art`` (type of recording system), ``ArtTSE`` (form factor: StuStaPay's SD "1", USB "2", cloud "3") and the
texts of ``GrundAusserbetriebnahme`` come from the setting ``ELSTER_NOTIFICATION_CODES``, which overrides the
defaults below per key (``system_types``, ``tse_form_factors``, ``decommission_reasons``).
"""

import datetime as dt
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from lxml import etree

__all__ = ["DEFAULT_CODES", "NAMESPACE", "SCHEMA_PATH", "notification_codes", "notification_xml",
           "validate_notification_xml"]

NAMESPACE = "http://finkonsens.de/elster/elsternachricht/aufzeichnung146a/v1"
SCHEMA_PATH = Path(__file__).with_name("aufzeichnung146a.xsd")
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# Unconfirmed against the official XSD; override with settings.ELSTER_NOTIFICATION_CODES.
DEFAULT_CODES = {
    # tenants.models.PosSystemType -> Art des eAs
    "system_types": {
        "pc_pos": "1",  # Computergestützte/PC-Kassensysteme (StuStaPay uses "1")
        "tablet_app": "2",  # App-/Tablet-Kassensysteme
        "electronic_register": "3",  # Elektronische Registrierkassen
        "taximeter": "4",  # EU-Taxameter
        "odometer": "5",  # Wegstreckenzähler
        "other": "1",  # guidance: when unsure, PC-Kassensysteme
    },
    # tse.models.FormFactor -> Art der TSE ("other" has no code: left out, a listed problem)
    "tse_form_factors": {"sd": "1", "usb": "2", "cloud": "3"},
    # exports.models.DecommissionReason -> Grund der Außerbetriebnahme (text)
    "decommission_reasons": {
        "sold": "Verkauf",
        "scrapped": "Verschrottung",
        "stolen": "Diebstahl oder Verlust",
        "destroyed": "Zerstörung (Totalschaden)",
        "lease_ended": "Ende des Leasing- oder Mietvertrags",
        "replaced": "Ersatz durch ein anderes System",
        "other": "Sonstiges",
    },
}


def notification_codes() -> dict[str, dict[str, str]]:
    """The enumeration codes in force: the defaults, overridden per key by ``ELSTER_NOTIFICATION_CODES``."""
    configured = getattr(settings, "ELSTER_NOTIFICATION_CODES", None) or {}
    return {key: {**values, **(configured.get(key) or {})} for key, values in DEFAULT_CODES.items()}


def _date(value) -> str:
    if not value:
        return ""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return day.strftime("%d.%m.%Y")


def _text(value) -> str:
    return "" if value is None else str(value).strip()


class _Builder:
    def __init__(self):
        self.nsmap = {None: NAMESPACE}

    def element(self, parent, name: str, value=None):
        """A child element; with ``value`` given, it is only added when the value is not empty."""
        if value is not None and not _text(value):
            return None
        tag = f"{{{NAMESPACE}}}{name}"
        child = etree.SubElement(parent, tag) if parent is not None else etree.Element(tag, nsmap=self.nsmap)
        if value is not None:
            child.text = _text(value)
        return child

    def address(self, parent, data: dict):
        self.element(parent, "Strasse", data.get("street"))
        self.element(parent, "Hausnummer", data.get("house_number"))
        self.element(parent, "Postleitzahl", data.get("postal_code"))
        self.element(parent, "Ort", data.get("city"))


def _decommission_reason(system: dict, codes: dict) -> str:
    reason = codes["decommission_reasons"].get(system.get("decommission_reason") or "", "")
    note = _text(system.get("decommission_note"))
    if reason and note:
        return f"{reason}: {note}"
    return reason or note or codes["decommission_reasons"].get("other", "")


def _system(builder: _Builder, parent, system: dict, codes: dict) -> None:
    node = builder.element(parent, "AngabenAufzeichnungssystem")
    builder.element(node, "Art", codes["system_types"].get(system.get("type") or "", ""))
    builder.element(node, "Software", system.get("software"))
    builder.element(node, "SoftwareVersion", system.get("software_version"))
    builder.element(node, "SeriennummerAS", system.get("serial_number"))
    builder.element(node, "Hersteller", system.get("manufacturer"))
    builder.element(node, "Modell", system.get("model"))
    builder.element(node, "AnschaffungAS", _date(system.get("acquired_on")))
    builder.element(node, "InbetriebnahmeAS", _date(system.get("commissioned_on")))
    if system.get("decommissioned_on"):
        builder.element(node, "AusserbetriebnahmeAS", _date(system["decommissioned_on"]))
        builder.element(node, "GrundAusserbetriebnahme", _decommission_reason(system, codes))
    tse = system.get("tse") or {}
    if tse:
        builder.element(node, "ArtTSE", codes["tse_form_factors"].get(tse.get("form_factor") or "", ""))
        builder.element(node, "SeriennummerTSE", _text(tse.get("serial_number")).lower())
        builder.element(node, "BSIID", tse.get("bsi_id"))
        builder.element(node, "InbetriebnahmeTSE", _date(tse.get("commissioned_on")))


def notification_xml(data: dict) -> bytes:
    """The ELSTER upload file (UTF-8 bytes) of one Betriebsstätte's notification data."""
    codes = notification_codes()
    builder = _Builder()
    root = builder.element(None, "Aufzeichnung146a")
    root.set("version", "1")
    taxpayer = data.get("taxpayer") or {}
    builder.element(root, "StNr", taxpayer.get("tax_number"))
    builder.element(root, "WIdNr", taxpayer.get("w_idnr"))
    if taxpayer.get("natural_person"):
        person = builder.element(root, "AllgAngabenNatuerlichePerson")
        builder.element(person, "Vorname", taxpayer.get("first_name"))
        builder.element(person, "Name", _text(taxpayer.get("last_name")) or _text(taxpayer.get("name")))
    else:
        company = builder.element(root, "AllgAngabenNichtNatuerlichePerson")
        builder.element(company, "Firmenname", taxpayer.get("name"))
    builder.address(builder.element(builder.element(root, "Adresse"), "AdrInl"), taxpayer)

    premises = data.get("betriebsstaette") or {}
    site = builder.element(root, "AngabenZuBetriebsstaette")
    builder.element(site, "Bezeichnung", premises.get("name"))
    builder.address(builder.element(site, "Adresse"), premises)
    builder.element(site, "AnzahlAufzeichnungssysteme", str(int(data.get("system_count") or 0)))
    builder.element(site, "DatumAufgabe", _date(premises.get("closed_on")))
    builder.element(site, "Bemerkungen", premises.get("remarks"))
    for system in data.get("systems") or []:
        _system(builder, site, system, codes)

    etree.indent(root, space="  ")
    return DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False) + b"\n"


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate_notification_xml(xml) -> list[str]:
    """The schema violations of a notification file (``[]`` when it is valid), one message per error."""
    content = xml.encode() if isinstance(xml, str) else bytes(xml)
    try:
        document = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: {exc.msg}"]
    schema = _schema()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]
