from portal.models.audit import LogEntry
from portal.models.idempotency import IdempotencyRecord
from portal.models.mail import OutgoingMail

__all__ = ["IdempotencyRecord", "LogEntry", "OutgoingMail"]
