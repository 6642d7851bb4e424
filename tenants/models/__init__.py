from tenants.models.api_keys import ApiKey
from tenants.models.billing import BillingRun, BillingRunState, Invoice, InvoiceKind, InvoiceLine, InvoiceSequence
from tenants.models.configuration import ConfigurationSource, ConfigurationVersion
from tenants.models.contracts import ContractKind, ContractSignature, ContractVersion, SignatureAction
from tenants.models.dealer_links import DealerLink, InvitationImport, LinkStatus, OperatorInvitation
from tenants.models.entitlements import (
    Entitlement,
    EntitlementOrder,
    EntitlementState,
    PricePlan,
    Product,
    ProductKind,
)
from tenants.models.framework_contracts import DiscountTier, FrameworkContract
from tenants.models.grants import AccessGrant, AccessRight
from tenants.models.invitations import ColleagueInvitation
from tenants.models.memberships import Membership, MembershipRole
from tenants.models.organizations import LegalForm, Organization, OrganizationRole, RoleKind, RoleStatus
from tenants.models.pos_systems import PosSystem, PosSystemDealer, PosSystemType, PosSystemVersion
from tenants.models.premises import Betriebsstaette, Outlet
from tenants.models.rollout import (
    RolloutItemState,
    RolloutJob,
    RolloutJobItem,
    RolloutJobSource,
    RolloutJobState,
    RolloutTemplate,
    RolloutTemplateShare,
    RolloutTemplateVersion,
    WebhookState,
)
from tenants.models.users import User

__all__ = [
    "BillingRun",
    "BillingRunState",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceSequence",
    "Entitlement",
    "EntitlementOrder",
    "EntitlementState",
    "PricePlan",
    "Product",
    "ProductKind",
    "AccessGrant",
    "AccessRight",
    "ApiKey",
    "Betriebsstaette",
    "ColleagueInvitation",
    "ConfigurationSource",
    "ConfigurationVersion",
    "ContractKind",
    "ContractSignature",
    "ContractVersion",
    "DealerLink",
    "DiscountTier",
    "FrameworkContract",
    "InvitationImport",
    "LinkStatus",
    "OperatorInvitation",
    "Outlet",
    "PosSystem",
    "PosSystemDealer",
    "PosSystemType",
    "PosSystemVersion",
    "SignatureAction",
    "LegalForm",
    "Membership",
    "MembershipRole",
    "Organization",
    "OrganizationRole",
    "RoleKind",
    "RoleStatus",
    "RolloutItemState",
    "RolloutJob",
    "RolloutJobItem",
    "RolloutJobSource",
    "RolloutJobState",
    "RolloutTemplate",
    "RolloutTemplateShare",
    "RolloutTemplateVersion",
    "WebhookState",
    "User",
]
