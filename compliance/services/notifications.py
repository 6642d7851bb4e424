"""§ 146a (4) AO notification files of a Betriebsstätte and the operator's confirmation that one was submitted.

- ``generate_notification(actor, betriebsstaette, as_of=None)``: the data of
  ``compliance.services.notification_data`` as of ``as_of`` (default: today in Berlin; not in the future) —
  always the complete list of the Betriebsstätte's recording systems (gross method) — turned into the ELSTER
  upload XML, validated against the project's schema (an invalid file is refused: ``E_NOTIFICATION_INVALID``,
  nothing stored), stored with its SHA-256, the data snapshot and the next number of the Betriebsstätte
  (allocated under a row lock on the Betriebsstätte: no gaps, no duplicates). Audit
  ``compliance.notification.generated``. The problems of the data do not block the file; they are kept in
  the snapshot and shown.
- ``confirm_submission(actor, notification, submitted_on, transfer_ticket)``: once per file; the day may not lie
  before the day the file was generated (Berlin) nor in the future; the ELSTER transfer ticket is required.
  Covers every open event of the Betriebsstätte that occurred on or before the file's ``as_of``
  (``compliance.services.events.cover_events``). Audit ``compliance.notification.submitted``.
- ``notifications_of(betriebsstaette)``: its files, newest first, with their confirmation.

Direct transmission to ELSTER (ERiC) is out of scope: it needs an ELSTER manufacturer id. The operator downloads
the file and uploads it in Mein ELSTER, then confirms the submission here.
"""

import hashlib
import re
from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compliance.models import NotificationSubmission, TaxOfficeNotification
from compliance.notification import notification_xml, validate_notification_xml
from compliance.services.notification_data import notification_data
from portal.services.audit import actor_identity, log_action, register_action_labels
from tenants.models import Betriebsstaette

__all__ = [
    "NotificationError",
    "confirm_submission",
    "generate_notification",
    "notification_file_name",
    "notifications_of",
]

register_action_labels({
    "compliance.notification.generated": _("Tax-office notification file generated"),
    "compliance.notification.submitted": _("Tax-office notification confirmed as submitted"),
})

TRANSFER_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$")


class NotificationError(Exception):
    """A notification request that cannot be done; ``code`` is stable (``E_…``), ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, *, field: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.field = field


def _user(actor):
    return actor_identity(actor).user


def _acting_organization_id(actor, organization) -> int | None:
    return actor_identity(actor, organization).acting_organization_id


def notification_file_name(notification: TaxOfficeNotification) -> str:
    """``Aufzeichnung146a_<reference or id>_<number>_<as of>.xml``: a name that sorts by Betriebsstätte and number."""
    betriebsstaette = notification.betriebsstaette
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", betriebsstaette.reference or str(betriebsstaette.public_id)).strip("-")
    return f"Aufzeichnung146a_{label or 'betriebsstaette'}_{notification.number:03d}_{notification.as_of:%Y%m%d}.xml"


def generate_notification(actor, betriebsstaette, as_of: date | None = None) -> TaxOfficeNotification:
    """Generate, validate and store the notification file of ``betriebsstaette`` (see the module text)."""
    today = timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise NotificationError("E_AS_OF_IN_FUTURE", gettext("A notification cannot be dated in the future."),
                                field="as_of")
    with transaction.atomic():
        premises = (Betriebsstaette.unscoped.select_for_update(of=("self",), no_key=True)
                    .select_related("organization").get(pk=betriebsstaette.pk))
        organization = premises.organization
        data = notification_data(premises, as_of)
        xml = notification_xml(data)
        errors = validate_notification_xml(xml)
        if errors:
            raise NotificationError("E_NOTIFICATION_INVALID", gettext(
                "The notification file does not match the schema: %(errors)s") % {"errors": "; ".join(errors[:5])})
        last = TaxOfficeNotification.unscoped.filter(betriebsstaette=premises).aggregate(last=Max("number"))["last"]
        notification = TaxOfficeNotification.unscoped.create(
            organization=organization, betriebsstaette=premises, number=(last or 0) + 1, as_of=as_of,
            content=data, xml=xml.decode("utf-8"), sha256=hashlib.sha256(xml).hexdigest(),
            created_by=_user(actor), acting_organization_id=_acting_organization_id(actor, organization))
        log_action("compliance.notification.generated", actor, organization, notification, data={
            "betriebsstaette": str(premises.public_id), "number": notification.number, "as_of": as_of.isoformat(),
            "sha256": notification.sha256, "systems": len(data["systems"]), "system_count": data["system_count"],
            "problems": len(data["problems"])})
    return notification


def confirm_submission(actor, notification: TaxOfficeNotification, submitted_on: date,
                       transfer_ticket: str) -> NotificationSubmission:
    """Record that ``notification`` was uploaded in Mein ELSTER on ``submitted_on`` (once) and cover its events."""
    from compliance.services.events import cover_events

    ticket = (transfer_ticket or "").strip()
    if not ticket:
        raise NotificationError("E_TRANSFER_TICKET_MISSING", gettext("The ELSTER transfer ticket is required."),
                                field="transfer_ticket")
    if not TRANSFER_TICKET.match(ticket):
        raise NotificationError("E_TRANSFER_TICKET_INVALID", gettext(
            "The ELSTER transfer ticket consists of letters, digits, dots, hyphens and underscores (3 to 100)."),
            field="transfer_ticket")
    with transaction.atomic():
        current = (TaxOfficeNotification.unscoped.select_for_update(of=("self",), no_key=True)
                   .select_related("organization", "betriebsstaette").get(pk=notification.pk))
        if NotificationSubmission.unscoped.filter(notification=current).exists():
            raise NotificationError("E_ALREADY_SUBMITTED", gettext(
                "The submission of this notification was already confirmed."), status=409)
        generated_on = timezone.localdate(current.created_at)
        if submitted_on < generated_on:
            raise NotificationError("E_SUBMITTED_BEFORE_GENERATION", gettext(
                "The file was generated on %(day)s; it cannot have been submitted before.") % {
                "day": generated_on.strftime("%d.%m.%Y")}, field="submitted_on")
        if submitted_on > timezone.localdate():
            raise NotificationError("E_SUBMITTED_IN_FUTURE", gettext("The submission date lies in the future."),
                                    field="submitted_on")
        submission = NotificationSubmission.unscoped.create(
            notification=current, organization=current.organization, submitted_on=submitted_on,
            transfer_ticket=ticket, confirmed_by=_user(actor))
        covered = cover_events(current)
        log_action("compliance.notification.submitted", actor, current.organization, current, data={
            "number": current.number, "submitted_on": submitted_on.isoformat(), "transfer_ticket": ticket,
            "covered_events": covered if isinstance(covered, int) else len(covered or [])})
    notification.submission = submission
    return submission


def notifications_of(betriebsstaette):
    """The notification files of ``betriebsstaette``, newest first, with confirmation and author."""
    return (TaxOfficeNotification.objects.filter(betriebsstaette=betriebsstaette)
            .select_related("submission", "created_by", "acting_organization", "betriebsstaette")
            .order_by("-number"))
