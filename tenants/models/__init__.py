from tenants.models.api_keys import ApiKey
from tenants.models.grants import AccessGrant, AccessRight
from tenants.models.invitations import ColleagueInvitation
from tenants.models.memberships import Membership, MembershipRole
from tenants.models.organizations import LegalForm, Organization, OrganizationRole, RoleKind, RoleStatus
from tenants.models.users import User

__all__ = [
    "AccessGrant",
    "AccessRight",
    "ApiKey",
    "ColleagueInvitation",
    "LegalForm",
    "Membership",
    "MembershipRole",
    "Organization",
    "OrganizationRole",
    "RoleKind",
    "RoleStatus",
    "User",
]
