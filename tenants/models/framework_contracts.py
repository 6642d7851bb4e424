import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["DiscountTier", "FrameworkContract"]


class FrameworkContract(models.Model):
    """A dealer's framework contract (Rahmenvertrag): planned volume, discount tiers, credit limit.

    Created by portal staff, countersigned by the dealer in the portal; billing reads the discount
    from the contract in force.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="framework_contracts",
        verbose_name=_("dealer"),
    )
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("contract text"))
    planned_volume = models.PositiveIntegerField(_("planned volume (signing units)"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    credit_limit = models.DecimalField(_("credit limit (EUR)"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    countersigned_at = models.DateTimeField(_("countersigned at"), null=True, blank=True)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    countersign_name = models.CharField(_("typed full name"), max_length=200, blank=True)
    countersign_sha256 = models.CharField(_("SHA-256 of the text shown"), max_length=64, blank=True)
    countersign_ip = models.GenericIPAddressField(null=True, blank=True)
    countersign_user_agent = models.CharField(max_length=500, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("framework contract")
        verbose_name_plural = _("framework contracts")
        ordering = ["organization", "-starts_on", "-pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gt=models.F("starts_on")),
                                   name="tenants_frameworkcontract_term_positive"),
            models.CheckConstraint(condition=models.Q(credit_limit__gte=0),
                                   name="tenants_frameworkcontract_credit_limit_not_negative"),
        ]

    def __str__(self):
        return f"{self.organization} · {self.title}"


class DiscountTier(models.Model):
    """From ``min_units`` signing units on, ``percent`` off."""

    contract = models.ForeignKey(FrameworkContract, on_delete=models.CASCADE, related_name="tiers")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    min_units = models.PositiveIntegerField(_("from signing units"))
    percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("discount tier")
        verbose_name_plural = _("discount tiers")
        ordering = ["contract", "min_units"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["contract", "min_units"], name="tenants_discounttier_unique_min_units"),
            models.CheckConstraint(condition=models.Q(percent__gt=0, percent__lte=100),
                                   name="tenants_discounttier_percent_range"),
        ]

    def __str__(self):
        return f"≥ {self.min_units}: {self.percent} %"
