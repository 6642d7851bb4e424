"""TSE outages and the status they give (AEAO zu § 146a Nr. 1.14 and 2.7).

When a signing fails (backend error, backend timeout, or the worker not answering in time) the
POS gets an unsigned answer and :func:`record_failure` notes it: the unit's status becomes
yellow with the number of consecutive failed signings — red when the TSE could not be initialized
— and the open ``Outage`` of the unit (one at most) counts the failure and is linked from the
affected revisions. The next successful signing (:func:`record_success`) resets the count,
turns the status green and closes the outage with its end time.

Every change of status to yellow or red is mailed to the operator's owners and administrators
(and written to the audit log), so a failure is noticed even when nobody looks at the dashboard.
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tse.models import ApiTransactionRevision, Health, Outage, OutageReason, SigningUnit
from tse.services.notices import mail_unit_admins

__all__ = ["notify_status_change", "record_failure", "record_success"]

logger = logging.getLogger("tse.outages")

register_action_labels({
    "tse.signing_unit.status_changed": _("TSE status changed"),
})


def _locked_unit(signing_unit_id: int) -> SigningUnit:
    """The unit row under ``FOR NO KEY UPDATE`` (only it: not the joined organization, and rows that
    reference the unit can still be inserted meanwhile)."""
    return (SigningUnit.unscoped.select_for_update(of=("self",), no_key=True).select_related("organization")
            .get(pk=signing_unit_id))


def record_failure(signing_unit_id: int, *, code: str, message, reason: str = OutageReason.SIGNING_FAILED,
                   revision_ids=()) -> Outage:
    """Count one failed signing (or initialization) of the unit; returns the open outage."""
    now = timezone.now()
    with transaction.atomic():
        unit = _locked_unit(signing_unit_id)
        previous = unit.health
        unit.consecutive_failures += 1
        if reason == OutageReason.INITIALIZATION_FAILED or previous == Health.RED:
            unit.health = Health.RED
        else:
            unit.health = Health.YELLOW
        if unit.health != previous:
            unit.health_changed_at = now
        unit.save(update_fields=["consecutive_failures", "health", "health_changed_at"])
        outage = Outage.unscoped.filter(signing_unit=unit, ended_at__isnull=True).first()
        if outage is None:
            outage = Outage.unscoped.create(organization_id=unit.organization_id, signing_unit=unit, started_at=now,
                                            reason=reason, error_code=code, error_message=str(message))
        elif reason == OutageReason.INITIALIZATION_FAILED and outage.reason != reason:
            outage.reason = reason
        outage.failed_signings += 1 if revision_ids or reason != OutageReason.INITIALIZATION_FAILED else 0
        outage.error_code, outage.error_message = code, str(message)
        outage.save(update_fields=["reason", "failed_signings", "error_code", "error_message"])
        if revision_ids:
            ApiTransactionRevision.unscoped.filter(pk__in=list(revision_ids), outage__isnull=True).update(
                outage=outage)
        if unit.health != previous:
            notify_status_change(unit, previous, outage)
    logger.warning("TSE %s: %s (%s), %d consecutive failures", unit.public_id, code, reason,
                   unit.consecutive_failures)
    return outage


def record_success(signing_unit_id: int) -> Outage | None:
    """A signing succeeded: status green, failure count 0, the open outage ends now."""
    now = timezone.now()
    with transaction.atomic():
        unit = _locked_unit(signing_unit_id)
        outage = Outage.unscoped.filter(signing_unit=unit, ended_at__isnull=True).first()
        if unit.health == Health.GREEN and unit.consecutive_failures == 0 and outage is None:
            return None
        previous = unit.health
        unit.health, unit.consecutive_failures = Health.GREEN, 0
        if previous != Health.GREEN:
            unit.health_changed_at = now
        unit.save(update_fields=["consecutive_failures", "health", "health_changed_at"])
        if outage is not None:
            outage.ended_at = now
            outage.save(update_fields=["ended_at"])
        if previous != Health.GREEN:
            log_action("tse.signing_unit.status_changed", None, unit.organization, unit,
                       data={"from": previous, "to": Health.GREEN,
                             "outage_started_at": outage.started_at.isoformat() if outage else None,
                             "failed_signings": outage.failed_signings if outage else 0})
    return outage


def notify_status_change(unit: SigningUnit, previous: str, outage: Outage) -> None:
    """Audit the change and mail the operator's owners and admins (in their language)."""
    log_action("tse.signing_unit.status_changed", None, unit.organization, unit,
               data={"from": previous, "to": unit.health, "reason": outage.reason, "code": outage.error_code,
                     "consecutive_failures": unit.consecutive_failures})
    mail_unit_admins(unit, "tse/mail/status_subject.txt", "tse/mail/status.txt",
                     {"outage": outage, "red": unit.health == Health.RED})
