"""Products, price plans, entitlements and their orders.

- ``Product``: what the portal sells through dealers (signing-unit subscription, DSFinV-K archive,
  tax-office notification), maintained by portal staff.
- ``PricePlan``: the price of a product from ``valid_from`` (always the first day of a month) on;
  plans are data, never code. A change is a new plan valid from a later month: a period is priced
  by the plan valid on its first day, so nothing changes retroactively.
  Metered plans (signing units): ``base_fee`` per month covers ``included_transactions``; each
  further started ``block_size`` transactions adds ``block_price``, at most ``max_blocks`` blocks in
  all (base included) — reference/domain.md §10.1.
- ``EntitlementOrder``: one purchase by a dealer (quantity, list price, framework-contract discount).
- ``Entitlement``: one claim bought by a dealer: ``stock`` → ``assigned`` (to an operator's outlet)
  → ``active`` (activated for a signing unit or outlet: billable from then on; a subscription with a
  term that renews unless cancelled; a cancellation takes effect at the end of the term).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenancy import PartyScopedManager

__all__ = ["Entitlement", "EntitlementOrder", "EntitlementState", "PricePlan", "Product", "ProductKind"]


class ProductKind(models.TextChoices):
    SIGNING_UNIT = "signing_unit", _("Signing unit (TSE) subscription")
    DSFINVK_ARCHIVE = "dsfinvk_archive", _("DSFinV-K archive")
    TAX_NOTIFICATION = "tax_notification", _("Tax-office notification")


class Product(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(_("product code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=ProductKind.choices)
    description = models.TextField(_("description"), blank=True)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2, default=19)
    active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class PricePlan(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plans", verbose_name=_("product"))
    valid_from = models.DateField(_("valid from (first day of a month)"))
    base_fee = models.DecimalField(_("base fee per month (EUR, net)"), max_digits=10, decimal_places=2)
    included_transactions = models.PositiveIntegerField(_("transactions included in the base fee"), default=0)
    block_size = models.PositiveIntegerField(_("block size (transactions)"), default=0)
    block_price = models.DecimalField(_("price per further block (EUR, net)"), max_digits=10, decimal_places=2,
                                      default=0)
    max_blocks = models.PositiveIntegerField(_("maximum blocks per month (base included)"), default=1)
    term_months = models.PositiveSmallIntegerField(_("term (months)"), default=12)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("price plan")
        verbose_name_plural = _("price plans")
        ordering = ["product", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["product", "valid_from"], name="tenants_priceplan_unique_month"),
            models.CheckConstraint(condition=models.Q(max_blocks__gte=1), name="tenants_priceplan_max_blocks"),
            models.CheckConstraint(condition=models.Q(term_months__gte=1), name="tenants_priceplan_term"),
        ]

    def __str__(self):
        return f"{self.product} from {self.valid_from}"


class EntitlementOrder(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    dealer = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="entitlement_orders",
                               verbose_name=_("dealer"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    plan = models.ForeignKey(PricePlan, on_delete=models.PROTECT, related_name="+", verbose_name=_("price plan"))
    quantity = models.PositiveIntegerField(_("quantity"))
    list_unit_price = models.DecimalField(_("list price per month (EUR, net)"), max_digits=10, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    commitment = models.DecimalField(_("commitment (EUR, net)"), max_digits=12, decimal_places=2,
                                     help_text=_("quantity × base fee × term, after discount: counts against "
                                                 "the credit limit"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("ordered at"), auto_now_add=True)

    objects = PartyScopedManager("dealer", dimension="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("entitlement order")
        verbose_name_plural = _("entitlement orders")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.quantity} × {self.product}"


class EntitlementState(models.TextChoices):
    STOCK = "stock", _("in stock")
    ASSIGNED = "assigned", _("assigned")
    ACTIVE = "active", _("active")
    ENDED = "ended", _("ended")


class Entitlement(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    dealer = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="entitlements",
                               verbose_name=_("dealer"))
    order = models.ForeignKey(EntitlementOrder, on_delete=models.PROTECT, related_name="entitlements",
                              verbose_name=_("order"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    state = models.CharField(_("state"), max_length=10, choices=EntitlementState.choices,
                             default=EntitlementState.STOCK)
    operator = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="received_entitlements", verbose_name=_("operator"))
    outlet = models.ForeignKey("tenants.Outlet", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="entitlements", verbose_name=_("outlet"))
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="entitlements", verbose_name=_("signing unit"))
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    activated_by_dealer = models.BooleanField(_("activated by the dealer"), default=True,
                                              help_text=_("the dealer is billed; otherwise the operator"))
    term_start = models.DateField(_("term starts"), null=True, blank=True)
    term_end = models.DateField(_("term ends (last day)"), null=True, blank=True)
    auto_renew = models.BooleanField(_("renews automatically"), default=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # the dealer sees its stock and what it assigned; the operator what was assigned to it
    objects = PartyScopedManager("dealer", "operator", dimension="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        ordering = ["dealer", "state", "created_at", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            # one active subscription per signing unit
            models.UniqueConstraint(fields=["signing_unit"], condition=models.Q(state="active"),
                                    name="tenants_entitlement_one_active_per_unit"),
        ]
        indexes = [models.Index(fields=["state", "term_end"], name="tenants_entitlement_state_end")]

    def __str__(self):
        return f"{self.product} ({self.state})"
