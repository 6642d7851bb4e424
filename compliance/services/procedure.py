"""Procedure documentation (Verfahrensdokumentation, GoBD Rz. 151–155) of an operator.

The operator writes the free-text sections (``SECTIONS``: what the GoBD expects in each); the portal
adds what it knows itself, as of the moment of generation: company master data, Betriebsstätten and
outlets, recording systems, TSEs with their certification evidence, the export procedure with the
latest archives and their SHA-256, the outage log of the last ten years, the configuration history
(the programming change log) and the tax-office notifications submitted.

``generate_document`` stores all of it as the next ``ProcedureDocument`` (number under a row lock):
``content`` (the JSON), ``html`` (``templates/compliance/procedure/document.html``, self-contained and
printable), the PDF (``compliance.services.procedure_pdf``) and its SHA-256. A version is only made
when the content differs from the latest one (else ``E_UNCHANGED``): every version in the list is a
real change. Versions are append-only (PostgreSQL trigger).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compliance.models import NachschauBundle, ProcedureDocument, ProcedureSections, TaxOfficeNotification
from portal.services.audit import actor_identity, log_action, register_action_labels

__all__ = [
    "CONTENT_FORMAT",
    "NOTE_MAX_LENGTH",
    "OUTAGE_YEARS",
    "RETENTION_YEARS",
    "SECTIONS",
    "SECTION_KEYS",
    "SECTION_MAX_LENGTH",
    "ProcedureError",
    "Section",
    "diff_versions",
    "document_content",
    "document_file_name",
    "generate_document",
    "open_pdf",
    "organization_documents",
    "presentation",
    "save_sections",
    "section_texts",
]

register_action_labels({
    "compliance.procedure_sections.saved": _("Procedure documentation texts changed"),
    "compliance.procedure_document.generated": _("Procedure documentation version generated"),
})

CONTENT_FORMAT = 1
SECTION_MAX_LENGTH = 20_000
NOTE_MAX_LENGTH = 300
OUTAGE_YEARS = 10
RETENTION_YEARS = 10
LATEST_EXPORTS = 10
BSI_PREFIX = "BSI-K-TR-"


@dataclass(frozen=True)
class Section:
    key: str
    title: object  # lazy translation
    guidance: object  # lazy translation: what the GoBD expects here


SECTIONS = (
    Section("general", _("General description"), _(
        "The business and its locations, who is responsible for the cash registers and for this documentation "
        "(names, functions, deputies), which tasks are outsourced (dealer, tax adviser, cloud services).")),
    Section("cash_handling", _("Cash register operation"), _(
        "User documentation: who may work at the till, who may cancel or void receipts and how (reason, "
        "approval), training mode and how training receipts are marked, opening and closing routine, cash "
        "counts (Kassensturz), daily closing (Z report), how cash withdrawals and deposits are recorded.")),
    Section("organisation", _("Internal control system and change management"), _(
        "Internal control system (IKS): checks, dual control, rights and roles in the POS. Change management "
        "of the POS programming: who may change articles, prices, VAT keys and users, how changes are "
        "requested, tested, approved and logged (the portal's configuration history is listed below).")),
    Section("data_backup", _("Data backup and archiving"), _(
        "Operations documentation: where the records are kept, backup intervals and media, who checks the "
        "backups, how archives stay readable and machine-evaluable for the retention period of ten years, "
        "what happens to replaced TSEs and old POS hardware.")),
    Section("outages", _("Procedure during TSE or POS outages"), _(
        "What staff do when the TSE or the POS fails: how receipts are issued and recorded meanwhile "
        "(emergency receipts, manual records), whom they inform, how the records are entered afterwards and "
        "how the outage is documented (the portal's outage log is listed below).")),
    Section("other", _("Other notes"), _(
        "Anything else the tax office should know: special business processes, open tabs, vouchers, "
        "deviations from the standard procedure, references to further documents.")),
)
SECTION_KEYS = tuple(section.key for section in SECTIONS)


class ProcedureError(Exception):
    """A request that cannot be done; ``code`` is stable (``E_…``), ``errors`` maps section keys to messages."""

    def __init__(self, code: str, message: str, errors: dict | None = None, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.errors = errors or {}
        self.status = status


def _user(actor):
    return actor_identity(actor).user


# --- free-text sections -----------------------------------------------------------------------


def section_texts(organization) -> dict[str, str]:
    """The operator's texts by section key (every known key, "" when not written yet)."""
    row = ProcedureSections.objects.filter(organization=organization).first()
    stored = row.sections if row is not None else {}
    return {key: str(stored.get(key, "")) for key in SECTION_KEYS}


