import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

__all__ = ["Membership", "MembershipRole"]


class MembershipRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    """A user's place in an organization, with a role that maps to a set of capabilities."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    created_at = models.DateTimeField(_("member since"), auto_now_add=True)

    # Only members of an organization see its memberships (not partners with access grants).
    objects = ScopedManager(membership="organization")
    unscoped = models.Manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization", "user__email", "pk"]
        base_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="tenants_membership_unique_user_org")
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def requires_two_factor(self) -> bool:
        return self.role in (MembershipRole.OWNER, MembershipRole.ADMIN)
