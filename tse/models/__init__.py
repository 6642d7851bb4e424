"""Signing units (TSEs), their POS clients, transactions and signed log messages."""

from tse.models.api import ApiTransaction, ApiTransactionRevision, RevisionStatus, TssAdmin
from tse.models.logs import LogMessage, LogMessageKind, TransactionState, TseTransaction
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
