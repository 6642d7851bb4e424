"""The data of a § 146a (4) AO notification of one Betriebsstätte (legal.md §8.3), as JSON.

``notification_data(betriebsstaette, as_of)`` returns the taxpayer header, the Betriebsstätte and
every recording system (cash register) whose outlet belongs to it — the gross list: decommissioned
systems stay in the list with their decommissioning date and reason; ``system_count`` counts those
still in use as of ``as_of``. ``problems`` names what ELSTER needs but is missing or invalid; the
file is generated anyway and the page shows them. Four queries, whatever the number of systems.
"""

import re
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext

from exports.models import CashRegister
from tenants.models import Betriebsstaette, LegalForm
from tenants.services.premises import split_street_and_house_number
from tenants.validators import is_valid_tax_number, is_valid_w_idnr
from tse.models import SigningUnitState

__all__ = ["bsi_id", "notification_data", "tse_commissioned_on", "unassigned_registers"]

NATURAL_PERSON_FORMS = frozenset({LegalForm.EINZELUNTERNEHMEN, LegalForm.EK})
_BSI_ID = re.compile(r"([0-9]{4}-[0-9]{4})")
_HEX_SERIAL = re.compile(r"^[0-9a-f]{64}$")
_MERCHANT_SUFFIX = re.compile(r"\s*,?\s*(e\.\s?K(fm|fr)?\.?|e\.\s?Kfm\.|e\.\s?Kfr\.)\s*$", re.IGNORECASE)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _berlin_date(moment) -> date | None:
    return timezone.localdate(moment) if moment is not None else None


def bsi_id(certification_id: str) -> str:
    """``BSI-K-TR-0403-2021`` -> ``0403-2021``; "" when there is none."""
    match = _BSI_ID.search(certification_id or "")
    return match.group(1) if match else ""


def tse_commissioned_on(client) -> date | None:
    """The day the TSE of ``client`` took over for its register: the later of the unit's initialization
    and the client's registration (a replacement registers the POS at the new unit that day)."""
    unit = client.signing_unit
    if unit.state == SigningUnitState.UNINITIALIZED or unit.initialized_at is None:
        return None
    return max(_berlin_date(unit.initialized_at), _berlin_date(client.created_at))


def _person_name(name: str) -> tuple[str, str]:
    """First and last name of a sole proprietor from the company name (legal suffix removed)."""
    words = _MERCHANT_SUFFIX.sub("", name or "").split()
    if len(words) < 2:
        return "", " ".join(words)
    return " ".join(words[:-1]), words[-1]


def unassigned_registers(organization):
    """Cash registers in use whose outlet has no Betriebsstätte: they are in no notification."""
    return (CashRegister.unscoped.filter(organization_id=organization.pk, decommissioned_at__isnull=True,
                                         outlet__betriebsstaette__isnull=True)
            .select_related("client", "outlet").order_by("client__client_id", "pk"))


class _Problems(list):
    def add(self, path: str, code: str, message: str) -> None:
        self.append({"path": path, "code": code, "message": message})

    def missing(self, path: str, label: str) -> None:
        self.add(path, "E_MISSING", gettext("%(field)s is missing.") % {"field": label})


def _taxpayer(organization, problems: _Problems) -> dict:
    street, house_number = split_street_and_house_number(organization.street)
    natural = organization.legal_form in NATURAL_PERSON_FORMS
    first_name, last_name = _person_name(organization.name) if natural else ("", "")
    data = {
        "tax_number": organization.tax_number,
        "w_idnr": organization.w_idnr,
        "name": organization.name,
        "natural_person": natural,
        "first_name": first_name,
        "last_name": last_name,
        "street": street,
        "house_number": house_number,
        "postal_code": organization.postal_code,
        "city": organization.city,
        "country": organization.country,
    }
    if not organization.tax_number:
        problems.add("/taxpayer/tax_number", "E_MISSING", gettext(
            "The tax number (Steuernummer) of the company is missing; the VAT id cannot replace it."))
    elif not is_valid_tax_number(organization.tax_number):
        problems.add("/taxpayer/tax_number", "E_INVALID",
                     gettext("The tax number is not in the format of a German tax office."))
    if organization.w_idnr and not is_valid_w_idnr(organization.w_idnr):
        problems.add("/taxpayer/w_idnr", "E_INVALID",
                     gettext("The W-IdNr. is not valid (DE, 9 digits, hyphen, 5 digits)."))
    if not organization.name:
        problems.missing("/taxpayer/name", gettext("The company name"))
    if natural and not first_name:
        problems.missing("/taxpayer/first_name", gettext("The first name of the sole proprietor"))
    labels = {"street": gettext("The street of the company address"),
              "house_number": gettext("The house number of the company address"),
              "postal_code": gettext("The postal code of the company address"),
              "city": gettext("The city of the company address")}
    for name, label in labels.items():
        if not data[name]:
            problems.missing(f"/taxpayer/{name}", label)
    return data


