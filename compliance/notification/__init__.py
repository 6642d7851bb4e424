"""The § 146a (4) AO notification file (ELSTER XML upload) and the project's schema description of it."""

from compliance.notification.xml import (
    DEFAULT_CODES,
    NAMESPACE,
    SCHEMA_PATH,
    notification_codes,
    notification_xml,
    validate_notification_xml,
)

__all__ = ["DEFAULT_CODES", "NAMESPACE", "SCHEMA_PATH", "notification_codes", "notification_xml",
           "validate_notification_xml"]
