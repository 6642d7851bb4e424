import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["LogEntry"]


class LogEntry(models.Model):
    """One business action: who did what to which object, for which organization. Append-only."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="log_entries", verbose_name=_("organization")
    )
    # For actions a partner takes on an operator's behalf: the partner's organization.
    acting_organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=100, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("user"),
    )
    actor_api_key = models.ForeignKey(
        "tenants.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("API key")
    )
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = ScopedManager(membership="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log entries")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"
        indexes = [models.Index(fields=["organization", "-created_at"], name="portal_logentry_org_time")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action}"

    @property
    def actor_display(self) -> str:
        if self.actor_api_key_id:
            return str(self.actor_api_key)
        if self.actor_user_id:
            return str(self.actor_user)
        return str(_("System"))
