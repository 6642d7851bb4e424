from django.db import migrations
from django.utils import timezone

COMMON_DE = """
§ 1 Gegenstand
Kassenportal (nachfolgend „Portal") stellt dem Vertragspartner ein Webportal und Programmierschnittstellen für die Fiskalisierung elektronischer Aufzeichnungssysteme nach § 146a AO und der KassenSichV bereit.

§ 2 Pflichten des Vertragspartners
Der Vertragspartner hält seine Zugangsdaten geheim, schützt Konten von Inhabern und Administratoren mit Zwei-Faktor-Authentifizierung und pflegt seine Stammdaten vollständig und richtig. Er ist für die steuerliche Ordnungsmäßigkeit seiner Aufzeichnungen selbst verantwortlich; das Portal ersetzt keine Steuerberatung.

§ 3 Daten und Aufbewahrung
Das Portal verarbeitet die Daten des Vertragspartners nur zur Erfüllung dieses Vertrags. Fiskalische Daten (Protokolle, Exporte) werden unveränderbar gespeichert; der Vertragspartner bleibt für ihre Aufbewahrung nach § 147 AO verantwortlich und kann sie jederzeit exportieren.

§ 4 Laufzeit und Kündigung
Der Vertrag gilt auf unbestimmte Zeit. Er kann von beiden Seiten mit einer Frist von drei Monaten zum Monatsende gekündigt werden; die Kündigung durch den Vertragspartner erfolgt im Portal durch Eingabe des vollständigen Namens.

§ 5 Schlussbestimmungen
Es gilt deutsches Recht. Änderungen dieses Vertrags werden als neue Version veröffentlicht; erfordert eine Version eine erneute Zustimmung, ruht die Rolle bis zur Unterzeichnung.
"""

COMMON_EN = """
§ 1 Subject
Kassenportal ("the portal") provides the contracting party with a web portal and programming interfaces for the fiscalization of electronic recording systems under § 146a AO and the KassenSichV.

§ 2 Duties of the contracting party
The contracting party keeps its credentials secret, protects the accounts of owners and administrators with two-factor authentication and keeps its master data complete and correct. It remains responsible for the tax compliance of its records; the portal does not replace tax advice.

§ 3 Data and retention
The portal processes the contracting party's data only to fulfil this contract. Fiscal data (logs, exports) are stored unalterably; the contracting party remains responsible for retaining them under § 147 AO and can export them at any time.

§ 4 Term and termination
The contract runs for an indefinite period. Either side may terminate it with three months' notice to the end of a month; the contracting party terminates in the portal by typing its full name.

§ 5 Final provisions
German law applies. Changes to this contract are published as a new version; if a version requires renewed consent, the role is suspended until it is signed.
"""

CONTRACTS = [
    (
        "creator_cooperation",
        "Kooperationsvertrag für Kassenhersteller",
        "Cooperation contract for POS creators",
        "Der Kassenhersteller registriert seine Kassensysteme mit zutreffenden Stammdaten (Hersteller, Modell, "
        "Software und Version) und gibt sie Kassenhändlern frei. Er stellt sicher, dass seine Kassensysteme jeden "
        "Geschäftsvorfall über eine zertifizierte TSE absichern.",
        "The POS creator registers its POS systems with correct master data (manufacturer, model, software and "
        "version) and shares them with POS dealers. It ensures that its POS systems protect every business event "
        "with a certified TSE.",
    ),
    (
        "dealer_cooperation",
        "Kooperationsvertrag für Kassenhändler",
        "Cooperation contract for POS dealers",
        "Der Kassenhändler lädt Kassenbetreiber ein und handelt in deren Konto nur im Rahmen der ihm erteilten "
        "Zugriffsrechte. Jede Handlung im Namen eines Kassenbetreibers wird protokolliert. Preise und Rabatte "
        "ergeben sich aus dem jeweiligen Rahmenvertrag.",
        "The POS dealer invites POS operators and acts in their accounts only within the access rights granted to "
        "it. Every action on behalf of a POS operator is logged. Prices and discounts follow from the framework "
        "contract in force.",
    ),
    (
        "operator_usage",
        "Nutzungsvereinbarung für Kassenbetreiber",
        "Usage agreement for POS operators",
        "Der Kassenbetreiber nutzt das Portal für seine elektronischen Aufzeichnungssysteme. Er kann Kassenhändlern "
        "einzelne Zugriffsrechte erteilen und jederzeit widerrufen; ein Widerruf wirkt sofort.",
        "The POS operator uses the portal for its electronic recording systems. It may grant POS dealers individual "
        "access rights and revoke them at any time; a revocation takes effect at once.",
    ),
]


def create(apps, schema_editor):
    ContractVersion = apps.get_model("tenants", "ContractVersion")
    now = timezone.now()
    for kind, title_de, title_en, role_de, role_en in CONTRACTS:
        ContractVersion.objects.get_or_create(
            kind=kind,
            version=1,
            defaults={
                "title_de": title_de,
                "title_en": title_en,
                "text_de": (role_de + "\n" + COMMON_DE).strip(),
                "text_en": (role_en + "\n" + COMMON_EN).strip(),
                "published_at": now,
            },
        )


class Migration(migrations.Migration):
    """Version 1 of the three role contracts, so roles can be activated on a new installation."""

    dependencies = [("tenants", "0003_signatures_append_only")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
