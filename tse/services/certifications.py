"""BSI certifications of the TSEs in use and the expiry watch (reference/legal.md §9).

Two expiries are tracked separately (§9.3):

- the **product certification** (``BsiCertification``, ``BSI-K-TR-nnnn-yyyy``): valid, ending within the
  largest warning threshold (``expiring``), ``withdrawn`` or ``expired`` — either possibly with a grace
  period in which the BMF still allows the use (D-Trust 0491-2021: withdrawn 07.01.2023, use allowed
  until 31.07.2024) — or ``unknown`` (no or an unknown BSI id, e.g. the software TSE, which is not
  certified);
- the **device certificate** of each TSE (``SigningUnit.certificate_expires_at``).

``watch_rows`` gives one row per signing unit in use (not disabled) with both and the worst level:
``danger`` (≤ 7 days, or expired/withdrawn without grace), ``warning`` (≤ 30 days, or a low signature
capacity), ``info`` (≤ 90 days) — thresholds from ``settings.TSE_CERTIFICATE_WARNING_DAYS``. It needs
two queries, whatever the number of units. ``replacement_rows`` is the dealer's list: the rows with a
level of every operator that granted the dealer any right.
"""

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tse.models import BackendType, BsiCertification, SigningUnit, SigningUnitState

__all__ = [
    "BSI_PREFIX",
    "CertificationIndex",
    "LEVELS",
    "ProductStatus",
    "WatchRow",
    "bsi_short_id",
    "certification_for",
    "granting_operator_ids",
    "group_by_operator",
    "level_for_days",
    "product_status",
    "replacement_rows",
    "watch_csv",
    "watch_rows",
]

BSI_PREFIX = "BSI-K-TR-"
# Most urgent first; a row without a level needs nothing.
LEVELS = ("danger", "warning", "info")
_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_FULL_ID = re.compile(r"^(?:BSI-?K-?TR-?)?(\d{4})-?(\d{4})$")
_NUMBER_ONLY = re.compile(r"^(?:BSI-?K-?TR-?)?(\d{4})$")


def _compact(value) -> str:
    return re.sub(r"\s+", "", str(value or "")).upper()


def bsi_short_id(value) -> str:
    """``BSI-K-TR-0403-2021`` → ``0403-2021`` (as the ELSTER notification wants it, §9.1).

    Tolerates the bare ``0403-2021``, lower case and spaces; ``""`` for anything else, also for an id
    without its year (``BSI-K-TR-0373``), which has to be looked up (``certification_for``).
    """
    match = _FULL_ID.match(_compact(value))
    return f"{match.group(1)}-{match.group(2)}" if match else ""


def _number_only(value) -> str:
    match = _NUMBER_ONLY.match(_compact(value))
    return match.group(1) if match else ""


class CertificationIndex:
    """All ``BsiCertification`` rows (one query) for looking up many units."""

    def __init__(self, certifications: Iterable[BsiCertification] | None = None):
        rows = list(BsiCertification.objects.order_by("certification_id") if certifications is None
                    else certifications)
        self.by_short_id: dict[str, BsiCertification] = {}
        self.by_number: dict[str, list[BsiCertification]] = {}
        for row in rows:
            short = bsi_short_id(row.certification_id)
            if short:
                self.by_short_id[short] = row
                self.by_number.setdefault(short.split("-")[0], []).append(row)

    def lookup(self, value) -> BsiCertification | None:
        short = bsi_short_id(value)
        if short:
            return self.by_short_id.get(short)
        number = _number_only(value)
        candidates = self.by_number.get(number, []) if number else []
        return candidates[0] if len(candidates) == 1 else None


def certification_for(unit: SigningUnit, index: CertificationIndex | None = None) -> BsiCertification | None:
    """The product certification named by ``unit.bsi_certification_id`` (normalised), or ``None``.

    An id without its year (``BSI-K-TR-0373``) resolves when exactly one certification has that number.
    """
    value = unit.bsi_certification_id
    if not _compact(value):
        return None
    if index is not None:
        return index.lookup(value)
    short = bsi_short_id(value)
    if short:
        return BsiCertification.objects.filter(certification_id=BSI_PREFIX + short).first()
    number = _number_only(value)
    if not number:
        return None
    candidates = list(BsiCertification.objects.filter(certification_id__startswith=f"{BSI_PREFIX}{number}-")[:2])
    return candidates[0] if len(candidates) == 1 else None


def _thresholds() -> list[int]:
    return sorted(settings.TSE_CERTIFICATE_WARNING_DAYS)


def level_for_days(days: int | None) -> str | None:
    """``danger`` at or below the smallest threshold (or past), ``info`` up to the largest, else ``warning``."""
    if days is None:
        return None
    thresholds = _thresholds()
    if days < 0:
        return "danger"
    for position, threshold in enumerate(thresholds):
        if days <= threshold:
            if position == 0:
                return "danger"
            return "info" if position == len(thresholds) - 1 else "warning"
    return None


