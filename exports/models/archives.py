"""DSFinV-K export jobs and the archives they store.

A job is requested in the portal ("export" or "Kassen-Nachschau: export now"), through the API,
or monthly by beat. The worker streams the ZIP to a temporary file, checks it with the project's
own validator (``exports.dsfinvk.validator``), then stores it with SHA-256, size and the
validation report. A failed check marks the export (``validation_passed=False``); it is never
shown as valid. Archives are kept until ``retain_until`` (10 years after the end of the calendar
year of the newest closing it holds, § 147 (3), (4) AO); before that, deletion is refused (model
and PostgreSQL trigger).
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["DsfinvkExport", "DsfinvkExportKind", "DsfinvkExportState", "RetentionError"]


class DsfinvkExportState(models.TextChoices):
    PENDING = "PENDING", _("waiting")
    WORKING = "WORKING", _("running")
    COMPLETED = "COMPLETED", _("completed")
    ERROR = "ERROR", _("failed")


class DsfinvkExportKind(models.TextChoices):
    ON_DEMAND = "on_demand", _("on demand")
    NACHSCHAU = "nachschau", _("Kassen-Nachschau")
    SCHEDULED = "scheduled", _("monthly")


class RetentionError(Exception):
    """An archive cannot be deleted before its retention date."""


def _archive_path(instance, filename):
    return f"dsfinvk-exports/{instance.organization.public_id}/{instance.public_id}.zip"


class DsfinvkExport(models.Model):
    public_id = models.UUIDField(_("export id"), default=uuid.uuid4, unique=True)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="dsfinvk_exports", verbose_name=_("operator"))
    kind = models.CharField(_("kind"), max_length=10, choices=DsfinvkExportKind.choices,
                            default=DsfinvkExportKind.ON_DEMAND)
    requested_by = models.ForeignKey("tenants.User", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    request_hash = models.CharField(_("request hash"), max_length=64, blank=True)
    # Filters: no cash registers = all of the operator's; a date range (business day in Berlin of
    # the closing) or a Z_NR range, or neither (everything closed).
    cash_registers = models.ManyToManyField("exports.CashRegister", blank=True, related_name="+",
                                            verbose_name=_("cash registers"))
    date_from = models.DateField(_("from (day)"), null=True, blank=True)
    date_to = models.DateField(_("until (day)"), null=True, blank=True)
    z_nr_from = models.PositiveBigIntegerField(_("from Z_NR"), null=True, blank=True)
    z_nr_to = models.PositiveBigIntegerField(_("to Z_NR"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=DsfinvkExportState.choices,
                             default=DsfinvkExportState.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    closing_count = models.PositiveIntegerField(_("closings"), default=0)
    transaction_count = models.PositiveIntegerField(_("transactions"), default=0)
    file = models.FileField(_("archive"), upload_to=_archive_path, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    validation_passed = models.BooleanField(_("validation passed"), null=True, blank=True)
    validation_report = models.JSONField(_("validation report"), default=list, blank=True)
    retain_until = models.DateField(_("retain until"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("DSFinV-K export")
        verbose_name_plural = _("DSFinV-K exports")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"
        indexes = [models.Index(fields=["organization", "state", "created_at"], name="exports_dsfinvk_org_state")]

    def __str__(self):
        return f"DSFinV-K {self.created_at:%Y-%m-%d} ({self.state})"

    def delete(self, *args, **kwargs):
        from django.utils import timezone

        if self.retain_until and self.retain_until >= timezone.localdate():
            raise RetentionError(f"archive {self.public_id} must be kept until {self.retain_until}")
        return super().delete(*args, **kwargs)
