"""State of the POS signing API (fiskaly SIGN DE v2 style) kept beside the signing units.

- ``TssAdmin``: the admin credentials of a TSS created through the API — the PUK and PIN are
  stored as password hashes only, the failed PIN attempts and the API key that is logged in as
  admin; plus the request hash of the creating ``PUT`` (idempotency).
- ``ApiTransaction``: one transaction as the POS knows it (its client-generated ``tx_id``), with
  the latest accepted revision and state and, once the start was signed, the TSE transaction.
- ``ApiTransactionRevision``: one ``PUT …/tx/{tx_id}?tx_revision=n`` request: the hash of its body,
  the process data derived from it and, once signed, the stored answer. A revision is signed at
  most once: its answer is stored in the database transaction that stores the log message.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["ApiTransaction", "ApiTransactionRevision", "RevisionStatus", "TssAdmin"]


class TssAdmin(models.Model):
    signing_unit = models.OneToOneField("tse.SigningUnit", on_delete=models.PROTECT, related_name="api_admin",
                                        verbose_name=_("signing unit"))
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="tse_api_admins", verbose_name=_("operator"))
    request_hash = models.CharField(_("request hash"), max_length=64)
    puk_hash = models.CharField(_("admin PUK hash"), max_length=200)
    pin_hash = models.CharField(_("admin PIN hash"), max_length=200, blank=True)
    pin_failures = models.PositiveSmallIntegerField(_("failed PIN attempts"), default=0)
    pin_blocked = models.BooleanField(_("PIN blocked"), default=True)
    admin_api_key = models.ForeignKey("tenants.ApiKey", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+", verbose_name=_("API key logged in as admin"))
    time_uninit = models.DateTimeField(_("uninitialized at"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("TSS administration")
        verbose_name_plural = _("TSS administrations")
        ordering = ["signing_unit"]
        base_manager_name = "unscoped"

    def __str__(self):
        return str(self.signing_unit)


class ApiTransaction(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="tse_api_transactions", verbose_name=_("operator"))
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, related_name="api_transactions",
                                     verbose_name=_("signing unit"))
    tx_id = models.UUIDField(_("transaction id"))
    client = models.ForeignKey("tse.TseClient", on_delete=models.PROTECT, related_name="api_transactions",
                               verbose_name=_("client"))
    state = models.CharField(_("state"), max_length=10)
    latest_revision = models.PositiveIntegerField(_("latest revision"), default=1)
    transaction = models.OneToOneField("tse.TseTransaction", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="api_transaction", verbose_name=_("TSE transaction"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("API transaction")
        verbose_name_plural = _("API transactions")
        ordering = ["signing_unit", "created_at", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["signing_unit", "tx_id"], name="tse_apitransaction_unique_tx_id"),
        ]
        indexes = [models.Index(fields=["signing_unit", "state"], name="tse_apitx_unit_state")]

    def __str__(self):
        return str(self.tx_id)


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SIGNED = "signed", _("signed")
    FAILED = "failed", _("failed")


class ApiTransactionRevision(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="tse_api_revisions", verbose_name=_("operator"))
    api_transaction = models.ForeignKey(ApiTransaction, on_delete=models.PROTECT, related_name="revisions",
                                        verbose_name=_("transaction"))
    revision = models.PositiveIntegerField(_("revision"))
    state = models.CharField(_("requested state"), max_length=10)
    body_hash = models.CharField(_("request body hash"), max_length=64)
    schema = models.JSONField(_("schema"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    process_type = models.CharField(_("process type"), max_length=100, blank=True)
    process_data = models.TextField(_("process data"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RevisionStatus.choices,
                              default=RevisionStatus.PENDING)
    response = models.JSONField(_("stored response"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    attempts = models.PositiveIntegerField(_("signing attempts"), default=0)
    outage = models.ForeignKey("tse.Outage", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="affected_revisions", verbose_name=_("outage"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("API transaction revision")
        verbose_name_plural = _("API transaction revisions")
        ordering = ["api_transaction", "revision"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["api_transaction", "revision"], name="tse_apirevision_unique_revision"),
        ]

    def __str__(self):
        return f"{self.api_transaction_id} r{self.revision} ({self.status})"
