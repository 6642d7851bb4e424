"""The operator side of an invitation: register or claim, sign, accept the link with its rights."""


from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services.audit import log_action
from tenants.models import (
    AccessRight,
    DealerLink,
    LinkStatus,
    MembershipRole,
    OperatorInvitation,
    Organization,
    OrganizationRole,
    RoleKind,
)
from tenants.services.grants import grant_right
from tenants.services.organizations import create_organization
from tenants.services.partners.common import PartnerError, _sorted_rights, agreement_signed, require_dealer
from tenants.services.partners.invitations import _invitation_data, _status_filter, invitation_for_token

# --- acceptance (operator side) ---------------------------------------------------------------


def _check_email(invitation, user) -> None:
    if user.email.lower() != invitation.contact_email.lower():
        raise PartnerError(
            "E_INVITATION_OTHER_EMAIL",
            _("This invitation was sent to {email}. Log in with that address to accept it.").format(
                email=invitation.contact_email),
        )


def _confirm_email(user, when) -> None:
    if user.email_confirmed_at is None:  # the invitation link proved the address
        type(user).objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(email_confirmed_at=when)
        user.email_confirmed_at = when


def operator_candidates(user, invitation: OperatorInvitation) -> list[Organization]:
    """The user's organizations that may accept the invitation (owner/admin, not the dealer itself)."""
    return list(
        Organization.unscoped.filter(
            memberships__user=user, memberships__role__in=[MembershipRole.OWNER, MembershipRole.ADMIN]
        ).exclude(pk=invitation.organization_id).order_by("name", "pk")
    )


def _claim(invitation, operator, user) -> OperatorInvitation:
    invitation = OperatorInvitation.unscoped.select_for_update().get(pk=invitation.pk)
    if invitation.status != "open":
        raise PartnerError("E_INVITATION_INVALID", _("This invitation is no longer valid."), status=410)
    if invitation.operator_id and invitation.operator_id != operator.pk:
        raise PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."), status=410)
    if operator.pk == invitation.organization_id:
        raise PartnerError("E_SELF_LINK", _("A company cannot invite itself."))
    OrganizationRole.unscoped.get_or_create(organization=operator, kind=RoleKind.OPERATOR)
    _confirm_email(user, timezone.now())
    if invitation.operator_id is None:
        invitation.operator = operator
        invitation.save(update_fields=["operator"])
        data = {**_invitation_data(invitation), "operator": str(operator.public_id), "operator_name": operator.name}
        log_action("tenants.operator_invitation.registered", user, invitation.organization, invitation, data,
                   acting_organization=operator)
        log_action("tenants.operator_invitation.registered", user, operator, invitation, data,
                   acting_organization=invitation.organization)
    return invitation


@transaction.atomic
def register_operator_from_invitation(*, token: str, password: str, full_name: str, language: str,
                                      organization: dict):
    """A new person and company from the invitation: the e-mail counts as confirmed (the link proved
    it); the company gets a pending operator role; the invitation is claimed by it."""
    invitation = invitation_for_token(token)
    if invitation.operator_id is not None:
        raise PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."), status=410)
    User = get_user_model()
    if User.objects.filter(email__iexact=invitation.contact_email).exists():
        raise PartnerError("E_EMAIL_TAKEN", _("An account with this e-mail address exists already. Please log in."))
    user = User.objects.create_user(email=invitation.contact_email, password=password, full_name=full_name,
                                    language=language if language in ("de", "en") else "de")
    user.email_confirmed_at = timezone.now()
    user.save(update_fields=["email_confirmed_at"])
    operator = create_organization(owner=user, data=organization, roles=[RoleKind.OPERATOR])
    log_action("tenants.user.email_confirmed", user, operator, user,
               {"email": user.email, "via": "operator_invitation"})
    invitation = _claim(invitation, operator, user)
    return user, operator, invitation


@transaction.atomic
def claim_invitation(*, token: str, user, operator: Organization | None = None,
                     organization: dict | None = None) -> OperatorInvitation:
    """An existing user takes up the invitation for one of its companies (owner/admin) or a new one."""
    invitation = invitation_for_token(token)
    _check_email(invitation, user)
    if operator is None:
        if organization is None:
            raise ValueError("an operator organization or the data of a new one is needed")
        operator = create_organization(owner=user, data=organization, roles=[RoleKind.OPERATOR])
    elif operator.pk not in {o.pk for o in operator_candidates(user, invitation)}:
        raise PartnerError("E_VALIDATION", _("You cannot accept invitations for this company."),
                           details={"organization": [_("Choose one of your companies.")]})
    return _claim(invitation, operator, user)


