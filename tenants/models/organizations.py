import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["LegalForm", "Organization", "OrganizationRole", "RoleKind", "RoleStatus"]


class LegalForm(models.TextChoices):
    EINZELUNTERNEHMEN = "einzelunternehmen", _("Sole proprietorship (Einzelunternehmen)")
    EK = "ek", _("e.K. (registered merchant)")
    GBR = "gbr", _("GbR")
    OHG = "ohg", _("OHG")
    KG = "kg", _("KG")
    GMBH = "gmbh", _("GmbH")
    UG = "ug", _("UG (haftungsbeschränkt)")
    GMBH_CO_KG = "gmbh_co_kg", _("GmbH & Co. KG")
    AG = "ag", _("AG")
    EG = "eg", _("eG (cooperative)")
    EV = "ev", _("e.V. (registered association)")
    OTHER = "other", _("Other")


class RoleKind(models.TextChoices):
    CREATOR = "creator", _("POS creator")
    DEALER = "dealer", _("POS dealer")
    OPERATOR = "operator", _("POS operator")


class RoleStatus(models.TextChoices):
    # A role becomes active only once its contract is signed (partner onboarding).
    PENDING = "pending", _("Contract not signed yet")
    ACTIVE = "active", _("Active")
    TERMINATED = "terminated", _("Terminated")


class Organization(models.Model):
    """The tenant: a company that holds one or more of the roles creator, dealer, operator."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("company name"), max_length=200)
    legal_form = models.CharField(_("legal form"), max_length=20, choices=LegalForm.choices)
    street = models.CharField(_("street and number"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=10)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="DE")
    tax_number = models.CharField(_("tax number"), max_length=20, blank=True)
    vat_id = models.CharField(_("VAT id"), max_length=14, blank=True)
    w_idnr = models.CharField(_("business id (W-IdNr.)"), max_length=20, blank=True,
                              help_text=_("Wirtschafts-Identifikationsnummer, e.g. DE123456789-00001"))
    email = models.EmailField(_("company e-mail address"), blank=True,
                              help_text=_("Invoices and notices are sent here."))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # Visible to a caller only if its id is in the active scope.
    objects = ScopedManager(organization="pk")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name", "pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return self.name

    def has_role(self, kind: str, *, active_only: bool = False) -> bool:
        roles = self.roles.all()
        return any(r.kind == kind and (r.status == RoleStatus.ACTIVE or not active_only) for r in roles)


class OrganizationRole(models.Model):
    """One role an organization holds or has applied for."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(_("role"), max_length=20, choices=RoleKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=RoleStatus.choices, default=RoleStatus.PENDING)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("organization role")
        verbose_name_plural = _("organization roles")
        ordering = ["organization", "kind"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="tenants_organizationrole_unique_kind")
        ]

    def __str__(self):
        return f"{self.organization} · {self.get_kind_display()}"