def _clean_sections(sections) -> dict[str, str]:
    if not isinstance(sections, dict):
        raise ProcedureError("E_INVALID", gettext("The sections must be given as texts by section."))
    errors = {}
    cleaned = {}
    for key, value in sections.items():
        if key not in SECTION_KEYS:
            errors[str(key)] = gettext("There is no section “%(key)s”.") % {"key": key}
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[key] = gettext("The text of a section must be text.")
            continue
        text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if len(text) > SECTION_MAX_LENGTH:
            errors[key] = gettext("At most %(limit)d characters (%(length)d given).") % {
                "limit": SECTION_MAX_LENGTH, "length": len(text)}
            continue
        cleaned[key] = text
    if errors:
        unknown = [key for key in errors if key not in SECTION_KEYS]
        code = "E_UNKNOWN_SECTION" if unknown else "E_INVALID"
        raise ProcedureError(code, gettext("The texts could not be saved."), errors)
    return cleaned


def save_sections(actor, organization, sections: dict) -> ProcedureSections:
    """Store the given section texts (only known keys; missing keys keep their text); audited when changed."""
    cleaned = _clean_sections(sections)
    with transaction.atomic():
        row, _created = ProcedureSections.unscoped.select_for_update().get_or_create(organization=organization)
        before = {key: str(row.sections.get(key, "")) for key in SECTION_KEYS}
        after = {**before, **cleaned}
        changed = [key for key in SECTION_KEYS if before[key] != after[key]]
        if changed or _created:
            row.sections = {key: after[key] for key in SECTION_KEYS}
            row.updated_by = _user(actor)
            row.save()
        if changed:
            log_action("compliance.procedure_sections.saved", actor, organization, row,
                       {"changed": changed, "lengths": {key: len(after[key]) for key in changed}})
    return row


# --- the portal's own data --------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(microsecond=0).isoformat()
    return value.isoformat()


def _berlin_date(value) -> str | None:
    return timezone.localdate(value).isoformat() if value is not None else None


def _address(row) -> dict:
    return {"street": row.street, "house_number": getattr(row, "house_number", ""), "postal_code": row.postal_code,
            "city": row.city, "country": row.country}


def _company(organization) -> dict:
    return {"name": organization.name, "legal_form": organization.legal_form, **_address(organization),
            "tax_number": organization.tax_number, "vat_id": organization.vat_id, "w_idnr": organization.w_idnr,
            "email": organization.email, "phone": organization.phone}


def _outlet(outlet) -> dict:
    return {"id": str(outlet.public_id), "number": outlet.number, "name": outlet.name, **_address(outlet),
            "closed_on": _iso(outlet.closed_on)}


def _premises(organization) -> tuple[list, list]:
    from tenants.models import Betriebsstaette, Outlet

    outlets = list(Outlet.objects.filter(organization=organization).order_by("number", "pk"))
    premises = []
    for row in Betriebsstaette.objects.filter(organization=organization).order_by("name", "pk"):
        premises.append({"id": str(row.public_id), "name": row.name, **_address(row), "remarks": row.remarks,
                         "closed_on": _iso(row.closed_on),
                         "outlets": [_outlet(o) for o in outlets if o.betriebsstaette_id == row.pk]})
    return premises, [_outlet(o) for o in outlets if o.betriebsstaette_id is None]


