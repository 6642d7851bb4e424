"""Cash point closings (Kassenabschlüsse) handed in by POS systems, and their transactions.

``CashPointClosing`` keeps the request (``payload``, fiskaly DSFinV-K model, api-conventions.md
§2.3) while it waits (``PENDING``), and once the worker accepted it (``COMPLETED``) the
normalised ``document`` the exporter writes from — keyed by DSFinV-K column names (see
``exports.services.closing_document``) — the master-data revision, ``Z_ERSTELLUNG`` as the one
string every file repeats, and its totals. A rejected closing (``ERROR``) keeps only its error
list: no document, no transactions, never exported. Completed closings are append-only
(PostgreSQL trigger); ``Z_NR`` is unique and gapless per cash register.

``ClosingTransaction`` indexes the transactions of completed closings: ``BON_ID`` unique per cash
register, each TSE transaction used by at most one of them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["CashPointClosing", "ClosingState", "ClosingTransaction"]


class ClosingState(models.TextChoices):
    PENDING = "PENDING", _("waiting")
    WORKING = "WORKING", _("being processed")
    COMPLETED = "COMPLETED", _("accepted")
    ERROR = "ERROR", _("rejected")


class CashPointClosing(models.Model):
    closing_id = models.UUIDField(_("closing id"), unique=True)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="cash_point_closings", verbose_name=_("operator"))
    cash_register = models.ForeignKey("exports.CashRegister", on_delete=models.PROTECT, related_name="closings",
                                      verbose_name=_("cash register"))
    z_nr = models.PositiveBigIntegerField(_("closing number (Z_NR)"))
    export_creation_date = models.DateTimeField(_("closing made at"))
    business_date = models.DateField(_("business date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ClosingState.choices, default=ClosingState.PENDING)
    request_hash = models.CharField(_("request hash"), max_length=64)
    payload = models.JSONField(_("request"), null=True, blank=True)
    document = models.JSONField(_("DSFinV-K data"), null=True, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    revision = models.ForeignKey("exports.MasterDataRevision", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="closings", verbose_name=_("master-data revision"))
    z_erstellung = models.CharField(_("Z_ERSTELLUNG"), max_length=30, blank=True)
    full_amount = models.DecimalField(_("total of all payments"), max_digits=15, decimal_places=2,
                                      null=True, blank=True)
    cash_amount = models.DecimalField(_("total of cash payments"), max_digits=15, decimal_places=2,
                                      null=True, blank=True)
    first_bon_id = models.CharField(_("first transaction (Z_START_ID)"), max_length=40, blank=True)
    last_bon_id = models.CharField(_("last transaction (Z_ENDE_ID)"), max_length=40, blank=True)
    transaction_count = models.PositiveIntegerField(_("transactions"), default=0)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("cash point closing")
        verbose_name_plural = _("cash point closings")
        ordering = ["cash_register", "z_nr", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["cash_register", "z_nr"], condition=models.Q(state="COMPLETED"),
                                    name="exports_closing_unique_z_nr"),
        ]
        indexes = [
            models.Index(fields=["organization", "state", "export_creation_date"], name="exports_closing_org_date"),
            models.Index(fields=["cash_register", "state", "z_nr"], name="exports_closing_register_znr"),
        ]

    def __str__(self):
        return f"Z {self.z_nr} ({self.state})"


class ClosingTransaction(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("operator"))
    closing = models.ForeignKey(CashPointClosing, on_delete=models.PROTECT, related_name="transactions",
                                verbose_name=_("closing"))
    cash_register = models.ForeignKey("exports.CashRegister", on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("cash register"))
    bon_id = models.CharField(_("transaction id (BON_ID)"), max_length=40)
    tse_transaction = models.OneToOneField("tse.TseTransaction", on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="closing_transaction", verbose_name=_("TSE transaction"))

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("closing transaction")
        verbose_name_plural = _("closing transactions")
        ordering = ["closing", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["cash_register", "bon_id"], name="exports_closingtx_unique_bon_id"),
        ]

    def __str__(self):
        return self.bon_id
