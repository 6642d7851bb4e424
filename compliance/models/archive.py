"""Re-verification of stored archives (DSFinV-K exports, TSE TAR exports, Kassen-Nachschau bundles).

Each run on demand stores one row: which archive (kind + public id), the outcome and the findings
(hash mismatch, missing file, TAR log message with an invalid signature …). Append-only.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["ArchiveKind", "ArchiveVerification"]


class ArchiveKind(models.TextChoices):
    DSFINVK = "dsfinvk", _("DSFinV-K export")
    TAR = "tar", _("TSE export (TAR)")
    NACHSCHAU = "nachschau", _("Kassen-Nachschau bundle")


class ArchiveVerification(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="archive_verifications", verbose_name=_("operator"))
    kind = models.CharField(_("archive"), max_length=10, choices=ArchiveKind.choices)
    archive_id = models.UUIDField(_("archive id"))
    passed = models.BooleanField(_("passed"))
    findings = models.JSONField(_("findings"), default=list, blank=True)
    checked_items = models.PositiveIntegerField(_("checked items"), default=0)
    verified_at = models.DateTimeField(_("verified at"), auto_now_add=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("verified by"))

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("archive verification")
        verbose_name_plural = _("archive verifications")
        ordering = ["-verified_at", "-pk"]
        base_manager_name = "unscoped"
        indexes = [models.Index(fields=["kind", "archive_id", "verified_at"], name="compliance_verification_of")]

    def __str__(self):
        return f"{self.kind} {self.archive_id} {'ok' if self.passed else 'failed'}"