def pending_invitations_for_operator(operator: Organization):
    """Invitations claimed by ``operator`` and not accepted yet (still open)."""
    return OperatorInvitation.unscoped.filter(operator=operator).filter(_status_filter("open")).select_related(
        "organization"
    ).order_by("-created_at", "-pk")


def claimed_invitation(operator: Organization, invitation_id) -> OperatorInvitation | None:
    """An invitation taken up by ``operator`` (any status), by its public id."""
    try:
        return OperatorInvitation.unscoped.select_related("organization").filter(
            operator=operator, public_id=invitation_id).first()
    except ValidationError:
        return None


def _link_data(link: DealerLink, **extra) -> dict:
    return {
        "operator": str(link.organization.public_id), "operator_name": link.organization.name,
        "dealer": str(link.dealer.public_id), "dealer_name": link.dealer.name, **extra,
    }


def _lock_operator(operator: Organization) -> None:
    """Serialize link and rights changes of one operator (row lock until the transaction ends)."""
    Organization.unscoped.select_for_update().filter(pk=operator.pk).first()


def _current_link(operator, dealer, *, lock=False):
    queryset = DealerLink.unscoped.filter(organization=operator, dealer=dealer).exclude(status=LinkStatus.ENDED)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.select_related("organization", "dealer").first()


@transaction.atomic
def accept_operator_invitation(*, actor, invitation: OperatorInvitation, operator: Organization,
                               rights) -> DealerLink:
    """The operator accepts: the link becomes active and each chosen right (a subset of the requested
    ones) is granted. Needs the signed usage agreement."""
    invitation = OperatorInvitation.unscoped.select_for_update().select_related("organization").get(pk=invitation.pk)
    if invitation.status != "open":
        raise PartnerError("E_INVITATION_INVALID", _("This invitation is no longer valid."), status=410,
                           details={"status": invitation.status})
    if invitation.operator_id not in (None, operator.pk):
        raise PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."), status=410)
    dealer = invitation.organization
    if operator.pk == dealer.pk:
        raise PartnerError("E_SELF_LINK", _("A company cannot invite itself."))
    require_dealer(dealer)
    if not agreement_signed(operator):
        raise PartnerError("E_AGREEMENT_REQUIRED", _("Sign the usage agreement before you accept the link."))
    chosen = set(rights)
    unknown = chosen - set(AccessRight.values)
    if unknown:
        raise PartnerError("E_UNKNOWN_RIGHT", _("Unknown right(s): {rights}.").format(
            rights=", ".join(sorted(unknown))))
    extra = chosen - set(invitation.requested_rights)
    if extra:
        raise PartnerError("E_RIGHT_NOT_REQUESTED", _("The dealer did not ask for: {rights}.").format(
            rights=", ".join(_sorted_rights(extra))))
    now = timezone.now()
    _lock_operator(operator)
    link = _current_link(operator, dealer, lock=True)
    if link is None:
        link = DealerLink.unscoped.create(organization=operator, dealer=dealer, status=LinkStatus.ACTIVE,
                                          invitation=invitation, activated_at=now)
    else:
        link.status, link.invitation = LinkStatus.ACTIVE, invitation
        link.activated_at = link.activated_at or now
        link.save(update_fields=["status", "invitation", "activated_at"])
    invitation.accepted_at = now
    invitation.operator = operator
    invitation.save(update_fields=["accepted_at", "operator"])
    granted = _sorted_rights(chosen)
    data = {**_invitation_data(invitation), "operator": str(operator.public_id), "operator_name": operator.name,
            "granted_rights": granted}
    log_action("tenants.operator_invitation.accepted", actor, dealer, invitation, data, acting_organization=operator)
    log_action("tenants.operator_invitation.accepted", actor, operator, invitation, data, acting_organization=dealer)
    link_data = _link_data(link, via="invitation")
    log_action("tenants.dealer_link.activated", actor, operator, link, link_data, acting_organization=dealer)
    log_action("tenants.dealer_link.activated", actor, dealer, link, link_data, acting_organization=operator)
    for right in granted:
        grant_right(actor=actor, operator=operator, dealer=dealer, right=right)
    return link