def _betriebsstaette(betriebsstaette, problems: _Problems) -> dict:
    data = {
        "id": str(betriebsstaette.public_id),
        "name": betriebsstaette.name,
        "street": betriebsstaette.street,
        "house_number": betriebsstaette.house_number,
        "postal_code": betriebsstaette.postal_code,
        "city": betriebsstaette.city,
        "country": betriebsstaette.country,
        "closed_on": _iso(betriebsstaette.closed_on),
        "remarks": betriebsstaette.remarks,
    }
    labels = {"name": gettext("The name of the Betriebsstätte"),
              "street": gettext("The street of the Betriebsstätte"),
              "house_number": gettext("The house number of the Betriebsstätte"),
              "postal_code": gettext("The postal code of the Betriebsstätte"),
              "city": gettext("The city of the Betriebsstätte")}
    for name, label in labels.items():
        if not data[name]:
            problems.missing(f"/betriebsstaette/{name}", label)
    return data


def _tse(client, path: str, problems: _Problems) -> dict:
    unit = client.signing_unit
    serial = (unit.serial_number or "").lower()
    data = {
        "serial_number": serial,
        "bsi_id": bsi_id(unit.bsi_certification_id),
        "form_factor": unit.form_factor,
        "commissioned_on": _iso(tse_commissioned_on(client)),
    }
    if not serial:
        problems.missing(f"{path}/serial_number", gettext("The serial number of the TSE"))
    elif not _HEX_SERIAL.match(serial):
        problems.add(f"{path}/serial_number", "E_INVALID",
                     gettext("The serial number of the TSE is not 64 hexadecimal characters."))
    if not data["bsi_id"]:
        problems.add(f"{path}/bsi_id", "E_MISSING", gettext(
            "The TSE has no BSI certification id (a software TSE is not certified)."))
    if not data["form_factor"]:
        problems.missing(f"{path}/form_factor", gettext("The form factor of the TSE (USB, SD, cloud)"))
    if data["commissioned_on"] is None:
        problems.add(f"{path}/commissioned_on", "E_MISSING", gettext("The TSE is not initialized yet."))
    return data


def _system(register, index: int, as_of: date, closed_on: date | None, problems: _Problems) -> dict:
    version = register.pos_system_version
    system = version.pos_system
    created = _berlin_date(register.created_at)
    decommissioned = _berlin_date(register.decommissioned_at)
    if decommissioned is not None and decommissioned > as_of:
        decommissioned = None
    path = f"/systems/{index}"
    data = {
        "cash_register": str(register.public_id),
        "type": system.system_type,
        "software": version.software_name,
        "software_version": version.software_version,
        "serial_number": register.client.client_id,
        "manufacturer": system.brand,
        "model": system.model,
        "acquired_on": _iso(register.acquired_on or created),
        "commissioned_on": _iso(register.commissioned_on or created),
        "decommissioned_on": _iso(decommissioned),
        "decommission_reason": register.decommission_reason if decommissioned else "",
        "decommission_note": register.decommission_note if decommissioned else "",
        "tse": _tse(register.client, f"{path}/tse", problems),
    }
    if decommissioned is not None and not data["decommission_reason"]:
        problems.missing(f"{path}/decommission_reason", gettext("The reason for decommissioning %(serial)s") % {
            "serial": data["serial_number"]})
    if closed_on is not None and closed_on <= as_of and decommissioned is None:
        problems.add(f"{path}/decommissioned_on", "E_ACTIVE_AFTER_CLOSING", gettext(
            "The Betriebsstätte is closed but %(serial)s is not decommissioned.") % {"serial": data["serial_number"]})
    return data


def notification_data(betriebsstaette, as_of: date | None = None) -> dict:
    """The notification data of ``betriebsstaette`` as of ``as_of`` (default: today in Berlin)."""
    as_of = as_of or timezone.localdate()
    betriebsstaette = Betriebsstaette.unscoped.select_related("organization").get(pk=betriebsstaette.pk)
    organization = betriebsstaette.organization
    problems = _Problems()
    taxpayer = _taxpayer(organization, problems)
    premises = _betriebsstaette(betriebsstaette, problems)
    registers = (CashRegister.unscoped.filter(outlet__betriebsstaette_id=betriebsstaette.pk)
                 .select_related("client__signing_unit", "pos_system_version__pos_system")
                 .order_by("client__client_id", "pk"))
    systems = [_system(register, index, as_of, betriebsstaette.closed_on, problems)
               for index, register in enumerate(registers)]
    if not systems:
        problems.add("/systems", "E_NO_SYSTEMS", gettext("No cash register is assigned to this Betriebsstätte."))
    for register in unassigned_registers(organization):
        problems.add("/systems", "E_OUTLET_WITHOUT_BETRIEBSSTAETTE", gettext(
            "Cash register %(serial)s is at outlet %(outlet)s, which belongs to no Betriebsstätte: it is in no "
            "notification.") % {"serial": register.client.client_id, "outlet": str(register.outlet)})
    return {
        "as_of": as_of.isoformat(),
        "taxpayer": taxpayer,
        "betriebsstaette": premises,
        "system_count": sum(1 for system in systems if system["decommissioned_on"] is None),
        "systems": systems,
        "problems": list(problems),
    }