def _systems(organization) -> list[dict]:
    from exports.models import CashRegister

    registers = (CashRegister.objects.filter(organization=organization)
                 .select_related("client__signing_unit", "outlet__betriebsstaette",
                                 "pos_system_version__pos_system")
                 .order_by("client__client_id", "pk"))
    systems = []
    for register in registers:
        version = register.pos_system_version
        system = version.pos_system
        unit = register.client.signing_unit
        outlet = register.outlet
        systems.append({
            "id": str(register.public_id), "serial_number": register.client.client_id,
            "client_state": register.client.state,
            "outlet": f"{outlet.number} {outlet.name}",
            "betriebsstaette": outlet.betriebsstaette.name if outlet.betriebsstaette_id else "",
            "pos_system": system.name, "type": system.system_type, "manufacturer": system.brand,
            "model": system.model, "software": version.software_name, "software_version": version.software_version,
            "acquired_on": _iso(register.acquired_on) or _berlin_date(register.created_at),
            "commissioned_on": _iso(register.commissioned_on) or _berlin_date(register.created_at),
            "decommissioned_on": _berlin_date(register.decommissioned_at),
            "decommission_reason": register.decommission_reason, "decommission_note": register.decommission_note,
            "tse": unit.serial_number or unit.reference or str(unit.public_id),
        })
    return systems


def _bsi_id(certification_id: str) -> str:
    value = (certification_id or "").strip()
    return value[len(BSI_PREFIX):] if value.upper().startswith(BSI_PREFIX) else value


def _tses(organization) -> list[dict]:
    from tse.models import BsiCertification, SigningUnit

    units = list(SigningUnit.objects.filter(organization=organization).select_related("outlet")
                 .prefetch_related("clients").order_by("reference", "created_at", "pk"))
    ids = {unit.bsi_certification_id for unit in units if unit.bsi_certification_id}
    certifications = {row.certification_id: row for row in BsiCertification.objects.filter(certification_id__in=ids)}
    rows = []
    for unit in units:
        certification = certifications.get(unit.bsi_certification_id)
        rows.append({
            "id": str(unit.public_id), "reference": unit.reference, "description": unit.description,
            "backend": unit.backend, "mode": unit.mode, "state": unit.state,
            "serial_number": unit.serial_number, "bsi_id": _bsi_id(unit.bsi_certification_id),
            "product": certification.product if certification else "",
            "certification_valid_until": _iso(certification.valid_until) if certification else None,
            "form_factor": unit.form_factor, "signature_algorithm": unit.signature_algorithm,
            "certificate_expires_on": _berlin_date(unit.certificate_expires_at),
            "initialized_on": _berlin_date(unit.initialized_at),
            "outlet": f"{unit.outlet.number} {unit.outlet.name}" if unit.outlet_id else "",
            "clients": sorted(client.client_id for client in unit.clients.all()),
        })
    return rows


def _exports(organization) -> dict:
    from exports.models import DsfinvkExport, DsfinvkExportState
    from tse.models import ExportState, TarExport

    dsfinvk = (DsfinvkExport.objects.filter(organization=organization, state=DsfinvkExportState.COMPLETED)
               .order_by("-finished_at", "-pk")[:LATEST_EXPORTS])
    tar = (TarExport.objects.filter(organization=organization, state=ExportState.COMPLETED)
           .select_related("signing_unit").order_by("-finished_at", "-pk")[:LATEST_EXPORTS])
    bundles = (NachschauBundle.objects.filter(organization=organization, state="COMPLETED")
               .select_related("betriebsstaette").order_by("-finished_at", "-pk")[:LATEST_EXPORTS])
    return {
        "retention_years": RETENTION_YEARS,
        "dsfinvk": [{"id": str(row.public_id), "kind": row.kind, "date_from": _iso(row.date_from),
                     "date_to": _iso(row.date_to), "finished_at": _iso(row.finished_at), "sha256": row.sha256,
                     "retain_until": _iso(row.retain_until)} for row in dsfinvk],
        "tar": [{"id": str(row.public_id), "tse": row.signing_unit.serial_number or row.signing_unit.reference,
                 "scheduled": row.scheduled, "start_time": _iso(row.start_time), "end_time": _iso(row.end_time),
                 "finished_at": _iso(row.finished_at), "sha256": row.sha256, "retain_until": _iso(row.retain_until)}
                for row in tar],
        "nachschau": [{"id": str(row.public_id), "betriebsstaette": row.betriebsstaette.name,
                       "date_from": _iso(row.date_from), "date_to": _iso(row.date_to),
                       "finished_at": _iso(row.finished_at), "sha256": row.sha256,
                       "retain_until": _iso(row.retain_until)} for row in bundles],
    }


