"""Health of a signing unit: its outages (AEAO zu § 146a Nr. 1.14/2.7) and the status they give.

``SigningUnit.health`` is green, yellow (``consecutive_failures`` signings failed in a row, reset
by the next success) or red (the TSE could not be initialized; every new signing retries). An
``Outage`` opens with the first failure and closes with the next success; it keeps start, end,
reason and the count of affected signings, and the affected API revisions point at it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["Health", "Outage", "OutageReason"]


class Health(models.TextChoices):
    GREEN = "green", _("operational")
    YELLOW = "yellow", _("signing failures")
    RED = "red", _("out of order")


class OutageReason(models.TextChoices):
    SIGNING_FAILED = "signing_failed", _("signing failed")
    INITIALIZATION_FAILED = "initialization_failed", _("initialization failed")
    TIMEOUT = "timeout", _("TSE did not answer in time")


class Outage(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="tse_outages",
                                     verbose_name=_("operator"))
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, related_name="outages",
                                     verbose_name=_("signing unit"))
    started_at = models.DateTimeField(_("start"))
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=30, choices=OutageReason.choices)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    failed_signings = models.PositiveIntegerField(_("failed signings"), default=0)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("TSE outage")
        verbose_name_plural = _("TSE outages")
        ordering = ["signing_unit", "-started_at", "-pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["signing_unit"], condition=models.Q(ended_at__isnull=True),
                                    name="tse_outage_one_open_per_unit"),
        ]

    def __str__(self):
        return f"{self.signing_unit_id} {self.started_at:%Y-%m-%d %H:%M} ({self.reason})"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
