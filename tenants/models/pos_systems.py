import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenancy import PartyScopedManager

__all__ = ["PosSystem", "PosSystemDealer", "PosSystemType", "PosSystemVersion"]


class PosSystemType(models.TextChoices):
    """Art des elektronischen Aufzeichnungssystems (§ 146a Abs. 4 AO notification)."""

    PC_POS = "pc_pos", _("Computer-based / PC POS system")
    TABLET_APP = "tablet_app", _("Tablet / app POS system")
    ELECTRONIC_REGISTER = "electronic_register", _("Electronic cash register")
    TAXIMETER = "taximeter", _("Taximeter (EU)")
    ODOMETER = "odometer", _("Odometer")
    OTHER = "other", _("Other electronic recording system with cash function")


class PosSystem(models.Model):
    """A POS system (Kassensystem) a creator registers. Its public id never changes."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="pos_systems", verbose_name=_("creator")
    )
    name = models.CharField(_("name"), max_length=200)
    brand = models.CharField(_("brand / manufacturer"), max_length=200)
    model = models.CharField(_("model"), max_length=200)
    system_type = models.CharField(_("type"), max_length=30, choices=PosSystemType.choices)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    # The creator sees its systems; a dealer sees those shared with it.
    objects = PartyScopedManager("organization", "dealer_links__dealer")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("POS system")
        verbose_name_plural = _("POS systems")
        ordering = ["name", "pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.brand} {self.name}"


class PosSystemVersion(models.Model):
    """A software version of a POS system (DSFinV-K KASSE_SW_VERSION)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    pos_system = models.ForeignKey(PosSystem, on_delete=models.PROTECT, related_name="versions")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+")
    software_name = models.CharField(_("software name"), max_length=200)
    software_version = models.CharField(_("software version"), max_length=50)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PartyScopedManager("organization", "pos_system__dealer_links__dealer")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("POS system version")
        verbose_name_plural = _("POS system versions")
        ordering = ["pos_system", "-created_at", "-pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["pos_system", "software_version"],
                                    name="tenants_possystemversion_unique_version")
        ]

    def __str__(self):
        return f"{self.software_name} {self.software_version}"


class PosSystemDealer(models.Model):
    """A creator shares a POS system with a dealer, who then sees and may deploy it."""

    pos_system = models.ForeignKey(PosSystem, on_delete=models.PROTECT, related_name="dealer_links")
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("creator")
    )
    dealer = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="shared_pos_systems", verbose_name=_("dealer")
    )
    created_at = models.DateTimeField(_("shared at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    objects = PartyScopedManager("organization", "dealer")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("POS system shared with a dealer")
        verbose_name_plural = _("POS systems shared with dealers")
        ordering = ["pos_system", "dealer", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["pos_system", "dealer"], name="tenants_possystemdealer_unique")
        ]

    def __str__(self):
        return f"{self.pos_system} → {self.dealer}"