def _outages(organization, now: datetime) -> list[dict]:
    from tse.models import Outage

    since = now - timedelta(days=365 * OUTAGE_YEARS + OUTAGE_YEARS // 4)
    rows = (Outage.objects.filter(organization=organization, started_at__gte=since).select_related("signing_unit")
            .order_by("-started_at", "-pk"))
    return [{"tse": row.signing_unit.serial_number or row.signing_unit.reference,
             "tse_reference": row.signing_unit.reference, "started_at": _iso(row.started_at),
             "ended_at": _iso(row.ended_at), "reason": row.reason, "error_code": row.error_code,
             "failed_signings": row.failed_signings} for row in rows]


def _configuration(organization) -> list[dict]:
    from tenants.models import ConfigurationVersion

    versions = (ConfigurationVersion.objects.filter(organization=organization)
                .select_related("actor_user", "actor_api_key", "acting_organization").defer("document")
                .order_by("number"))
    return [{"number": row.number, "changed_at": _iso(row.created_at),
             "user": row.actor_user.full_name or row.actor_user.email if row.actor_user_id else "",
             "api_key": row.actor_api_key.name if row.actor_api_key_id else "",
             "on_behalf": row.acting_organization.name if row.acting_organization_id else "",
             "source": row.source, "summary": row.summary, "changes": len(row.changes or []),
             "digest": row.digest} for row in versions]


def _notifications(organization) -> list[dict]:
    rows = (TaxOfficeNotification.objects.filter(organization=organization)
            .select_related("betriebsstaette", "submission").order_by("betriebsstaette__name", "number"))
    result = []
    for row in rows:
        submission = getattr(row, "submission", None)
        result.append({"id": str(row.public_id), "betriebsstaette": row.betriebsstaette.name, "number": row.number,
                       "as_of": _iso(row.as_of), "generated_on": _berlin_date(row.created_at), "sha256": row.sha256,
                       "submitted_on": _iso(submission.submitted_on) if submission else None,
                       "transfer_ticket": submission.transfer_ticket if submission else ""})
    return result


def document_content(organization, now: datetime | None = None) -> dict:
    """Everything the documentation holds, as JSON-ready data (no generation time: equal data, equal content)."""
    now = now or timezone.now()
    premises, unassigned = _premises(organization)
    content = {
        "format": CONTENT_FORMAT,
        "company": _company(organization),
        "premises": premises,
        "unassigned_outlets": unassigned,
        "systems": _systems(organization),
        "tses": _tses(organization),
        "exports": _exports(organization),
        "outages": _outages(organization, now),
        "configuration": _configuration(organization),
        "notifications": _notifications(organization),
        "sections": section_texts(organization),
    }
    return json.loads(json.dumps(content, ensure_ascii=False))


def diff_versions(a: dict, b: dict) -> list[str]:
    """The parts of the content (top-level keys; ``sections.<key>`` for texts) that differ between ``a`` and ``b``."""
    changed = []
    for key in sorted(set(a) | set(b)):
        if key == "sections":
            texts_a, texts_b = a.get(key) or {}, b.get(key) or {}
            changed += [f"sections.{name}" for name in SECTION_KEYS if texts_a.get(name, "") != texts_b.get(name, "")]
        elif a.get(key) != b.get(key):
            changed.append(key)
    return changed


# --- presentation (shared by HTML and PDF) ------------------------------------------------------


def _display(value) -> str:
    """ISO dates and times as German dates (dd.mm.yyyy [HH:MM]), ``None``/"" as a dash."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text).strftime("%d.%m.%Y")
        if len(text) > 10 and text[10] == "T":
            return datetime.fromisoformat(text).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        pass
    return text


def _label(choices, value) -> str:
    if not value:
        return "—"
    return str(dict(choices.choices).get(value, value))


def _street(row: dict) -> str:
    street = " ".join(part for part in (row.get("street", ""), row.get("house_number", "")) if part)
    city = " ".join(part for part in (row.get("postal_code", ""), row.get("city", "")) if part)
    return ", ".join(part for part in (street, city, row.get("country", "") if row.get("country") != "DE" else "")
                     if part)


def _table(key, title, intro, headers, rows, empty) -> dict:
    return {"key": key, "title": title, "intro": intro, "headers": headers,
            "rows": [[_display(cell) for cell in row] for row in rows], "empty": empty}


def _company_rows(company: dict) -> list[tuple[str, str]]:
    from tenants.models import LegalForm

    rows = [(gettext("Company name"), company["name"]),
            (gettext("Legal form"), _label(LegalForm, company["legal_form"])), (gettext("Address"), _street(company)),
            (gettext("Tax number"), company["tax_number"]),
            (gettext("VAT id"), company["vat_id"]), (gettext("Business id (W-IdNr.)"), company["w_idnr"]),
            (gettext("E-mail"), company["email"]), (gettext("Phone"), company["phone"])]
    return [(label, _display(value)) for label, value in rows]


def _premises_table(content) -> dict:
    rows = []
    for premises in content["premises"]:
        rows.append([gettext("Betriebsstätte"), premises["name"], _street(premises), premises["closed_on"],
                     premises["remarks"]])
        for outlet in premises["outlets"]:
            rows.append([gettext("Outlet"), f"{outlet['number']} {outlet['name']}", _street(outlet),
                         outlet["closed_on"], gettext("in %(name)s") % {"name": premises["name"]}])
    for outlet in content["unassigned_outlets"]:
        rows.append([gettext("Outlet"), f"{outlet['number']} {outlet['name']}", _street(outlet), outlet["closed_on"],
                     gettext("not assigned to a Betriebsstätte")])
    return _table("premises", gettext("Betriebsstätten and outlets"), "",
                  [gettext("Kind"), gettext("Name"), gettext("Address"), gettext("Closed on"), gettext("Remarks")],
                  rows, gettext("No Betriebsstätte or outlet recorded."))


def _systems_table(content) -> dict:
    from exports.models import DecommissionReason
    from tenants.models import PosSystemType

    rows = [[s["serial_number"], s["betriebsstaette"] or "—", s["outlet"], _label(PosSystemType, s["type"]),
             f"{s['manufacturer']} {s['model']}", f"{s['software']} {s['software_version']}", s["acquired_on"],
             s["commissioned_on"],
             " ".join(part for part in (_display(s["decommissioned_on"]) if s["decommissioned_on"] else "",
                                        _label(DecommissionReason, s["decommission_reason"])
                                        if s["decommission_reason"] else "", s["decommission_note"]) if part) or "—",
             s["tse"]] for s in content["systems"]]
    return _table("systems", gettext("Recording systems (cash registers)"), gettext(
        "Every cash register recorded in the portal, also decommissioned ones. The serial number is the client id "
        "registered at the TSE."),
        [gettext("Serial number"), gettext("Betriebsstätte"), gettext("Outlet"), gettext("Type"),
         gettext("Manufacturer and model"), gettext("Software and version"), gettext("Acquired on"),
         gettext("Commissioned on"), gettext("Decommissioned"), gettext("TSE")],
        rows, gettext("No cash register recorded."))


def _tses_table(content) -> dict:
    from tse.models import BackendType, FormFactor, SigningUnitState

    rows = [[t["serial_number"] or t["reference"], t["bsi_id"] or gettext("not certified / unknown"),
             t["product"], _label(FormFactor, t["form_factor"]), _label(BackendType, t["backend"]),
             t["certification_valid_until"], t["certificate_expires_on"], _label(SigningUnitState, t["state"]),
             t["initialized_on"], t["outlet"], ", ".join(t["clients"])] for t in content["tses"]]
    return _table("tses", gettext("Technical security systems (TSE)"), gettext(
        "Certification evidence: the BSI certification id of each TSE, the validity of the product certification "
        "and the expiry of the TSE's certificate."),
        [gettext("Serial number"), gettext("BSI id"), gettext("Product"), gettext("Form factor"), gettext("Kind"),
         gettext("Certification valid until"), gettext("Certificate expires on"), gettext("State"),
         gettext("Initialized on"), gettext("Outlet"), gettext("Clients")],
        rows, gettext("No TSE recorded."))


def _exports_tables(content) -> list[dict]:
    from exports.models import DsfinvkExportKind

    exports = content["exports"]
    return [
        _table("dsfinvk_exports", gettext("Latest DSFinV-K exports"), "",
               [gettext("Kind"), gettext("From"), gettext("Until"), gettext("Stored at"), gettext("Retain until"),
                gettext("SHA-256")],
               [[_label(DsfinvkExportKind, row["kind"]), row["date_from"], row["date_to"], row["finished_at"],
                 row["retain_until"], row["sha256"]] for row in exports["dsfinvk"]],
               gettext("No DSFinV-K export stored yet.")),
        _table("tar_exports", gettext("Latest TSE exports (TAR)"), "",
               [gettext("TSE"), gettext("Monthly"), gettext("From"), gettext("Until"), gettext("Stored at"),
                gettext("Retain until"), gettext("SHA-256")],
               [[row["tse"], row["scheduled"], row["start_time"], row["end_time"], row["finished_at"],
                 row["retain_until"], row["sha256"]] for row in exports["tar"]],
               gettext("No TAR export stored yet.")),
        _table("nachschau_bundles", gettext("Latest Kassen-Nachschau bundles"), "",
               [gettext("Betriebsstätte"), gettext("From"), gettext("Until"), gettext("Stored at"),
                gettext("Retain until"), gettext("SHA-256")],
               [[row["betriebsstaette"], row["date_from"], row["date_to"], row["finished_at"], row["retain_until"],
                 row["sha256"]] for row in exports["nachschau"]],
               gettext("No Kassen-Nachschau bundle made yet.")),
    ]


def _outages_table(content) -> dict:
    from tse.models import OutageReason

    rows = [[row["tse"], row["started_at"], row["ended_at"] or gettext("still open"),
             _label(OutageReason, row["reason"]), row["error_code"], row["failed_signings"]]
            for row in content["outages"]]
    return _table("outages", gettext("Outage log"), gettext(
        "Every TSE outage of the last %(years)d years as recorded automatically by the portal: start, end, reason "
        "and the number of signings that failed (receipts marked as unsigned).") % {"years": OUTAGE_YEARS},
        [gettext("TSE"), gettext("Start"), gettext("End"), gettext("Reason"), gettext("Error code"),
         gettext("Failed signings")], rows, gettext("No outage recorded."))


def _configuration_table(content) -> dict:
    from tenants.models import ConfigurationSource

    rows = []
    for row in content["configuration"]:
        who = row["user"] or (gettext("API key “%(name)s”") % {"name": row["api_key"]} if row["api_key"]
                              else gettext("system"))
        if row["on_behalf"]:
            who = gettext("%(who)s (on behalf, by %(dealer)s)") % {"who": who, "dealer": row["on_behalf"]}
        rows.append([row["number"], row["changed_at"], who, _label(ConfigurationSource, row["source"]),
                     row["summary"], row["changes"]])
    return _table("configuration", gettext("Configuration history (change log of the POS set-up)"), gettext(
        "Every change of the fiscal configuration (Betriebsstätten, outlets, TSEs, clients, cash registers) is "
        "stored by the portal as a numbered version with who, when and how; each version can be shown with its "
        "changes in the portal."),
        [gettext("Version"), gettext("Changed at"), gettext("Changed by"), gettext("Source"), gettext("Summary"),
         gettext("Changes")], rows, gettext("No configuration version recorded."))


def _notifications_table(content) -> dict:
    rows = [[row["betriebsstaette"], row["number"], row["as_of"], row["generated_on"],
             row["submitted_on"] or gettext("not confirmed"), row["transfer_ticket"], row["sha256"]]
            for row in content["notifications"]]
    return _table("notifications", gettext("Notifications to the tax office (§ 146a (4) AO)"), "",
                  [gettext("Betriebsstätte"), gettext("Number"), gettext("As of"), gettext("Generated on"),
                   gettext("Submitted on"), gettext("ELSTER transfer ticket"), gettext("SHA-256")],
                  rows, gettext("No notification generated in the portal yet."))


def export_procedure_text() -> list[str]:
    return [
        gettext("DSFinV-K exports are made on demand on the export page and every month for the previous month; "
                "each archive is validated and stored with its SHA-256."),
        gettext("TSE exports (TAR, BSI TR-03153) are made every month for every TSE, and on demand."),
        gettext("For a Kassen-Nachschau the portal bundles, for a chosen Betriebsstätte and period, the DSFinV-K "
                "export, the TAR exports of its TSEs and a summary in one download."),
        gettext("Every archive is kept for %(years)d years and cannot be deleted before its retention date; it can "
                "be verified again at any time (hash and, for TARs, the signatures).") % {"years": RETENTION_YEARS},
    ]


def presentation(content: dict, *, generated_at, number, note="", generated_by="") -> dict:
    """What the HTML template and the PDF show: titles, the sections' texts and tables of display strings."""
    texts = content.get("sections") or {}
    return {
        "organization_name": content["company"]["name"],
        "number": number,
        "generated_at": timezone.localtime(generated_at).strftime("%d.%m.%Y %H:%M"),
        "generated_by": generated_by,
        "note": note,
        "company_rows": _company_rows(content["company"]),
        "sections": [{"key": s.key, "title": str(s.title), "text": texts.get(s.key, "")} for s in SECTIONS],
        "premises_table": _premises_table(content),
        "systems_table": _systems_table(content),
        "tses_table": _tses_table(content),
        "export_procedure": export_procedure_text(),
        "export_tables": _exports_tables(content),
        "outages_table": _outages_table(content),
        "configuration_table": _configuration_table(content),
        "notifications_table": _notifications_table(content),
    }


# --- versions ---------------------------------------------------------------------------------


def organization_documents(organization):
    return ProcedureDocument.objects.filter(organization=organization).select_related("created_by").order_by(
        "-number")


def document_file_name(document: ProcedureDocument) -> str:
    from django.utils.text import slugify

    name = slugify(document.organization.name) or str(document.organization.public_id)
    return f"verfahrensdokumentation-{name}-v{document.number}.pdf"


def open_pdf(document: ProcedureDocument):
    """The stored PDF, opened for reading; ``ProcedureError`` (``E_FILE_MISSING``) when it is gone."""
    if not document.pdf:
        raise ProcedureError("E_FILE_MISSING", gettext("The PDF of this version is missing."), status=404)
    try:
        return document.pdf.open("rb")
    except FileNotFoundError:
        raise ProcedureError("E_FILE_MISSING", gettext("The PDF of this version is missing."), status=404) from None


def _acting_name(actor, organization) -> str:
    acting_id = actor_identity(actor, organization).acting_organization_id
    if acting_id is None:
        return ""
    from tenants.models import Organization

    return Organization.unscoped.filter(pk=acting_id).values_list("name", flat=True).first() or ""


def generate_document(actor, organization, note: str = "") -> ProcedureDocument:
    """Store the next version, or ``ProcedureError`` ``E_UNCHANGED`` when nothing changed since the latest one."""
    from compliance.services.procedure_pdf import render_pdf
    from tenants.models import Organization

    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ProcedureError("E_INVALID", gettext("The change note may have at most %(limit)d characters.")
                             % {"limit": NOTE_MAX_LENGTH}, {"note": gettext("Too long.")})
    user = _user(actor)
    with transaction.atomic():
        Organization.unscoped.select_for_update().only("pk").get(pk=organization.pk)
        now = timezone.now()
        content = document_content(organization, now)
        previous = ProcedureDocument.unscoped.filter(organization=organization).order_by("-number").first()
        if previous is not None and previous.content == content:
            raise ProcedureError("E_UNCHANGED", gettext(
                "Nothing changed since version %(number)d: no new version was made.") % {"number": previous.number},
                status=409)
        number = previous.number + 1 if previous is not None else 1
        who = (user.full_name or user.email) if user is not None else ""
        acting = _acting_name(actor, organization)
        if acting:
            who = gettext("%(who)s (on behalf, by %(dealer)s)") % {"who": who or gettext("system"), "dealer": acting}
        with translation.override(_document_language()):
            shown = presentation(content, generated_at=now, number=number, note=note, generated_by=who)
            html = render_to_string("compliance/procedure/document.html", {"doc": shown})
            pdf = render_pdf(shown)
        document = ProcedureDocument(organization=organization, number=number, content=content, html=html,
                                     sha256=hashlib.sha256(pdf).hexdigest(), note=note, created_by=user)
        document.pdf.save(f"v{number}.pdf", ContentFile(pdf), save=False)
        document.save()
        log_action("compliance.procedure_document.generated", actor, organization, document, {
            "number": number, "sha256": document.sha256, "note": note,
            "changed": diff_versions(previous.content, content) if previous is not None else [],
        })
    return document


def _document_language() -> str:
    from django.conf import settings

    return settings.LANGUAGE_CODE
