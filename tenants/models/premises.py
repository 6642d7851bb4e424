import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["Betriebsstaette", "Outlet"]


class AddressMixin(models.Model):
    street = models.CharField(_("street"), max_length=200)
    house_number = models.CharField(_("house number"), max_length=20)
    postal_code = models.CharField(_("postal code"), max_length=10)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="DE")

    class Meta:
        abstract = True


class Betriebsstaette(AddressMixin):
    """A permanent establishment (§ 12 AO): the unit of the tax-office notification."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="premises")
    name = models.CharField(_("name"), max_length=200)
    reference = models.CharField(_("configuration key"), max_length=50, blank=True,
                                 help_text=_("Names it in configuration documents and rollout templates."))
    remarks = models.TextField(_("remarks for the tax office"), blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("Betriebsstätte (tax premises)")
        verbose_name_plural = _("Betriebsstätten (tax premises)")
        ordering = ["organization", "name", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"], condition=~models.Q(reference=""),
                                    name="tenants_betriebsstaette_unique_reference"),
        ]

    def __str__(self):
        return self.name


class Outlet(AddressMixin):
    """A location (Standort/Filiale) of an operator. Its number never changes once set."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="outlets")
    number = models.PositiveIntegerField(_("outlet number"))
    name = models.CharField(_("name"), max_length=200)
    betriebsstaette = models.ForeignKey(Betriebsstaette, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="outlets", verbose_name=_("Betriebsstätte"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("outlet")
        verbose_name_plural = _("outlets")
        ordering = ["organization", "number", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="tenants_outlet_unique_number"),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"
