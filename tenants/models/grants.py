from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.tenancy import PartyScopedManager

__all__ = ["AccessGrant", "AccessRight"]


class AccessRight(models.TextChoices):
    READ = "read", _("Read")
    CONFIGURE = "configure", _("Configure")
    ENTITLEMENTS = "entitlements", _("Manage entitlements")
    SIGN_CONTRACTS = "sign_contracts", _("Sign contracts")


class AccessGrant(models.Model):
    """One right an operator grants a dealer. Revoking sets ``revoked_at``; rows are never deleted."""

    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="grants_given", verbose_name=_("operator")
    )
    dealer = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="grants_received", verbose_name=_("dealer")
    )
    right = models.CharField(_("right"), max_length=20, choices=AccessRight.choices)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # the operator and the dealer see a grant; other dealers of the same operator do not
    objects = PartyScopedManager("organization", "dealer")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        ordering = ["organization", "dealer", "right", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dealer", "right"],
                condition=Q(revoked_at__isnull=True),
                name="tenants_accessgrant_unique_active_right",
            )
        ]

    def __str__(self):
        return f"{self.organization} → {self.dealer}: {self.right}"
