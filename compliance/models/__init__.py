from compliance.models.archive import ArchiveKind, ArchiveVerification
from compliance.models.events import NotificationEvent, NotificationEventKind
from compliance.models.nachschau import BundleState, NachschauBundle
from compliance.models.notifications import NotificationSubmission, TaxOfficeNotification
from compliance.models.procedure import ProcedureDocument, ProcedureSections

__all__ = [
    "ArchiveKind",
    "ArchiveVerification",
    "BundleState",
    "NachschauBundle",
    "NotificationEvent",
    "NotificationEventKind",
    "NotificationSubmission",
    "ProcedureDocument",
    "ProcedureSections",
    "TaxOfficeNotification",
]
