"""Signed log messages (append-only) and the transactions they belong to."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["LogMessage", "LogMessageKind", "TransactionState", "TseTransaction"]


class LogMessageKind(models.TextChoices):
    TRANSACTION = "transaction", _("transaction log")
    SYSTEM = "system", _("system log")
    AUDIT = "audit", _("audit log")


class LogMessage(models.Model):
    """One signed TR-03151 log message, stored byte for byte (``der``) as the TSE produced it.

    Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE (migration ``tse.0002``).
    ``file_name`` is its TAR member name (tse.md §4.2).
    """

    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, related_name="log_messages",
                                     verbose_name=_("signing unit"))
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="tse_log_messages", verbose_name=_("operator"))
    kind = models.CharField(_("kind"), max_length=12, choices=LogMessageKind.choices)
    signature_counter = models.PositiveBigIntegerField(_("signature counter"))
    transaction_number = models.PositiveBigIntegerField(_("transaction number"), null=True, blank=True)
    client_id = models.CharField(_("client id"), max_length=30, blank=True)
    operation_type = models.CharField(_("operation type"), max_length=40)
    log_time = models.DateTimeField(_("log time"))
    file_name = models.CharField(_("file name"), max_length=100)
    der = models.BinaryField(_("DER encoding"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("log message")
        verbose_name_plural = _("log messages")
        ordering = ["signing_unit", "signature_counter"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["signing_unit", "signature_counter"],
                                    name="tse_logmessage_unique_signature_counter"),
        ]
        indexes = [
            models.Index(fields=["signing_unit", "transaction_number"], name="tse_logmsg_unit_txnr"),
            models.Index(fields=["signing_unit", "log_time"], name="tse_logmsg_unit_time"),
        ]

    def __str__(self):
        return self.file_name


class TransactionState(models.TextChoices):
    ACTIVE = "ACTIVE", _("active")
    FINISHED = "FINISHED", _("finished")
    CANCELLED = "CANCELLED", _("cancelled")


class TseTransaction(models.Model):
    """A TSE transaction: started, updated (signed), finished or cancelled; numbered per signing unit."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="tse_transactions", verbose_name=_("operator"))
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, related_name="transactions",
                                     verbose_name=_("signing unit"))
    client = models.ForeignKey("tse.TseClient", on_delete=models.PROTECT, related_name="transactions",
                               verbose_name=_("client"))
    number = models.PositiveBigIntegerField(_("transaction number"))
    state = models.CharField(_("state"), max_length=10, choices=TransactionState.choices,
                             default=TransactionState.ACTIVE)
    process_type = models.CharField(_("process type"), max_length=100, blank=True)
    process_data = models.BinaryField(_("process data"), blank=True, default=b"")
    time_start = models.DateTimeField(_("start time"))
    time_end = models.DateTimeField(_("end time"), null=True, blank=True)
    last_revision = models.PositiveIntegerField(_("last revision"), default=1)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("TSE transaction")
        verbose_name_plural = _("TSE transactions")
        ordering = ["signing_unit", "number"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["signing_unit", "number"], name="tse_tsetransaction_unique_number"),
        ]
        # monthly billing and usage count a unit's transactions by start time
        indexes = [models.Index(fields=["signing_unit", "time_start"], name="tse_tx_unit_time_start")]

    def __str__(self):
        return f"{self.number} ({self.state})"
