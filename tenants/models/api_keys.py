import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["ApiKey"]


class ApiKey(models.Model):
    """A machine credential bound to one organization.

    The full key ``<prefix><key_id>.<secret>`` is shown once; only an HMAC-SHA256 digest of the
    secret (peppered with the server's SECRET_KEY) is stored. ``key_id`` is the lookup handle.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12)
    key_id = models.CharField(_("key id"), max_length=16, unique=True)
    secret_digest = models.CharField(max_length=64)
    can_write = models.BooleanField(_("write access"), default=False)
    # A key for a POS device: only the signing API (/api/v1/tss…) of its own organization.
    pos_device = models.BooleanField(_("POS device (signing API only)"), default=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    objects = ScopedManager(membership="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def display_prefix(self) -> str:
        return f"{self.prefix}{self.key_id}"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    @property
    def rights(self) -> list[str]:
        return ["read", "write"] if self.can_write else ["read"]
