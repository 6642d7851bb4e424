"""Connection data of TSEs that are not in this process: a LAN TSE in the shop, a fiskaly TSS.

- ``LanTseConnection``: host and port (default 4433) of the TSE in the shop's network, its API
  token (stored AES-GCM encrypted, ``portal.crypto`` purpose ``lan-tse-token``), the TSE's serial
  number. Signing tasks for the unit go to its own Celery queue ``tse.<public_id>`` so that a worker
  inside the shop's network serves it.
- ``FiskalyTss``: the fiskaly TSS behind a unit (same UUID as the unit), with its admin PUK and
  PIN stored encrypted (purpose ``fiskaly-admin``) because the adapter needs them to
  authenticate as admin.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["DEFAULT_LAN_TSE_PORT", "FiskalyTss", "LanTseConnection"]

DEFAULT_LAN_TSE_PORT = 4433


class LanTseConnection(models.Model):
    signing_unit = models.OneToOneField("tse.SigningUnit", on_delete=models.PROTECT, related_name="lan_connection",
                                        verbose_name=_("signing unit"))
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="lan_tse_connections", verbose_name=_("operator"))
    host = models.CharField(_("host"), max_length=253)
    port = models.PositiveIntegerField(_("port"), default=DEFAULT_LAN_TSE_PORT)
    encrypted_token = models.BinaryField(_("encrypted API token"), editable=False)
    tse_serial_number = models.CharField(_("TSE serial number"), max_length=64)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("LAN TSE connection")
        verbose_name_plural = _("LAN TSE connections")
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.host}:{self.port}"


class FiskalyTss(models.Model):
    signing_unit = models.OneToOneField("tse.SigningUnit", on_delete=models.PROTECT, related_name="fiskaly_tss",
                                        verbose_name=_("signing unit"))
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="fiskaly_tss", verbose_name=_("operator"))
    encrypted_admin_puk = models.BinaryField(_("encrypted admin PUK"), editable=False, null=True)
    encrypted_admin_pin = models.BinaryField(_("encrypted admin PIN"), editable=False, null=True)
    remote_state = models.CharField(_("state at fiskaly"), max_length=20, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("fiskaly TSS")
        verbose_name_plural = _("fiskaly TSS")
        base_manager_name = "unscoped"

    def __str__(self):
        return str(self.signing_unit_id)
