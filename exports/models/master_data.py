"""DSFinV-K master data (Stammdaten) of an operator, and its revisions.

- ``CashRegister``: one cash register (Kasse) = one POS registered as a client at a signing unit.
  ``Z_KASSE_ID`` = ``KASSE_SERIENNR`` = the TSE client id (dsfinvk.md §12.16); brand, model,
  software and version come from the creator's POS system; the location from the operator's
  outlet and its Betriebsstätte.
- ``VatDefinition``: an operator's own VAT keys (``UST_SCHLUESSEL`` ≥ 1000); the keys of
  Anlage 2 (1–8 and the historic ones) are data in ``exports.dsfinvk.vat_keys``.
- ``MasterDataRevision``: the master data of one cash register as they were exported with a
  closing — a snapshot keyed by DSFinV-K column names (see ``exports.services.master_data``).
  A change after a closing creates a new revision when the next closing is made; every closing
  references the revision valid when it was made. Append-only (PostgreSQL trigger).
"""

import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["CashRegister", "DecommissionReason", "MasterDataRevision", "VatDefinition", "VatSlot"]


class DecommissionReason(models.TextChoices):
    SOLD = "sold", _("sold")
    SCRAPPED = "scrapped", _("scrapped")
    STOLEN = "stolen", _("stolen or lost")
    DESTROYED = "destroyed", _("destroyed (total loss)")
    LEASE_ENDED = "lease_ended", _("lease or rental ended")
    REPLACED = "replaced", _("replaced by another system")
    OTHER = "other", _("other")


class CashRegister(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="cash_registers", verbose_name=_("operator"))
    client = models.OneToOneField("tse.TseClient", on_delete=models.PROTECT, related_name="cash_register",
                                  verbose_name=_("TSE client (POS serial number)"))
    outlet = models.ForeignKey("tenants.Outlet", on_delete=models.PROTECT, related_name="cash_registers",
                               verbose_name=_("outlet"))
    pos_system_version = models.ForeignKey("tenants.PosSystemVersion", on_delete=models.PROTECT,
                                           related_name="cash_registers", verbose_name=_("POS system and version"))
    base_currency = models.CharField(_("base currency"), max_length=3, default="EUR")
    no_vat_assignment = models.BooleanField(
        _("cannot assign VAT"), default=False,
        help_text=_("KEINE_UST_ZUORDNUNG: the register cannot determine the VAT of its sales."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    decommissioned_at = models.DateTimeField(_("decommissioned at"), null=True, blank=True)
    # § 146a (4) AO notification dates (compliance centre); empty: the date it was created / decommissioned
    acquired_on = models.DateField(_("acquired on"), null=True, blank=True,
                                   help_text=_("Invoice or delivery date, or the start of the lease."))
    commissioned_on = models.DateField(_("commissioned on"), null=True, blank=True,
                                       help_text=_("First day in use at this Betriebsstätte."))
    decommission_reason = models.CharField(_("reason for decommissioning"), max_length=20, blank=True,
                                           choices=DecommissionReason.choices)
    decommission_note = models.CharField(_("decommissioning note"), max_length=200, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("cash register")
        verbose_name_plural = _("cash registers")
        ordering = ["organization", "client__client_id", "pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return self.client.client_id

    @property
    def kasse_id(self) -> str:
        """``Z_KASSE_ID`` / ``KASSE_SERIENNR``."""
        return self.client.client_id


class VatSlot(models.TextChoices):
    """The processData slot (Kassenbeleg-V1) an individual VAT key falls on (dsfinvk.md §9.2)."""

    NORMAL = "NORMAL", _("general rate")
    REDUCED_1 = "REDUCED_1", _("reduced rate")
    SPECIAL_RATE_1 = "SPECIAL_RATE_1", _("average rate § 24(1) no. 3")
    SPECIAL_RATE_2 = "SPECIAL_RATE_2", _("average rate § 24(1) no. 1")
    NULL = "NULL", _("zero / not taxable")


class VatDefinition(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="vat_definitions", verbose_name=_("operator"))
    key = models.PositiveIntegerField(_("VAT key (UST_SCHLUESSEL)"), validators=[MinValueValidator(1000)])
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    description = models.CharField(_("description"), max_length=55)
    slot = models.CharField(_("processData slot"), max_length=16, choices=VatSlot.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("VAT definition")
        verbose_name_plural = _("VAT definitions")
        ordering = ["organization", "key"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="exports_vatdefinition_unique_key"),
            models.CheckConstraint(condition=models.Q(key__gte=1000), name="exports_vatdefinition_key_1000"),
        ]

    def __str__(self):
        return f"{self.key} ({self.rate} %)"


class MasterDataRevision(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="master_data_revisions", verbose_name=_("operator"))
    cash_register = models.ForeignKey(CashRegister, on_delete=models.PROTECT, related_name="revisions",
                                      verbose_name=_("cash register"))
    number = models.PositiveIntegerField(_("revision"))
    data = models.JSONField(_("master data"))
    digest = models.CharField(_("SHA-256 of the master data"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("master-data revision")
        verbose_name_plural = _("master-data revisions")
        ordering = ["cash_register", "number"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["cash_register", "number"], name="exports_masterdatarevision_unique"),
        ]

    def __str__(self):
        return f"{self.cash_register_id} r{self.number}"
