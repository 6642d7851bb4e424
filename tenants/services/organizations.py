"""Organizations: registration of a company with its first user, and changes to its data."""

from django.db import transaction
from django.utils import timezone

from portal.services.audit import log_action
from tenants.models import Membership, MembershipRole, Organization, OrganizationRole, RoleKind, RoleStatus

__all__ = ["EDITABLE_FIELDS", "create_organization", "update_organization"]

EDITABLE_FIELDS = (
    "name", "legal_form", "street", "postal_code", "city", "country", "tax_number", "vat_id", "w_idnr", "email",
    "phone",
)


@transaction.atomic
def create_organization(*, owner, data: dict, roles: list[str], activate_roles: bool = False) -> Organization:
    """Create an organization with ``owner`` as its first member (role owner).

    Roles start as pending until their contract is signed; ``activate_roles`` is for demo data
    and staff-created organizations whose contracts exist outside the portal.
    """
    organization = Organization.objects.create(**{k: data[k] for k in EDITABLE_FIELDS if k in data})
    now = timezone.now()
    for kind in roles:
        if kind not in RoleKind.values:
            raise ValueError(f"unknown role {kind!r}")
        OrganizationRole.objects.create(
            organization=organization,
            kind=kind,
            status=RoleStatus.ACTIVE if activate_roles else RoleStatus.PENDING,
            activated_at=now if activate_roles else None,
        )
    Membership.objects.create(user=owner, organization=organization, role=MembershipRole.OWNER)
    log_action(
        "tenants.organization.registered",
        owner,
        organization,
        organization,
        {"roles": sorted(roles), "owner": owner.email},
    )
    return organization


@transaction.atomic
def update_organization(*, actor, organization: Organization, changes: dict) -> Organization:
    organization = Organization.unscoped.select_for_update().get(pk=organization.pk)
    diff = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} cannot be changed")
        old = getattr(organization, name)
        if old != value:
            diff[name] = {"old": old, "new": value}
            setattr(organization, name, value)
    if diff:
        organization.full_clean()
        organization.save(update_fields=list(diff))
        log_action("tenants.organization.changed", actor, organization, organization, {"changes": diff})
        from compliance.services.events import record_master_data_change

        record_master_data_change(actor, organization, list(diff))
    return organization
