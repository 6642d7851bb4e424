"""Value-level checks the single-file format check cannot make (reference/dsfinvk.md §6, §7):
enumerations, ``0``/``1`` flags and ISO 3166/4217 alpha-3 codes; plus number and time parsing."""

import datetime as dt
import re
from decimal import Decimal

from exports.dsfinvk.validation.reading import Row
from exports.dsfinvk.validation.report import Findings

__all__ = ["BON_TYP", "GV_TYP", "ZAHLART_TYP", "check_values", "decimal", "integer", "timestamp"]

BON_TYP = frozenset({"Beleg", "AVTransfer", "AVBestellung", "AVTraining", "AVBelegstorno", "AVBelegabbruch",
                     "AVSachbezug", "AVSonstige", "AVRechnung"})
GV_TYP = frozenset({
    "Umsatz", "Pfand", "PfandRueckzahlung", "Rabatt", "Aufschlag", "ZuschussEcht", "ZuschussUnecht", "TrinkgeldAG",
    "TrinkgeldAN", "EinzweckgutscheinKauf", "EinzweckgutscheinEinloesung", "MehrzweckgutscheinKauf",
    "MehrzweckgutscheinEinloesung", "Forderungsentstehung", "Forderungsaufloesung", "Anzahlungseinstellung",
    "Anzahlungsaufloesung", "Anfangsbestand", "Privatentnahme", "Privateinlage", "Geldtransit", "Lohnzahlung",
    "Einzahlung", "Auszahlung", "DifferenzSollIst"})
ZAHLART_TYP = frozenset({"Bar", "Unbar", "Keine", "ECKarte", "Kreditkarte", "ElZahlungsdienstleister",
                         "Guthabenkarte"})
REF_TYP = frozenset({"ExterneRechnung", "ExternerLieferschein", "Transaktion", "ExterneSonstige"})
PROCESS_TYPES = frozenset({"Kassenbeleg-V1", "Bestellung-V1", "SonstigerVorgang"})
SIG_ALGOS = frozenset(f"{scheme}-plain-{digest}" for scheme in ("ecdsa", "ecsdsa")
                      for digest in ("SHA224", "SHA256", "SHA384", "SHA512",
                                     "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512"))
TIME_FORMATS = frozenset({"unixTime", "utcTime", "utcTimeWithSeconds", "generalizedTime",
                          "generalizedTimeWithMilliseconds"})
PD_ENCODINGS = frozenset({"UTF-8", "ASCII"})
AMOUNT_TYPES = frozenset({"base_amount", "discount", "extra_amount", "Grundpreis", "Rabatt", "Zuschlag"})
FLAGS = frozenset({"0", "1"})
_ISO = re.compile(r"[A-Z]{3}")
_NUMBER = re.compile(r"-?\d+(,\d+)?")
_INTEGER = re.compile(r"-?\d+")

# file → [(column, allowed values or "iso", required)]
_ISO_CODE = "iso"
RULES: dict[str, list[tuple[str, frozenset | str, bool]]] = {
    "cashpointclosing.csv": [("LAND", _ISO_CODE, False)],
    "location.csv": [("LOC_LAND", _ISO_CODE, False)],
    "cashregister.csv": [("KASSE_BASISWAEH_CODE", _ISO_CODE, True), ("KEINE_UST_ZUORDNUNG", FLAGS, False)],
    "pa.csv": [("AGENTUR_LAND", _ISO_CODE, False)],
    "tse.csv": [("TSE_SIG_ALGO", SIG_ALGOS, True), ("TSE_ZEITFORMAT", TIME_FORMATS, True),
                ("TSE_PD_ENCODING", PD_ENCODINGS, True)],
    "businesscases.csv": [("GV_TYP", GV_TYP, True)],
    "payment.csv": [("ZAHLART_TYP", ZAHLART_TYP, True)],
    "cash_per_currency.csv": [("ZAHLART_WAEH", _ISO_CODE, True)],
    "transactions.csv": [("BON_TYP", BON_TYP, True), ("BON_STORNO", FLAGS, False), ("KUNDE_LAND", _ISO_CODE, False)],
    "datapayment.csv": [("ZAHLART_TYP", ZAHLART_TYP, True), ("ZAHLWAEH_CODE", _ISO_CODE, False)],
    "lines.csv": [("GV_TYP", GV_TYP, True), ("INHAUS", FLAGS, False), ("P_STORNO", FLAGS, False)],
    "itemamounts.csv": [("TYP", AMOUNT_TYPES, False)],
    "transactions_tse.csv": [("TSE_TA_VORGANGSART", PROCESS_TYPES, False)],
    "references.csv": [("REF_TYP", REF_TYP, True)],
}


def check_values(file: str, rows: list[Row], findings: Findings) -> None:
    """``E_MISSING_VALUE`` / ``E_ENUM`` / ``E_BOOLEAN`` / ``E_ISO_CODE`` for the rows of ``file``."""
    rules = RULES.get(file)
    if not rules:
        return
    for row in rows:
        for column, allowed, required in rules:
            value = row[column]
            if not value:
                if required:
                    findings.error("E_MISSING_VALUE", file, row.line, f"{column} is empty")
            elif allowed == _ISO_CODE:
                if not _ISO.fullmatch(value):
                    findings.error("E_ISO_CODE", file, row.line, f"{column} {value!r} is no ISO alpha-3 code")
            elif value not in allowed:
                code = "E_BOOLEAN" if allowed is FLAGS else "E_ENUM"
                findings.error(code, file, row.line, f"{column} {value!r} is not allowed")


def decimal(value: str) -> Decimal:
    """A CSV number (``-12,50``) as Decimal; empty or malformed (reported by the format check) → 0."""
    if value and _NUMBER.fullmatch(value):
        return Decimal(value.replace(",", "."))
    return Decimal(0)


def integer(value: str) -> int | None:
    return int(value) if value and _INTEGER.fullmatch(value) else None


def timestamp(value: str) -> dt.datetime | None:
    """An ISO 8601 time (``2026-11-30T08:00:00+01:00``, ``…T07:00:00.250Z``); ``None`` if unreadable.

    A time without offset is taken as UTC, so that it can be compared with the others.
    """
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
