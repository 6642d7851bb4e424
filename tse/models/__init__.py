"""Signing units (TSEs), their POS clients, transactions and signed log messages."""

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
    "BackendType",
    "ClientState",
    "Curve",
    "LogMessage",
    "LogMessageKind",
    "SigningUnit",
    "SigningUnitMode",
    "SigningUnitState",
    "TransactionState",
    "TseClient",
    "TseTransaction",
]
