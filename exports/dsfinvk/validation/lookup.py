"""Look-ups over the rows of one closing, built once and shared by the rule modules."""

from collections import defaultdict
from functools import cached_property

from exports.dsfinvk.validation.reading import Closing, Row

__all__ = ["ClosingLookup"]


def _by_bon(rows: list[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["BON_ID"]].append(row)
    return grouped


class ClosingLookup:
    def __init__(self, closing: Closing):
        self.closing = closing

    @cached_property
    def heads(self) -> dict[str, Row]:
        """transactions.csv by BON_ID (the first row of a duplicated BON_ID)."""
        heads: dict[str, Row] = {}
        for row in self.closing["transactions.csv"]:
            heads.setdefault(row["BON_ID"], row)
        return heads

    @cached_property
    def lines(self) -> dict[tuple[str, str], Row]:
        lines: dict[tuple[str, str], Row] = {}
        for row in self.closing["lines.csv"]:
            lines.setdefault((row["BON_ID"], row["POS_ZEILE"]), row)
        return lines

    @cached_property
    def lines_by_bon(self) -> dict[str, list[Row]]:
        return _by_bon(self.closing["lines.csv"])

    @cached_property
    def payments(self) -> dict[str, list[Row]]:
        return _by_bon(self.closing["datapayment.csv"])

    @cached_property
    def transaction_vat(self) -> dict[str, list[Row]]:
        return _by_bon(self.closing["transactions_vat.csv"])

    @cached_property
    def base_currency(self) -> str:
        registers = self.closing["cashregister.csv"]
        return registers[0]["KASSE_BASISWAEH_CODE"] if registers else ""

    @cached_property
    def tse_rows(self) -> dict[str, Row]:
        """tse.csv by TSE_ID."""
        rows: dict[str, Row] = {}
        for row in self.closing["tse.csv"]:
            rows.setdefault(row["TSE_ID"], row)
        return rows

    def bon_typ(self, bon_id: str) -> str | None:
        head = self.heads.get(bon_id)
        return head["BON_TYP"] if head is not None else None
