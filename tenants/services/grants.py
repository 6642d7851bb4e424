"""Access rights an operator grants a dealer; the tenant scope reads them (portal.tenancy)."""

from django.db import transaction
from django.utils import timezone

from portal.services.audit import log_action
from tenants.models import AccessGrant, AccessRight, Organization, RoleKind

__all__ = ["grant_right", "revoke_right"]


@transaction.atomic
def grant_right(*, actor, operator: Organization, dealer: Organization, right: str) -> AccessGrant:
    if right not in AccessRight.values:
        raise ValueError(f"unknown right {right!r}")
    if operator.pk == dealer.pk:
        raise ValueError("an organization cannot grant rights to itself")
    if not dealer.has_role(RoleKind.DEALER):
        raise ValueError("rights can only be granted to a dealer")
    existing = AccessGrant.unscoped.filter(
        organization=operator, dealer=dealer, right=right, revoked_at__isnull=True
    ).first()
    if existing:
        return existing
    user = getattr(actor, "user", actor)
    grant = AccessGrant.unscoped.create(
        organization=operator, dealer=dealer, right=right,
        granted_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
    )
    data = {"dealer": str(dealer.public_id), "dealer_name": dealer.name, "right": right}
    log_action("tenants.grant.granted", actor, operator, grant, data)
    log_action("tenants.grant.granted", actor, dealer, grant, data, acting_organization=operator)
    return grant


@transaction.atomic
def revoke_right(*, actor, operator: Organization, dealer: Organization, right: str) -> int:
    user = getattr(actor, "user", actor)
    revoked = AccessGrant.unscoped.filter(
        organization=operator, dealer=dealer, right=right, revoked_at__isnull=True
    ).update(
        revoked_at=timezone.now(),
        revoked_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
    )
    if revoked:
        data = {"dealer": str(dealer.public_id), "dealer_name": dealer.name, "right": right}
        log_action("tenants.grant.revoked", actor, operator, None, data)
        log_action("tenants.grant.revoked", actor, dealer, None, data, acting_organization=operator)
    return revoked
