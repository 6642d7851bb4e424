"""Lifecycle monitoring of signing units: certificate expiry, time synchronisation, capacity.

- Certificate: warnings 90, 30 and 7 days before ``certificate_expires_at`` (an expired
  certificate is an error: a TSE must not sign with it). Each threshold is mailed once
  (``certificate_warning_days`` keeps the smallest one mailed; a new certificate resets it).
- Time: an initialized unit whose last ``updateTime`` is older than
  ``TSE_TIME_SYNC_MAX_AGE_HOURS`` is stale. The daily check synchronises units the central workers
  drive (software TSE) itself; others (LAN) get a warning.
- Capacity: ``remaining_signatures`` where the backend reports one (``TseInfo``); a warning
  below ``TSE_CAPACITY_WARNING`` signatures.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from tse.models import BackendType, Health, Outage, SigningUnit, SigningUnitState
from tse.services.notices import mail_unit_admins
from tse.services.signing_units import get_backend, update_signing_unit_time

__all__ = ["Notice", "check_signing_units", "open_outages", "signing_unit_notices", "status_label",
           "tse_dashboard", "units_needing_attention"]

logger = logging.getLogger("tse.monitoring")

TSE_CAPACITY_WARNING = 10_000


@dataclass(frozen=True)
class Notice:
    """One thing to show about a unit: ``level`` is ``danger`` or ``warning``; ``code`` is stable."""

    code: str
    level: str
    message: str


def status_label(unit: SigningUnit) -> str:
    if unit.health == Health.YELLOW:
        return str(ngettext_lazy("%(count)d failed signing", "%(count)d failed signings in a row",
                                 unit.consecutive_failures) % {"count": unit.consecutive_failures})
    return str(unit.get_health_display())


def _certificate_days_left(unit: SigningUnit, now: datetime) -> int | None:
    if unit.certificate_expires_at is None:
        return None
    return (unit.certificate_expires_at - now).days


def _product_certification_notice(unit: SigningUnit, now: datetime, certifications) -> Notice | None:
    """A withdrawn/expired product certification, or one ending within the largest warning threshold."""
    from tse.services.certifications import certification_for, product_status

    if unit.backend == BackendType.SOFTWARE or not unit.bsi_certification_id.strip():
        return None
    status = product_status(certification_for(unit, certifications), timezone.localdate(now))
    if not status.level:
        return None
    code = "E_PRODUCT_CERTIFICATION_ENDED" if status.ended else "E_PRODUCT_CERTIFICATION_EXPIRES"
    return Notice(code, "danger" if status.level == "danger" else "warning", status.label)


def signing_unit_notices(unit: SigningUnit, now: datetime | None = None, certifications=None) -> list[Notice]:
    """What the operator should know about ``unit`` now (for the dashboard and the detail page).

    ``certifications``: a ``tse.services.certifications.CertificationIndex`` when many units are checked.
    """
    now = now or timezone.now()
    notices = []
    if unit.health == Health.RED:
        notices.append(Notice("E_TSE_RED", "danger", str(_("The TSE is out of order; every signing retries."))))
    elif unit.health == Health.YELLOW:
        notices.append(Notice("E_TSE_YELLOW", "warning", status_label(unit)))
    if unit.state == SigningUnitState.DISABLED:
        return notices
    days = _certificate_days_left(unit, now)
    if days is not None:
        if days < 0:
            notices.append(Notice("E_CERTIFICATE_EXPIRED", "danger", str(_("The TSE certificate has expired."))))
        elif days <= max(settings.TSE_CERTIFICATE_WARNING_DAYS):
            level = "danger" if days <= min(settings.TSE_CERTIFICATE_WARNING_DAYS) else "warning"
            notices.append(Notice("E_CERTIFICATE_EXPIRES", level, str(ngettext_lazy(
                "The TSE certificate expires in %(days)d day.", "The TSE certificate expires in %(days)d days.",
                days) % {"days": days})))
    product_notice = _product_certification_notice(unit, now, certifications)
    if product_notice is not None:
        notices.append(product_notice)
    if unit.state == SigningUnitState.INITIALIZED:
        max_age = timedelta(hours=settings.TSE_TIME_SYNC_MAX_AGE_HOURS)
        if unit.last_time_sync_at is None or now - unit.last_time_sync_at > max_age:
            notices.append(Notice("E_TIME_SYNC_STALE", "warning", str(_(
                "The TSE time was last synchronised more than %(hours)d hours ago.")
                % {"hours": settings.TSE_TIME_SYNC_MAX_AGE_HOURS})))
    if unit.remaining_signatures is not None and unit.remaining_signatures < TSE_CAPACITY_WARNING:
        notices.append(Notice("E_CAPACITY_LOW", "warning", str(_(
            "The TSE can create only %(count)d more signatures.") % {"count": unit.remaining_signatures})))
    return notices


def _due_certificate_threshold(unit: SigningUnit, now: datetime) -> int | None:
    """The smallest threshold (days) reached and not mailed yet, or ``None``."""
    days = _certificate_days_left(unit, now)
    if days is None:
        return None
    reached = [threshold for threshold in settings.TSE_CERTIFICATE_WARNING_DAYS if days <= threshold]
    if not reached:
        return None
    threshold = min(reached)
    if unit.certificate_warning_days is not None and unit.certificate_warning_days <= threshold:
        return None
    return threshold


def _mail_certificate_warning(unit: SigningUnit, days_left: int) -> None:
    mail_unit_admins(unit, "tse/mail/certificate_subject.txt", "tse/mail/certificate.txt",
                     {"days": max(days_left, 0)})


def check_signing_units(now: datetime | None = None) -> dict:
    """The daily check of every unit in use; returns counts for the log. Runs without a tenant scope."""
    now = now or timezone.now()
    counts = {"certificate_warnings": 0, "time_synchronised": 0, "capacity_refreshed": 0, "failed": 0}
    units = (SigningUnit.unscoped.filter(state=SigningUnitState.INITIALIZED).select_related("organization")
             .order_by("pk"))
    max_age = timedelta(hours=settings.TSE_TIME_SYNC_MAX_AGE_HOURS)
    for unit in units.iterator(chunk_size=200):
        threshold = _due_certificate_threshold(unit, now)
        if threshold is not None:
            _mail_certificate_warning(unit, _certificate_days_left(unit, now))
            SigningUnit.unscoped.filter(pk=unit.pk).update(certificate_warning_days=threshold)
            counts["certificate_warnings"] += 1
        try:
            if unit.backend == BackendType.SOFTWARE and (
                    unit.last_time_sync_at is None or now - unit.last_time_sync_at > max_age / 2):
                update_signing_unit_time(signing_unit=unit)
                counts["time_synchronised"] += 1
            if unit.backend != BackendType.SOFTWARE:
                remaining = get_backend(unit).info().remaining_signatures
                if remaining is not None:
                    SigningUnit.unscoped.filter(pk=unit.pk).update(remaining_signatures=remaining)
                    counts["capacity_refreshed"] += 1
        except Exception:  # one unreachable TSE must not stop the check of the others
            logger.exception("monitoring of TSE %s failed", unit.public_id)
            counts["failed"] += 1
    return counts


def open_outages(organization):
    return Outage.objects.filter(organization=organization, ended_at__isnull=True).select_related("signing_unit")


def units_needing_attention(organization, now: datetime | None = None):
    """(unit, notices) of the operator's units that have something to show, for the dashboard."""
    now = now or timezone.now()
    units = (SigningUnit.objects.filter(organization=organization).exclude(state=SigningUnitState.DISABLED)
             .filter(Q(state=SigningUnitState.INITIALIZED) | ~Q(health=Health.GREEN)).order_by("created_at", "pk"))
    from tse.services.certifications import CertificationIndex

    units = list(units)
    certifications = CertificationIndex() if units else None
    shown_by_badge = {"E_TSE_RED", "E_TSE_YELLOW"}
    return [(unit, [n for n in signing_unit_notices(unit, now, certifications) if n.code not in shown_by_badge])
            for unit in units]


def tse_dashboard(organization, now: datetime | None = None) -> dict | None:
    """The TSE card of an operator's dashboard: status per unit, open outages, overdue exports."""
    from tse.services.tar_jobs import overdue_units

    now = now or timezone.now()
    units = units_needing_attention(organization, now)
    if not units and not SigningUnit.objects.filter(organization=organization).exists():
        return {"units": [], "outages": [], "overdue_exports": [], "empty": True}
    return {
        "units": units,
        "outages": list(open_outages(organization)),
        "overdue_exports": list(overdue_units(organization, now)),
        "reminder_days": settings.TSE_EXPORT_REMINDER_DAYS,
        "empty": False,
    }
