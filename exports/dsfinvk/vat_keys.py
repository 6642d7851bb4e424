"""The VAT keys of DSFinV-K Anlage 2 (``UST_SCHLUESSEL``), as data (dsfinvk.md §6.7).

Each key has a rate that may change over time (key 1 was 16 % from 2020-07-01 to 2020-12-31);
``system_vat_rows(day)`` gives the rows of ``vat.csv`` valid on ``day``. Historic keys keep the
rate they were created for. Key 3 (average rate § 24 (1) no. 3 UStG) follows the statutory
rate; the rates below are those of § 24 UStG as amended (2022: 9.5 %, 2023: 9.5 %, 2024: 9.0 %,
2025: 8.4 %, 2026: 7.8 %) — to be checked against the current Anlage 2, which was not available
(dsfinvk.md §13.2). Individual keys ≥ 1000 are an operator's own (``VatDefinition``).
"""

import datetime as dt
from decimal import Decimal

__all__ = ["SYSTEM_VAT_KEYS", "VatKey", "system_vat_rows"]

D = Decimal


class VatKey:
    __slots__ = ("description", "key", "rates", "slot")

    def __init__(self, key: int, slot: str, description: str, rates: list[tuple[dt.date, Decimal]]):
        self.key = key
        self.slot = slot
        self.description = description
        self.rates = sorted(rates)  # (valid from, rate)

    def rate_on(self, day: dt.date) -> Decimal:
        rate = self.rates[0][1]
        for valid_from, value in self.rates:
            if valid_from <= day:
                rate = value
        return rate


_START = dt.date(1900, 1, 1)

SYSTEM_VAT_KEYS: tuple[VatKey, ...] = (
    VatKey(1, "NORMAL", "Regelsteuersatz", [(_START, D("19.00")), (dt.date(2020, 7, 1), D("16.00")),
                                            (dt.date(2021, 1, 1), D("19.00"))]),
    VatKey(2, "REDUCED_1", "Ermäßigter Steuersatz", [(_START, D("7.00")), (dt.date(2020, 7, 1), D("5.00")),
                                                     (dt.date(2021, 1, 1), D("7.00"))]),
    VatKey(3, "SPECIAL_RATE_1", "Durchschnittsatz (§ 24 Abs. 1 Nr. 3 UStG)",
           [(_START, D("10.70")), (dt.date(2022, 1, 1), D("9.50")), (dt.date(2024, 1, 1), D("9.00")),
            (dt.date(2025, 1, 1), D("8.40")), (dt.date(2026, 1, 1), D("7.80"))]),
    VatKey(4, "SPECIAL_RATE_2", "Durchschnittsatz (§ 24 Abs. 1 Nr. 1 UStG)", [(_START, D("5.50"))]),
    VatKey(5, "NULL", "Nicht Steuerbar", [(_START, D("0.00"))]),
    VatKey(6, "NULL", "Umsatzsteuerfrei", [(_START, D("0.00"))]),
    VatKey(7, "NULL", "UmsatzsteuerNichtErmittelbar", [(_START, D("0.00"))]),
    VatKey(8, "NULL", "Steuersatz 0 % (§ 12 Abs. 3 UStG)", [(_START, D("0.00"))]),
    VatKey(11, "NORMAL", "Historischer Regelsteuersatz 19 %", [(_START, D("19.00"))]),
    VatKey(12, "REDUCED_1", "Historischer ermäßigter Steuersatz 7 %", [(_START, D("7.00"))]),
    VatKey(21, "NORMAL", "Historischer Regelsteuersatz 16 %", [(_START, D("16.00"))]),
    VatKey(22, "REDUCED_1", "Historischer ermäßigter Steuersatz 5 %", [(_START, D("5.00"))]),
    VatKey(13, "SPECIAL_RATE_1", "Historischer Durchschnittsatz 10,7 %", [(_START, D("10.70"))]),
    VatKey(23, "SPECIAL_RATE_1", "Historischer Durchschnittsatz 9,5 %", [(_START, D("9.50"))]),
    VatKey(33, "SPECIAL_RATE_1", "Historischer Durchschnittsatz 9,0 %", [(_START, D("9.00"))]),
    VatKey(43, "SPECIAL_RATE_1", "Historischer Durchschnittsatz 8,4 %", [(_START, D("8.40"))]),
)

BY_KEY = {vat.key: vat for vat in SYSTEM_VAT_KEYS}


def system_vat_rows(day: dt.date) -> list[dict]:
    """The Anlage 2 keys as ``vat.csv`` rows for a closing made on ``day`` (plus their slot)."""
    return [{"UST_SCHLUESSEL": vat.key, "UST_SATZ": str(vat.rate_on(day)), "UST_BESCHR": vat.description,
             "slot": vat.slot} for vat in SYSTEM_VAT_KEYS]