def _worst(*levels: str | None) -> str | None:
    present = [level for level in levels if level]
    return min(present, key=_LEVEL_RANK.__getitem__) if present else None


def _day(value: dt.date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


@dataclass(frozen=True)
class ProductStatus:
    """State of a product certification on one day; ``days_left`` counts to its end (or the end of grace)."""

    code: str  # valid | expiring | withdrawn | expired | unknown
    date: dt.date | None = None  # valid until / ends on / withdrawn on / expired on
    grace_until: dt.date | None = None
    in_grace: bool = False
    days_left: int | None = None

    @property
    def ended(self) -> bool:
        return self.code in ("withdrawn", "expired")

    @property
    def level(self) -> str | None:
        if self.ended:
            if not self.in_grace:
                return "danger"
            return _worst(level_for_days(self.days_left), "warning")
        if self.code == "expiring":
            return level_for_days(self.days_left)
        return None

    @property
    def label(self) -> str:
        if self.code == "valid":
            if self.date:
                return _("certified until %(date)s") % {"date": _day(self.date)}
            return _("certified")
        if self.code == "expiring":
            return ngettext("certification ends on %(date)s (in %(days)d day)",
                            "certification ends on %(date)s (in %(days)d days)",
                            self.days_left) % {"date": _day(self.date), "days": self.days_left}
        if self.code in ("withdrawn", "expired"):
            if self.code == "withdrawn":
                text = _("certification withdrawn on %(date)s") % {"date": _day(self.date)}
            else:
                text = _("certification expired on %(date)s") % {"date": _day(self.date)}
            if self.in_grace:
                return _("%(text)s; use allowed until %(date)s") % {"text": text, "date": _day(self.grace_until)}
            if self.grace_until:
                return _("%(text)s; the grace period ended on %(date)s") % {
                    "text": text, "date": _day(self.grace_until)}
            return text
        return _("no BSI certification known")


def product_status(certification: BsiCertification | None, today: dt.date | None = None) -> ProductStatus:
    """``valid`` / ``expiring`` (≤ the largest warning threshold before its end) / ``withdrawn`` / ``expired``
    (each with or without grace) / ``unknown`` (no certification)."""
    if certification is None:
        return ProductStatus("unknown")
    today = today or timezone.localdate()
    grace = certification.grace_until
    in_grace = grace is not None and grace >= today
    ended_days = (grace - today).days if in_grace else None
    if certification.withdrawn_on is not None and certification.withdrawn_on <= today:
        return ProductStatus("withdrawn", certification.withdrawn_on, grace, in_grace, ended_days)
    if certification.valid_until is not None and certification.valid_until < today:
        return ProductStatus("expired", certification.valid_until, grace, in_grace, ended_days)
    ends = [day for day in (certification.valid_until, certification.withdrawn_on) if day is not None]
    if ends:
        end = min(ends)
        days = (end - today).days
        code = "expiring" if days <= max(_thresholds()) else "valid"
        return ProductStatus(code, end, grace, False, days)
    return ProductStatus("valid")


@dataclass
class WatchRow:
    """One signing unit in the watch (see the module docstring)."""

    unit: SigningUnit
    certification: BsiCertification | None
    product: ProductStatus
    certificate_expires_on: dt.date | None
    certificate_days_left: int | None
    level: str | None
    days_left: int | None
    reasons: list[str] = field(default_factory=list)

    @property
    def operator(self):
        return self.unit.organization

    @property
    def outlet(self):
        return self.unit.outlet

    @property
    def serial_number(self) -> str:
        return self.unit.serial_number

    @property
    def backend_label(self) -> str:
        return str(self.unit.get_backend_display())

    @property
    def is_software(self) -> bool:
        return self.unit.backend == BackendType.SOFTWARE

    @property
    def form_factor(self) -> str:
        """The unit's form factor, else the one of its certified product."""
        if self.unit.form_factor:
            return str(self.unit.get_form_factor_display())
        if self.certification is not None and self.certification.form_factor:
            return str(self.certification.get_form_factor_display())
        return ""

    @property
    def bsi_id(self) -> str:
        if self.is_software:
            return ""  # not certified, whatever it claims
        if self.certification is not None:
            return bsi_short_id(self.certification.certification_id)
        return bsi_short_id(self.unit.bsi_certification_id)

    @property
    def product_name(self) -> str:
        return self.certification.product if self.certification is not None else ""

    @property
    def remaining_signatures(self) -> int | None:
        return self.unit.remaining_signatures

    @property
    def needs_replacement(self) -> bool:
        return self.level is not None


def _certificate_reason(days: int) -> str:
    if days < 0:
        return _("The TSE certificate has expired.")
    if days == 0:
        return _("The TSE certificate expires today.")
    return ngettext("The TSE certificate expires in %(days)d day.", "The TSE certificate expires in %(days)d days.",
                    days) % {"days": days}


def _row(unit: SigningUnit, index: CertificationIndex, today: dt.date) -> WatchRow:
    from tse.services.monitoring import TSE_CAPACITY_WARNING

    certification = None if unit.backend == BackendType.SOFTWARE else certification_for(unit, index)
    status = product_status(certification, today)
    expires_on = timezone.localdate(unit.certificate_expires_at) if unit.certificate_expires_at else None
    certificate_days = (expires_on - today).days if expires_on else None
    certificate_level = level_for_days(certificate_days)
    reasons = []
    if certificate_level:
        reasons.append(_certificate_reason(certificate_days))
    if status.level:
        reasons.append(status.label)
    capacity_level = None
    if unit.remaining_signatures is not None and unit.remaining_signatures < TSE_CAPACITY_WARNING:
        capacity_level = "warning"
        reasons.append(_("The TSE can create only %(count)d more signatures.") % {"count": unit.remaining_signatures})
    product_days = status.days_left if status.level else None
    known_days = [days for days in (certificate_days if certificate_level else None, product_days)
                  if days is not None]
    return WatchRow(
        unit=unit, certification=certification, product=status, certificate_expires_on=expires_on,
        certificate_days_left=certificate_days, level=_worst(certificate_level, status.level, capacity_level),
        days_left=min(known_days) if known_days else None, reasons=reasons,
    )


def _urgency(row: WatchRow):
    rank = _LEVEL_RANK.get(row.level, len(LEVELS))
    days = row.days_left if row.days_left is not None else (
        row.certificate_days_left if row.certificate_days_left is not None else 10**6)
    return rank, days, row.unit.organization.name, row.unit.organization_id, row.unit.serial_number, row.unit.pk


def watch_rows(organizations, today: dt.date | None = None) -> list[WatchRow]:
    """One row per signing unit in use (not disabled) of ``organizations`` (objects, ids or a queryset),
    the most urgent first. Two queries: the units (with operator and outlet) and the certifications."""
    today = today or timezone.localdate()
    units = (SigningUnit.objects.filter(organization__in=organizations).exclude(state=SigningUnitState.DISABLED)
             .select_related("organization", "outlet"))
    units = list(units)
    if not units:
        return []
    index = CertificationIndex()
    return sorted((_row(unit, index, today) for unit in units), key=_urgency)


def granting_operator_ids(dealer) -> list[int]:
    """Operators that granted ``dealer`` any right (active grants)."""
    from tenants.models import AccessGrant

    return sorted(set(AccessGrant.unscoped.filter(dealer=dealer, revoked_at__isnull=True)
                      .exclude(organization=dealer).values_list("organization_id", flat=True)))


def replacement_rows(dealer, today: dt.date | None = None) -> list[WatchRow]:
    """The dealer's list: TSEs of its operators that need replacing within the largest threshold (certificate
    or product certification), whose certification was withdrawn or expired, or whose capacity runs out."""
    operator_ids = granting_operator_ids(dealer)
    if not operator_ids:
        return []
    return [row for row in watch_rows(operator_ids, today) if row.needs_replacement]


def group_by_operator(rows: Iterable[WatchRow]) -> list[tuple[object, list[WatchRow]]]:
    """``[(operator, rows)]`` by operator name; the rows keep their (urgency) order."""
    groups: dict[int, tuple[object, list[WatchRow]]] = {}
    for row in rows:
        groups.setdefault(row.unit.organization_id, (row.unit.organization, []))[1].append(row)
    return sorted(groups.values(), key=lambda group: (group[0].name, group[0].pk))


CSV_HEADER = ("operator", "operator_id", "outlet", "signing_unit", "serial_number", "backend", "form_factor",
              "bsi_id", "product", "product_status", "product_date", "grace_until", "certificate_expires_on",
              "certificate_days_left", "remaining_signatures", "level", "reasons")


def watch_csv(rows: Iterable[WatchRow]) -> str:
    """``;``-separated, header row, ISO dates; UTF-8 with BOM (for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        unit = row.unit
        writer.writerow([
            _safe(unit.organization.name), unit.organization.public_id, _safe(str(unit.outlet or "")),
            unit.public_id, unit.serial_number, unit.backend, unit.form_factor or (
                row.certification.form_factor if row.certification else ""),
            row.bsi_id, _safe(row.product_name), row.product.code,
            row.product.date.isoformat() if row.product.date else "",
            row.product.grace_until.isoformat() if row.product.grace_until else "",
            row.certificate_expires_on.isoformat() if row.certificate_expires_on else "",
            "" if row.certificate_days_left is None else row.certificate_days_left,
            "" if unit.remaining_signatures is None else unit.remaining_signatures,
            row.level or "", _safe(" | ".join(row.reasons)),
        ])
    return "\ufeff" + buffer.getvalue()


def _safe(text: str) -> str:
    """No spreadsheet formula from a name an operator typed."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
