import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from portal.tenancy import PartyScopedManager

__all__ = ["DealerLink", "InvitationImport", "LinkStatus", "OperatorInvitation"]


class InvitationImport(models.Model):
    """One CSV bulk import of operator invitations, with its per-row report."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("dealer"))
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    imported_rows = models.PositiveIntegerField(_("imported"), default=0)
    skipped_rows = models.PositiveIntegerField(_("already invited"), default=0)
    failed_rows = models.PositiveIntegerField(_("failed"), default=0)
    report = models.JSONField(_("report"), default=list)
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("invitation import")
        verbose_name_plural = _("invitation imports")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"

    def __str__(self):
        return self.filename


class OperatorInvitation(models.Model):
    """A dealer invites an operator company by e-mail, asking for access rights.

    The link token is stored hashed; the link expires and works once. ``operator`` is set when the
    invitation is accepted.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT,
                                     related_name="operator_invitations", verbose_name=_("dealer"))
    company_name = models.CharField(_("company name"), max_length=200)
    legal_form = models.CharField(_("legal form"), max_length=20, blank=True)
    street = models.CharField(_("street and number"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=10)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="DE")
    vat_id = models.CharField(_("VAT id"), max_length=14, blank=True)
    contact_first_name = models.CharField(_("contact first name"), max_length=100)
    contact_last_name = models.CharField(_("contact last name"), max_length=100)
    contact_email = models.EmailField(_("contact e-mail address"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    external_reference = models.CharField(_("your reference"), max_length=100, blank=True)
    personal_message = models.CharField(_("personal message"), max_length=400, blank=True)
    requested_rights = models.JSONField(_("requested rights"), default=list)
    token_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("invited at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    sent_count = models.PositiveSmallIntegerField(_("times sent"), default=0)
    last_sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    operator = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="accepted_invitations", verbose_name=_("operator"))
    import_batch = models.ForeignKey(InvitationImport, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="invitations")

    objects = ScopedManager(organization="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("operator invitation")
        verbose_name_plural = _("operator invitations")
        ordering = ["-created_at", "-pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contact_email"],
                condition=Q(revoked_at__isnull=True, accepted_at__isnull=True),
                name="tenants_operatorinvitation_unique_open_per_email",
            )
        ]

    def __str__(self):
        return f"{self.company_name} <{self.contact_email}>"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class LinkStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested by the operator")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class DealerLink(models.Model):
    """The business relation operator ↔ dealer. Rights are separate rows (AccessGrant)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="dealer_links",
                                     verbose_name=_("operator"))
    dealer = models.ForeignKey("tenants.Organization", on_delete=models.PROTECT, related_name="operator_links",
                               verbose_name=_("dealer"))
    status = models.CharField(_("status"), max_length=10, choices=LinkStatus.choices)
    invitation = models.ForeignKey(OperatorInvitation, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)
    activated_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # operator and dealer both see the link
    objects = PartyScopedManager("organization", "dealer")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("dealer link")
        verbose_name_plural = _("dealer links")
        ordering = ["organization", "dealer", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["organization", "dealer"], condition=~Q(status="ended"),
                                    name="tenants_dealerlink_unique_current"),
        ]

    def __str__(self):
        return f"{self.organization} ↔ {self.dealer} ({self.status})"
