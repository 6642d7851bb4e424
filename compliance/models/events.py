"""Dated events that a § 146a (4) AO notification must report, each with its one-month deadline.

Recorded as they happen in the portal — most of them derived from configuration versions
(``compliance.services.events``). An event is *covered* once a notification of its Betriebsstätte
generated after it was confirmed as submitted; open events make the deadline list.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["NotificationEvent", "NotificationEventKind"]


class NotificationEventKind(models.TextChoices):
    ACQUIRED = "acquired", _("recording system acquired")
    COMMISSIONED = "commissioned", _("recording system commissioned")
    TSE_COMMISSIONED = "tse_commissioned", _("TSE commissioned")
    TSE_REPLACED = "tse_replaced", _("TSE replaced")
    MOVED_IN = "moved_in", _("recording system moved here")
    MOVED_OUT = "moved_out", _("recording system moved away")
    DECOMMISSIONED = "decommissioned", _("recording system decommissioned")
    PREMISES_CLOSED = "premises_closed", _("Betriebsstätte closed")
    MASTER_DATA_CHANGED = "master_data_changed", _("notified data changed")


class NotificationEvent(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="notification_events", verbose_name=_("operator"))
    betriebsstaette = models.ForeignKey("tenants.Betriebsstaette", on_delete=models.PROTECT,
                                        related_name="notification_events", verbose_name=_("Betriebsstätte"))
    kind = models.CharField(_("event"), max_length=24, choices=NotificationEventKind.choices)
    cash_register = models.ForeignKey("exports.CashRegister", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="notification_events", verbose_name=_("recording system"))
    signing_unit = models.ForeignKey("tse.SigningUnit", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="notification_events", verbose_name=_("TSE"))
    occurred_on = models.DateField(_("date"))
    deadline = models.DateField(_("notify by"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    configuration_version = models.ForeignKey("tenants.ConfigurationVersion", on_delete=models.PROTECT, null=True,
                                              blank=True, related_name="+")
    covered_by = models.ForeignKey("compliance.TaxOfficeNotification", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="covered_events", verbose_name=_("notified with"))
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("notification event")
        verbose_name_plural = _("notification events")
        ordering = ["deadline", "occurred_on", "pk"]
        base_manager_name = "unscoped"
        indexes = [models.Index(fields=["organization", "covered_by", "deadline"], name="compliance_event_open")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.occurred_on}"
