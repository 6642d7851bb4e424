"""TAR export jobs of a signing unit (TR-03153): requested in the portal or the API, or monthly.

The worker writes the archive to the default storage (``file``) with its SHA-256 and size; the
filters are kept as requested so the job can be repeated and audited.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["ExportState", "TarExport"]


class ExportState(models.TextChoices):
    PENDING = "pending", _("waiting")
    RUNNING = "running", _("running")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")


def _export_path(instance, filename):
    return f"tse-exports/{instance.organization.public_id}/{instance.public_id}.tar"


class TarExport(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="tse_exports",
                                     verbose_name=_("operator"))
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, related_name="exports",
                                     verbose_name=_("signing unit"))
    requested_by = models.ForeignKey("tenants.User", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    scheduled = models.BooleanField(_("scheduled (monthly)"), default=False)
    start_time = models.DateTimeField(_("from"), null=True, blank=True)
    end_time = models.DateTimeField(_("until"), null=True, blank=True)
    start_transaction_number = models.PositiveBigIntegerField(_("from transaction number"), null=True, blank=True)
    end_transaction_number = models.PositiveBigIntegerField(_("to transaction number"), null=True, blank=True)
    client_id = models.CharField(_("client id"), max_length=30, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ExportState.choices, default=ExportState.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    log_count = models.PositiveIntegerField(_("log messages"), default=0)
    first_signature_counter = models.PositiveBigIntegerField(_("first signature counter"), null=True, blank=True)
    last_signature_counter = models.PositiveBigIntegerField(_("last signature counter"), null=True, blank=True)
    file = models.FileField(_("archive"), upload_to=_export_path, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    error_message = models.TextField(_("error"), blank=True)
    retain_until = models.DateField(_("retain until"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("TAR export")
        verbose_name_plural = _("TAR exports")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"
        indexes = [models.Index(fields=["signing_unit", "state", "finished_at"], name="tse_tarexport_unit_state")]

    def __str__(self):
        return f"{self.signing_unit_id} {self.created_at:%Y-%m-%d} ({self.state})"

    def delete(self, *args, **kwargs):
        from django.utils import timezone

        from exports.models import RetentionError

        if self.retain_until and self.retain_until >= timezone.localdate():
            raise RetentionError(f"archive {self.public_id} must be kept until {self.retain_until}")
        return super().delete(*args, **kwargs)

    @property
    def filters(self) -> dict:
        """The filters as ``write_tar_export`` takes them (only those set)."""
        values = {
            "time_from": self.start_time, "time_to": self.end_time,
            "transaction_from": self.start_transaction_number,
            "transaction_to": self.end_transaction_number, "client_id": self.client_id or None,
        }
        return {key: value for key, value in values.items() if value is not None}
