import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["ContractKind", "ContractSignature", "ContractVersion", "SignatureAction"]


class ContractKind(models.TextChoices):
    CREATOR_COOPERATION = "creator_cooperation", _("Cooperation contract for POS creators")
    DEALER_COOPERATION = "dealer_cooperation", _("Cooperation contract for POS dealers")
    OPERATOR_USAGE = "operator_usage", _("Usage agreement for POS operators")


class ContractVersion(models.Model):
    """One version of a role contract text, in German and English. Portal staff add versions;
    old versions stay readable. The newest published version is the current one."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("contract"), max_length=30, choices=ContractKind.choices)
    version = models.PositiveIntegerField(_("version"))
    title_de = models.CharField(_("title (German)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    text_de = models.TextField(_("text (German)"))
    text_en = models.TextField(_("text (English)"))
    published_at = models.DateTimeField(_("published at"))
    requires_resign = models.BooleanField(
        _("requires re-signing"), default=False,
        help_text=_("Organizations that signed an older version must sign this one to keep the role active."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("contract version")
        verbose_name_plural = _("contract versions")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="tenants_contractversion_unique_kind_version")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"


class SignatureAction(models.TextChoices):
    SIGN = "sign", _("Signed")
    TERMINATE = "terminate", _("Terminated")


class ContractSignature(models.Model):
    """Evidence of one signature (or signed termination) of a contract version. Append-only."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="signatures")
    contract_version = models.ForeignKey(ContractVersion, on_delete=models.PROTECT, related_name="signatures")
    action = models.CharField(_("action"), max_length=10, choices=SignatureAction.choices)
    language = models.CharField(_("language"), max_length=2)
    text_sha256 = models.CharField(_("SHA-256 of the text shown"), max_length=64)
    typed_name = models.CharField(_("typed full name"), max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # a dealer signing for an operator with the `sign_contracts` right
    acting_organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("contract signature")
        verbose_name_plural = _("contract signatures")
        ordering = ["-signed_at", "-pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return f"{self.organization} · {self.contract_version} · {self.action}"
