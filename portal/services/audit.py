"""The one audit service every feature writes through."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from portal.models import LogEntry
from portal.request_context import current_request_meta

__all__ = ["ACTION_LABELS", "ActorIdentity", "actor_identity", "log_action", "register_action_labels"]

# Human-readable names of the action codes, shown in the audit page.
ACTION_LABELS = {
    "tenants.organization.registered": _("Organization registered"),
    "tenants.organization.changed": _("Organization data changed"),
    "tenants.user.email_confirmed": _("E-mail address confirmed"),
    "tenants.user.login": _("Logged in"),
    "tenants.user.login_failed": _("Failed login"),
    "tenants.user.locked_out": _("Login locked after repeated failures"),
    "tenants.user.two_factor_enabled": _("Two-factor authentication enabled"),
    "tenants.user.two_factor_disabled": _("Two-factor authentication disabled"),
    "tenants.user.backup_codes_regenerated": _("Backup codes regenerated"),
    "tenants.user.backup_code_used": _("Backup code used for login"),
    "tenants.user.password_reset": _("Password reset"),
    "tenants.membership.created": _("Member added"),
    "tenants.membership.changed": _("Member role changed"),
    "tenants.membership.removed": _("Member removed"),
    "tenants.invitation.created": _("Colleague invited"),
    "tenants.invitation.revoked": _("Invitation revoked"),
    "tenants.invitation.accepted": _("Invitation accepted"),
    "tenants.apikey.created": _("API key created"),
    "tenants.apikey.revoked": _("API key revoked"),
    "tenants.grant.granted": _("Access right granted"),
    "tenants.grant.revoked": _("Access right revoked"),
}


def register_action_labels(labels: dict) -> None:
    """Features add the human-readable names of their action codes here (at import time)."""
    ACTION_LABELS.update(labels)


@dataclass(frozen=True)
class ActorIdentity:
    """Who acted: the authenticated user or the API key, and the dealer organization (pk) when a partner
    acted in ``organization``'s account."""

    user: object = None
    api_key: object = None
    acting_organization_id: int | None = None


def actor_identity(actor, organization=None) -> ActorIdentity:
    """``actor`` is a ``portal.tenancy.Actor``, a user, an API key or ``None`` (the system)."""
    from tenants.models import ApiKey

    user = api_key = acting_id = None
    if actor is not None:
        if hasattr(actor, "member_roles"):  # portal.tenancy.Actor
            user, api_key = actor.user, actor.api_key
            if organization is not None:
                acting_id = actor.acting_organization_id(organization.pk)
        elif isinstance(actor, ApiKey):
            api_key = actor
        else:
            user = actor
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return ActorIdentity(user, api_key, acting_id)


def log_action(code, actor, organization, obj=None, data=None, *, acting_organization=None):
    """Write one audit entry.

    ``actor`` is a ``portal.tenancy.Actor``, a user, an API key or ``None`` (the system).
    ``obj`` is any model instance (stored as type, public id or pk, and its text).
    When a partner (dealer) acts in an operator's account, the entry belongs to the operator and
    ``acting_organization`` names the dealer (filled in from the actor if not given).
    """
    identity = actor_identity(actor, organization)
    user, api_key = identity.user, identity.api_key
    if acting_organization is None and identity.acting_organization_id is not None:
        from tenants.models import Organization  # a dealer acting in an operator's account

        acting_organization = Organization.unscoped.get(pk=identity.acting_organization_id)
    meta = current_request_meta()
    entry = LogEntry(
        organization=organization,
        acting_organization=acting_organization,
        action=code,
        actor_user=user,
        actor_api_key=api_key,
        data=data or {},
        request_id=meta.get("request_id", ""),
        ip_address=meta.get("ip"),
    )
    if obj is not None:
        entry.object_type = obj._meta.label_lower
        entry.object_id = str(getattr(obj, "public_id", None) or obj.pk)
        entry.object_repr = str(obj)[:200]
    entry.save()
    return entry
