"""BSI certifications of TSE products (BSI-K-TR-nnnn-yyyy), shipped as data and kept by staff.

Seeded from ``tse/data/bsi_certifications.json`` (the BSI list as published on 2026-09-09, see
reference/legal.md §9.2); staff update validity, withdrawal and grace dates in the admin. A TSE's
``bsi_certification_id`` names its product certification; the notification reports it as ``nnnn-yyyy``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["BsiCertification", "FormFactor"]


class FormFactor(models.TextChoices):
    """Bauform of a TSE (§ 146a (4) AO notification: "Art der TSE")."""

    USB = "usb", _("USB")
    SD = "sd", _("SD / microSD card")
    CLOUD = "cloud", _("cloud TSE")
    OTHER = "other", _("other")


class BsiCertification(models.Model):
    certification_id = models.CharField(_("BSI certification id"), max_length=40, unique=True,
                                        help_text=_("BSI-K-TR-nnnn-yyyy"))
    product = models.CharField(_("product"), max_length=200)
    applicant = models.CharField(_("applicant"), max_length=200)
    form_factor = models.CharField(_("form factor"), max_length=10, choices=FormFactor.choices, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    valid_until = models.DateField(_("certification valid until"), null=True, blank=True)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    grace_until = models.DateField(_("use allowed until (grace)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("BSI certification")
        verbose_name_plural = _("BSI certifications")
        ordering = ["certification_id"]

    def __str__(self):
        return self.certification_id
