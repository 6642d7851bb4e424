"""Access rights an operator grants a dealer; the tenant scope reads them (portal.tenancy).

Every grant and revocation writes an audit entry in both organizations. The lookups here use the
unscoped managers on purpose: the operator granting a right does not *see* the dealer organization
in its tenant scope (the grant goes the other way), yet must be able to check its role.
"""

from django.db import transaction
from django.utils import timezone

from portal.services.audit import log_action
from tenants.models import AccessGrant, AccessRight, Organization, OrganizationRole, RoleKind

__all__ = ["RIGHT_ORDER", "active_rights", "grant_right", "operators_granting", "revoke_all_rights", "revoke_right",
           "set_rights"]

RIGHT_ORDER = tuple(AccessRight.values)


def _user(actor):
    user = getattr(actor, "user", actor)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


@transaction.atomic
def grant_right(*, actor, operator: Organization, dealer: Organization, right: str) -> AccessGrant:
    if right not in AccessRight.values:
        raise ValueError(f"unknown right {right!r}")
    if operator.pk == dealer.pk:
        raise ValueError("an organization cannot grant rights to itself")
    if not OrganizationRole.unscoped.filter(organization=dealer, kind=RoleKind.DEALER).exists():
        raise ValueError("rights can only be granted to a dealer")
    existing = AccessGrant.unscoped.filter(
        organization=operator, dealer=dealer, right=right, revoked_at__isnull=True
    ).first()
    if existing:
        return existing
    grant = AccessGrant.unscoped.create(organization=operator, dealer=dealer, right=right, granted_by=_user(actor))
    data = {"dealer": str(dealer.public_id), "dealer_name": dealer.name, "right": right}
    log_action("tenants.grant.granted", actor, operator, grant, data)
    log_action("tenants.grant.granted", actor, dealer, grant, data, acting_organization=operator)
    return grant


@transaction.atomic
def revoke_right(*, actor, operator: Organization, dealer: Organization, right: str) -> int:
    revoked = AccessGrant.unscoped.filter(
        organization=operator, dealer=dealer, right=right, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), revoked_by=_user(actor))
    if revoked:
        data = {"dealer": str(dealer.public_id), "dealer_name": dealer.name, "right": right}
        log_action("tenants.grant.revoked", actor, operator, None, data)
        log_action("tenants.grant.revoked", actor, dealer, None, data, acting_organization=operator)
    return revoked


def active_rights(operator: Organization, dealer: Organization) -> set[str]:
    """The rights ``dealer`` currently holds on ``operator``."""
    return set(
        AccessGrant.unscoped.filter(organization=operator, dealer=dealer, revoked_at__isnull=True).values_list(
            "right", flat=True
        )
    )


def _sorted(rights) -> list[str]:
    return sorted(rights, key=RIGHT_ORDER.index)


@transaction.atomic
def set_rights(*, actor, operator: Organization, dealer: Organization, rights) -> set[str]:
    """Make ``rights`` the full set the dealer holds: grant what is missing, revoke the rest.

    Each single change is a separate grant/revocation with its own audit entries; rights that stay
    untouched write nothing. Returns the resulting set.
    """
    wanted = set(rights)
    unknown = wanted - set(AccessRight.values)
    if unknown:
        raise ValueError(f"unknown rights {sorted(unknown)!r}")
    # one writer per operator at a time, so concurrent changes cannot interleave
    Organization.unscoped.select_for_update().filter(pk=operator.pk).first()
    current = active_rights(operator, dealer)
    for right in _sorted(wanted - current):
        grant_right(actor=actor, operator=operator, dealer=dealer, right=right)
    for right in _sorted(current - wanted):
        revoke_right(actor=actor, operator=operator, dealer=dealer, right=right)
    return wanted


@transaction.atomic
def revoke_all_rights(*, actor, operator: Organization, dealer: Organization) -> list[str]:
    """Revoke every right of ``dealer`` on ``operator`` (each one audited); returns what was revoked."""
    revoked = _sorted(active_rights(operator, dealer))
    for right in revoked:
        revoke_right(actor=actor, operator=operator, dealer=dealer, right=right)
    return revoked


def operators_granting(dealer: Organization, right: str) -> list[Organization]:
    """The operators that granted ``dealer`` ``right`` (active grants), by name."""
    ids = AccessGrant.unscoped.filter(dealer=dealer, right=right, revoked_at__isnull=True).values("organization_id")
    return list(Organization.unscoped.filter(pk__in=ids).order_by("name", "pk"))
