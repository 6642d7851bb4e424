"""Dealer ↔ operator onboarding: operator invitations (single and CSV), their acceptance, link
requests, the operator's access-rights page and the dealer's operator overview.

The flow (domain reference §5–§7):

1. A dealer (active dealer role) invites an operator company by e-mail, asking for access rights.
   The link ``/invite/operator/<token>/`` carries a random token stored only as its SHA-256; it
   expires and works for one company only.
2. The invitee registers (company and person prefilled from the invitation; the link proves the
   e-mail address) or logs in; the invitation is then *claimed* by the operator organization
   (``invitation.operator``), which counts as "registered" in the dealer's overview.
3. The operator signs the usage agreement (tenants.services.contracts) and accepts the link,
   granting each requested right individually (fewer are fine). Only then is the link active.

Operators that exist already can ask a dealer to be linked (a ``requested`` DealerLink); the dealer
accepts or declines. Rights are ``AccessGrant`` rows (tenants.services.grants); ending a link
revokes them all. Every step writes audit entries in both organizations.

Cross-party lookups use the unscoped managers with explicit party filters: callers (views, API,
tasks) resolve the acting organization through the tenant scope first.
"""

from tenants.services.partners.acceptance import (
    accept_operator_invitation,
    claim_invitation,
    claimed_invitation,
    operator_candidates,
    pending_invitations_for_operator,
    register_operator_from_invitation,
)
from tenants.services.partners.common import (
    CSV_COLUMNS,
    CSV_MAX_BYTES,
    CSV_MAX_ROWS,
    CSV_OPTIONAL_COLUMNS,
    CSV_REQUIRED_COLUMNS,
    DEFAULT_RIGHTS,
    INVITATION_STATUSES,
    OVERVIEW_STATUSES,
    PartnerError,
    agreement_signed,
    clean_invitation_data,
    contract_sign_url,
    invitation_link,
    parse_rights,
    require_dealer,
)
from tenants.services.partners.invitations import (
    find_invitation,
    import_invitations_csv,
    invitation_for_token,
    invitation_history,
    invite_operator,
    parse_invitation_csv,
    resend_invitation,
    revoke_operator_invitation,
)
from tenants.services.partners.links import (
    DealerRelation,
    accept_link_request,
    dealer_relation,
    dealer_relations,
    decline_link_request,
    end_link,
    request_dealer_link,
    set_dealer_right,
    set_dealer_rights,
)
from tenants.services.partners.overview import OperatorOverview, OverviewRow, link_requests, operator_overview

__all__ = [
    "CSV_COLUMNS",
    "CSV_MAX_BYTES",
    "CSV_MAX_ROWS",
    "CSV_OPTIONAL_COLUMNS",
    "DEFAULT_RIGHTS",
    "DealerRelation",
    "OperatorOverview",
    "OverviewRow",
    "link_requests",
    "parse_rights",
    "CSV_REQUIRED_COLUMNS",
    "INVITATION_STATUSES",
    "OVERVIEW_STATUSES",
    "PartnerError",
    "accept_link_request",
    "accept_operator_invitation",
    "agreement_signed",
    "claim_invitation",
    "claimed_invitation",
    "clean_invitation_data",
    "contract_sign_url",
    "dealer_relation",
    "dealer_relations",
    "decline_link_request",
    "end_link",
    "find_invitation",
    "import_invitations_csv",
    "invitation_for_token",
    "invitation_history",
    "invite_operator",
    "invitation_link",
    "operator_candidates",
    "operator_overview",
    "parse_invitation_csv",
    "pending_invitations_for_operator",
    "register_operator_from_invitation",
    "request_dealer_link",
    "require_dealer",
    "resend_invitation",
    "revoke_operator_invitation",
    "set_dealer_right",
    "set_dealer_rights",
]
