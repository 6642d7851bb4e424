"""DSFinV-K: master data, cash point closings, export jobs and their archives."""

from exports.models.archives import DsfinvkExport, DsfinvkExportKind, DsfinvkExportState, RetentionError
from exports.models.closings import CashPointClosing, ClosingState, ClosingTransaction
from exports.models.master_data import CashRegister, DecommissionReason, MasterDataRevision, VatDefinition, VatSlot

__all__ = [
    "CashPointClosing",
    "CashRegister",
    "ClosingState",
    "ClosingTransaction",
    "DecommissionReason",
    "DsfinvkExport",
    "DsfinvkExportKind",
    "DsfinvkExportState",
    "MasterDataRevision",
    "RetentionError",
    "VatDefinition",
    "VatSlot",
]
