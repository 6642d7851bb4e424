"""Kassen-Nachschau bundles: for one Betriebsstätte and period, the DSFinV-K export, the TAR exports of
its TSEs and a PDF summary in one ZIP, built by a worker with progress, kept like every archive."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["BundleState", "NachschauBundle"]


class BundleState(models.TextChoices):
    PENDING = "PENDING", _("waiting")
    WORKING = "WORKING", _("working")
    COMPLETED = "COMPLETED", _("completed")
    ERROR = "ERROR", _("failed")


def _bundle_path(instance, filename):
    return f"nachschau/{instance.organization.public_id}/{instance.public_id}.zip"


class NachschauBundle(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="nachschau_bundles", verbose_name=_("operator"))
    betriebsstaette = models.ForeignKey("tenants.Betriebsstaette", on_delete=models.PROTECT,
                                        related_name="nachschau_bundles", verbose_name=_("Betriebsstätte"))
    date_from = models.DateField(_("from (day)"))
    date_to = models.DateField(_("until (day)"))
    state = models.CharField(_("state"), max_length=10, choices=BundleState.choices, default=BundleState.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("current step"), max_length=200, blank=True)
    members = models.JSONField(_("contents"), default=list, blank=True)
    file = models.FileField(_("bundle"), upload_to=_bundle_path, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    retain_until = models.DateField(_("retain until"), null=True, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("requested by"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("Kassen-Nachschau bundle")
        verbose_name_plural = _("Kassen-Nachschau bundles")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.betriebsstaette} {self.date_from}–{self.date_to}"

    def delete(self, *args, **kwargs):
        from django.utils import timezone

        from exports.models import RetentionError

        if self.retain_until and self.retain_until >= timezone.localdate():
            raise RetentionError(f"archive {self.public_id} must be kept until {self.retain_until}")
        return super().delete(*args, **kwargs)
