"""DSFinV-K master data of a cash register: the snapshot a closing is exported with, and its revisions.

The snapshot is keyed by DSFinV-K column names, one section per master-data file::

    {"cashpointclosing": {NAME, STRASSE, PLZ, ORT, LAND, STNR, USTID},
     "location": {LOC_NAME, LOC_STRASSE, LOC_PLZ, LOC_ORT, LOC_LAND, LOC_USTID},
     "cashregister": {KASSE_BRAND, KASSE_MODELL, KASSE_SERIENNR, KASSE_SW_BRAND, KASSE_SW_VERSION,
                      KASSE_BASISWAEH_CODE, KEINE_UST_ZUORDNUNG},
     "slaves": [], "pa": [],
     "tse": [{TSE_ID, TSE_SERIAL, TSE_SIG_ALGO, TSE_ZEITFORMAT, TSE_PD_ENCODING, TSE_PUBLIC_KEY,
              "certificate": <base64 DER, split into TSE_ZERTIFIKAT_I… by the exporter>}],
     "vat": [{UST_SCHLUESSEL, UST_SATZ, UST_BESCHR, "slot": <processData slot>}]}

Numbers are decimal strings (``"19.00"``), integers ints, flags booleans. Values are taken as they
are — :func:`master_data_problems` lists those the DSFinV-K columns cannot hold, and a closing is
refused while there are any (nothing is ever truncated).
"""

import base64
import hashlib
import json

import pycountry
from django.db import transaction

from exports.dsfinvk import schema
from exports.dsfinvk.vat_keys import system_vat_rows
from exports.models import CashPointClosing, CashRegister, ClosingState, MasterDataRevision, VatDefinition
from tse.models import LogMessage
from tse.services.protocol import log_time_format, public_key_point

__all__ = ["closing_due", "current_master_data", "diff_master_data", "digest", "has_pending_change",
           "latest_revision", "master_data_problems", "revision_for_closing"]

PD_ENCODING = "UTF-8"
DEFAULT_TIME_FORMAT = "unixTime"
_SECTION_FILES = {"cashpointclosing": "cashpointclosing.csv", "location": "location.csv",
                  "cashregister": "cashregister.csv", "tse": "tse.csv", "vat": "vat.csv"}


def country_alpha3(alpha2: str) -> str:
    country = pycountry.countries.get(alpha_2=(alpha2 or "").upper())
    return country.alpha_3 if country is not None else (alpha2 or "")


def _address(place) -> str:
    return " ".join(part for part in (place.street, place.house_number) if part)


def _certificate_base64(pem: str) -> str:
    lines = [line.strip() for line in (pem or "").splitlines() if line.strip() and not line.startswith("-----")]
    return "".join(lines)


def _tse_rows(cash_register: CashRegister) -> list[dict]:
    unit = cash_register.client.signing_unit
    last_log = (LogMessage.unscoped.filter(signing_unit=unit).order_by("-signature_counter")
                .values_list("der", flat=True).first())
    time_format = log_time_format(bytes(last_log)) if last_log is not None else DEFAULT_TIME_FORMAT
    return [{
        "TSE_ID": 1,
        "TSE_SERIAL": unit.serial_number,
        "TSE_SIG_ALGO": unit.signature_algorithm,
        "TSE_ZEITFORMAT": time_format,
        "TSE_PD_ENCODING": PD_ENCODING,
        "TSE_PUBLIC_KEY": base64.b64encode(public_key_point(unit)).decode("ascii"),
        "certificate": _certificate_base64(unit.certificate),
    }]


def current_master_data(cash_register: CashRegister, day) -> dict:
    """The master data of ``cash_register`` as they are now, for a closing made on ``day`` (Berlin date)."""
    organization = cash_register.organization
    outlet = cash_register.outlet
    version = cash_register.pos_system_version
    pos_system = version.pos_system
    custom_vat = [{"UST_SCHLUESSEL": vat.key, "UST_SATZ": str(vat.rate), "UST_BESCHR": vat.description,
                   "slot": vat.slot}
                  for vat in VatDefinition.unscoped.filter(organization=organization).order_by("key")]
    return {
        "cashpointclosing": {
            "NAME": organization.name, "STRASSE": organization.street, "PLZ": organization.postal_code,
            "ORT": organization.city, "LAND": country_alpha3(organization.country),
            "STNR": organization.tax_number, "USTID": organization.vat_id,
        },
        "location": {
            "LOC_NAME": outlet.name, "LOC_STRASSE": _address(outlet), "LOC_PLZ": outlet.postal_code,
            "LOC_ORT": outlet.city, "LOC_LAND": country_alpha3(outlet.country), "LOC_USTID": organization.vat_id,
        },
        "cashregister": {
            "KASSE_BRAND": pos_system.brand, "KASSE_MODELL": pos_system.model,
            "KASSE_SERIENNR": cash_register.kasse_id, "KASSE_SW_BRAND": version.software_name,
            "KASSE_SW_VERSION": version.software_version, "KASSE_BASISWAEH_CODE": cash_register.base_currency,
            "KEINE_UST_ZUORDNUNG": cash_register.no_vat_assignment,
        },
        "slaves": [],
        "pa": [],
        "tse": _tse_rows(cash_register),
        "vat": system_vat_rows(day) + custom_vat,
    }


def digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _too_long(file: str, section: str, row: dict, problems: list[dict]) -> None:
    table = schema.table(file)
    for name, value in row.items():
        column = table.by_name.get(name)
        if column is None or column.is_numeric or not isinstance(value, str):
            continue
        if column.max_length is not None and len(value) > column.max_length:
            problems.append({"path": f"{section}.{name}", "code": "E_TOO_LONG",
                             "message": f"{name} holds at most {column.max_length} characters ({len(value)} given)"})


def master_data_problems(data: dict) -> list[dict]:
    """What the DSFinV-K columns cannot hold, as ``{path, code, message}`` (empty: all fine)."""
    problems: list[dict] = []
    for section, file in _SECTION_FILES.items():
        rows = data[section] if isinstance(data[section], list) else [data[section]]
        for row in rows:
            _too_long(file, section, row, problems)
    company = data["cashpointclosing"]
    if not company.get("STNR") and not company.get("USTID"):
        problems.append({"path": "cashpointclosing.STNR", "code": "E_TAX_ID_MISSING",
                         "message": "the operator needs a tax number or a VAT id (STNR or USTID)"})
    for tse in data["tse"]:
        if not tse.get("TSE_SERIAL") or not tse.get("TSE_PUBLIC_KEY"):
            problems.append({"path": "tse.TSE_SERIAL", "code": "E_TSE_NOT_INITIALIZED",
                             "message": "the signing unit of this cash register is not initialized"})
    if "/" in data["cashregister"]["KASSE_SERIENNR"] or "_" in data["cashregister"]["KASSE_SERIENNR"]:
        problems.append({"path": "cashregister.KASSE_SERIENNR", "code": "E_ILLEGAL_SERIAL",
                         "message": "KASSE_SERIENNR must not contain '/' or '_' (DSFinV-K 2.3)"})
    return problems


def latest_revision(cash_register: CashRegister) -> MasterDataRevision | None:
    return MasterDataRevision.unscoped.filter(cash_register=cash_register).order_by("-number").first()


def revision_for_closing(cash_register: CashRegister, day) -> MasterDataRevision:
    """The revision a closing made on ``day`` references: the latest one, or a new one if the data changed.

    Runs inside the caller's transaction; the cash register row is locked so two closings of one
    register never create the same revision number.
    """
    CashRegister.unscoped.select_for_update(of=("self",), no_key=True).filter(pk=cash_register.pk).first()
    data = current_master_data(cash_register, day)
    data_digest = digest(data)
    latest = latest_revision(cash_register)
    if latest is not None and latest.digest == data_digest:
        return latest
    with transaction.atomic():
        return MasterDataRevision.unscoped.create(
            organization_id=cash_register.organization_id, cash_register=cash_register,
            number=(latest.number + 1) if latest is not None else 1, data=data, digest=data_digest)


def closing_due(cash_register: CashRegister) -> bool:
    """True when the register signed transactions after its last accepted closing (or never closed)."""
    from tse.models import TransactionState, TseTransaction

    last = (CashPointClosing.unscoped.filter(cash_register=cash_register, state=ClosingState.COMPLETED)
            .order_by("-z_nr").values_list("export_creation_date", flat=True).first())
    signed = TseTransaction.unscoped.filter(client=cash_register.client, state=TransactionState.FINISHED)
    if last is not None:
        signed = signed.filter(time_end__gt=last)
    return signed.exists()


def has_pending_change(cash_register: CashRegister, day) -> bool:
    """The master data changed since the last revision while a closing is due (flag for the pages)."""
    latest = latest_revision(cash_register)
    if latest is None:
        return False
    return latest.digest != digest(current_master_data(cash_register, day)) and closing_due(cash_register)


_ROW_KEYS = {"tse": "TSE_ID", "vat": "UST_SCHLUESSEL"}


def _rows_by_key(section: str, rows: list) -> dict:
    key = _ROW_KEYS.get(section)
    return {(row.get(key) if key else index): row for index, row in enumerate(rows or ())}


def diff_master_data(old: dict | None, new: dict) -> list[dict]:
    """Field-by-field changes from snapshot ``old`` to ``new``: ``[{path, old, new}]`` in section order.

    Rows of the list sections are matched by ``TSE_ID`` / ``UST_SCHLUESSEL`` (by position for slaves
    and agencies); a missing value is ``None``. ``old=None`` (the first revision) lists nothing.
    """
    if old is None:
        return []
    changes: list[dict] = []

    def compare(prefix: str, before: dict, after: dict) -> None:
        for name in [*before, *(name for name in after if name not in before)]:
            if before.get(name) != after.get(name):
                changes.append({"path": f"{prefix}.{name}", "old": before.get(name), "new": after.get(name)})

    for section in [*new, *(name for name in old if name not in new)]:
        before, after = old.get(section), new.get(section)
        if isinstance(before, list) or isinstance(after, list):
            rows_before, rows_after = _rows_by_key(section, before), _rows_by_key(section, after)
            for key in [*rows_before, *(key for key in rows_after if key not in rows_before)]:
                compare(f"{section}[{key}]", rows_before.get(key) or {}, rows_after.get(key) or {})
        else:
            compare(section, before or {}, after or {})
    return changes
