"""Signing units (TSEs), their POS clients, transactions and signed log messages."""

from tse.models.api import ApiTransaction, ApiTransactionRevision, RevisionStatus, TssAdmin
from tse.models.certifications import BsiCertification, FormFactor
from tse.models.connections import DEFAULT_LAN_TSE_PORT, FiskalyTss, LanTseConnection
from tse.models.exports import ExportState, TarExport
from tse.models.logs import LogMessage, LogMessageKind, TransactionState, TseTransaction
from tse.models.monitoring import Health, Outage, OutageReason
from tse.models.signing_units import (
    BackendType,
    ClientState,
    Curve,
    SigningUnit,
    SigningUnitMode,
    SigningUnitState,
    TseClient,
)

__all__ = [
    "BsiCertification",
    "FormFactor",
    "DEFAULT_LAN_TSE_PORT",
    "ExportState",
    "FiskalyTss",
    "Health",
    "LanTseConnection",
    "Outage",
    "OutageReason",
    "TarExport",
    "ApiTransaction",
    "ApiTransactionRevision",
    "BackendType",
    "ClientState",
    "Curve",
    "LogMessage",
    "LogMessageKind",
    "RevisionStatus",
    "SigningUnit",
    "SigningUnitMode",
    "SigningUnitState",
    "TransactionState",
    "TseClient",
    "TseTransaction",
    "TssAdmin",
]
