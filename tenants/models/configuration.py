"""The versioned fiscal configuration of an operator.

The configuration itself lives in its rows (Betriebsstätten and outlets here, signing units and POS
clients in ``tse``, cash registers in ``exports``). ``ConfigurationVersion`` records it after every
change as one JSON document (format ``kassenportal.configuration/1``, see
``tenants.services.configuration.document``) together with the changes against the previous version,
who made them (user or API key, and the dealer organization when a partner acted) and how (by hand,
by a rollout job, by an import). Append-only (PostgreSQL trigger).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["ConfigurationSource", "ConfigurationVersion"]


class ConfigurationSource(models.TextChoices):
    MANUAL = "manual", _("changed by hand")
    ROLLOUT = "rollout", _("rollout template")
    IMPORT = "import", _("configuration import")
    API = "api", _("API")


class ConfigurationVersion(models.Model):
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="configuration_versions", verbose_name=_("operator"))
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("configuration"))
    digest = models.CharField(_("SHA-256 of the configuration"), max_length=64)
    changes = models.JSONField(_("changes"), default=list)
    source = models.CharField(_("source"), max_length=10, choices=ConfigurationSource.choices,
                              default=ConfigurationSource.MANUAL)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("changed by"))
    actor_api_key = models.ForeignKey("tenants.ApiKey", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("API key"))
    acting_organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="+", verbose_name=_("on behalf by"))
    rollout_job = models.ForeignKey("tenants.RolloutJob", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="configuration_versions", verbose_name=_("rollout job"))
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")
        ordering = ["organization", "-number"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="tenants_configurationversion_unique"),
        ]

    def __str__(self):
        return f"{self.organization} v{self.number}"
