"""Monthly billing: runs, invoices with gapless numbers, their lines.

- ``BillingRun``: one per period (calendar month in Europe/Berlin, ``period_start`` = its first
  day); ``unique`` + a row lock make re-running or racing runs issue nothing twice.
- ``InvoiceSequence``: the last number used per issuer and year, advanced under a row lock in the
  transaction that stores the invoices (gapless).
- ``Invoice``: issued once, then immutable (PostgreSQL trigger); issuer and recipient data are
  snapshots (§ 14 Abs. 4 UStG fields). A correction is a credit note (``kind=credit_note``)
  referencing the original.
- ``InvoiceLine``: one per billed signing unit (transactions, blocks, amount) or product.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["BillingRun", "BillingRunState", "Invoice", "InvoiceKind", "InvoiceLine", "InvoiceSequence"]


class BillingRunState(models.TextChoices):
    RUNNING = "running", _("running")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")


class BillingRun(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    period_start = models.DateField(_("period (first day)"), unique=True)
    period_end = models.DateField(_("period (last day)"))
    state = models.CharField(_("state"), max_length=10, choices=BillingRunState.choices,
                             default=BillingRunState.RUNNING)
    invoice_count = models.PositiveIntegerField(_("invoices"), default=0)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    net_total = models.DecimalField(_("net total"), max_digits=14, decimal_places=2, default=0)
    error_message = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-period_start"]

    def __str__(self):
        return f"{self.period_start:%Y-%m} ({self.state})"


class InvoiceSequence(models.Model):
    issuer_key = models.CharField(_("issuer"), max_length=40)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice number sequence")
        verbose_name_plural = _("invoice number sequences")
        constraints = [
            models.UniqueConstraint(fields=["issuer_key", "year"], name="tenants_invoicesequence_unique"),
        ]

    def __str__(self):
        return f"{self.issuer_key} {self.year}: {self.last_number}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")


class Invoice(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="invoices",
                                     verbose_name=_("recipient"))
    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices",
                            verbose_name=_("billing run"))
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="credit_notes", verbose_name=_("corrects invoice"))
    issuer_key = models.CharField(_("issuer"), max_length=40)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence number"))
    number = models.CharField(_("invoice number"), max_length=40)
    issued_on = models.DateField(_("invoice date"))
    period_start = models.DateField(_("service period from"))
    period_end = models.DateField(_("service period until"))
    issuer = models.JSONField(_("issuer data"))
    recipient = models.JSONField(_("recipient data"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    net_total = models.DecimalField(_("net total"), max_digits=14, decimal_places=2)
    vat_total = models.DecimalField(_("VAT"), max_digits=14, decimal_places=2)
    gross_total = models.DecimalField(_("gross total"), max_digits=14, decimal_places=2)
    vat_breakdown = models.JSONField(_("net and VAT per rate"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_on", "-sequence"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["issuer_key", "year", "sequence"], name="tenants_invoice_gapless_number"),
            models.UniqueConstraint(fields=["run", "organization"], condition=models.Q(kind="invoice"),
                                    name="tenants_invoice_one_per_run_recipient"),
        ]

    def __str__(self):
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines", verbose_name=_("invoice"))
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("recipient"))
    position = models.PositiveIntegerField(_("position"))
    product = models.ForeignKey("tenants.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("signing unit"))
    operator = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("operator"))
    description = models.CharField(_("description"), max_length=300)
    transactions = models.PositiveBigIntegerField(_("transactions"), default=0)
    blocks = models.PositiveIntegerField(_("blocks"), default=0)
    list_amount = models.DecimalField(_("list price (net)"), max_digits=12, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    net_amount = models.DecimalField(_("net amount"), max_digits=12, decimal_places=2)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="tenants_invoiceline_unique_position"),
        ]

    def __str__(self):
        return self.description
