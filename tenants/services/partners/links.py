"""Link requests (operator asks, dealer answers), ending links, and the operator's rights page."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services.audit import log_action
from tenants.models import (
    AccessGrant,
    AccessRight,
    DealerLink,
    LinkStatus,
    Organization,
    RoleKind,
    RoleStatus,
)
from tenants.services.grants import active_rights, revoke_all_rights, set_rights
from tenants.services.partners.acceptance import _current_link, _link_data, _lock_operator
from tenants.services.partners.common import PartnerError, _sorted_rights, _user, agreement_signed, require_dealer

# --- link requests ----------------------------------------------------------------------------


def find_dealer(*, dealer_id=None, email: str = "") -> Organization:
    """A dealer (active dealer role) by its public id or the exact e-mail address of one of its members."""
    dealers = Organization.unscoped.filter(roles__kind=RoleKind.DEALER, roles__status=RoleStatus.ACTIVE)
    if dealer_id:
        try:
            found = list(dealers.filter(public_id=dealer_id))
        except ValidationError:
            found = []
    elif email:
        found = list(dealers.filter(memberships__user__email__iexact=email.strip()).distinct().order_by("name"))
    else:
        raise PartnerError("E_VALIDATION", _("Give the dealer's id or the e-mail address of someone working there."),
                           details={"dealer_id": [_("This field is required.")]})
    if not found:
        raise PartnerError("E_DEALER_NOT_FOUND", _("No dealer was found for this id or e-mail address."))
    if len(found) > 1:
        raise PartnerError("E_DEALER_AMBIGUOUS", _("This person works for several dealers. Use the dealer's id."))
    return found[0]


@transaction.atomic
def request_dealer_link(*, actor, operator: Organization, dealer_id=None, email: str = "") -> DealerLink:
    """An operator asks a dealer to be linked; the dealer accepts or declines."""
    dealer = find_dealer(dealer_id=dealer_id, email=email)
    if dealer.pk == operator.pk:
        raise PartnerError("E_SELF_LINK", _("A company cannot link to itself."))
    if not agreement_signed(operator):
        raise PartnerError("E_AGREEMENT_REQUIRED", _("Sign the usage agreement before you link to a dealer."))
    _lock_operator(operator)
    existing = _current_link(operator, dealer)
    if existing is not None:
        raise PartnerError(
            "E_ALREADY_LINKED",
            _("You are linked to this dealer already.") if existing.status == LinkStatus.ACTIVE
            else _("You have asked this dealer already."),
            details={"status": existing.status},
        )
    link = DealerLink.unscoped.create(organization=operator, dealer=dealer, status=LinkStatus.REQUESTED,
                                      requested_at=timezone.now())
    user = _user(actor)
    data = _link_data(link, requested_by=getattr(user, "email", None))
    log_action("tenants.dealer_link.requested", actor, operator, link, data, acting_organization=dealer)
    log_action("tenants.dealer_link.requested", actor, dealer, link, data, acting_organization=operator)
    return link


def _lock_request(dealer, link) -> DealerLink:
    link = DealerLink.unscoped.select_for_update().select_related("organization", "dealer").get(pk=link.pk)
    if link.dealer_id != dealer.pk or link.status != LinkStatus.REQUESTED:
        raise PartnerError("E_LINK_REQUEST_CLOSED", _("This request was answered already."),
                           details={"status": link.status})
    return link


@transaction.atomic
def accept_link_request(*, actor, dealer: Organization, link: DealerLink) -> DealerLink:
    require_dealer(dealer)
    link = _lock_request(dealer, link)
    if not agreement_signed(link.organization):
        raise PartnerError("E_AGREEMENT_REQUIRED", _("The operator has not signed the usage agreement."))
    link.status = LinkStatus.ACTIVE
    link.activated_at = timezone.now()
    link.save(update_fields=["status", "activated_at"])
    data = _link_data(link)
    for org, other in ((dealer, link.organization), (link.organization, dealer)):
        log_action("tenants.dealer_link.accepted", actor, org, link, data, acting_organization=other)
    return link


@transaction.atomic
def decline_link_request(*, actor, dealer: Organization, link: DealerLink) -> DealerLink:
    link = _lock_request(dealer, link)
    link.status = LinkStatus.ENDED
    link.ended_at = timezone.now()
    link.save(update_fields=["status", "ended_at"])
    data = _link_data(link)
    for org, other in ((dealer, link.organization), (link.organization, dealer)):
        log_action("tenants.dealer_link.declined", actor, org, link, data, acting_organization=other)
    return link


@transaction.atomic
def end_link(*, actor, operator: Organization, dealer: Organization) -> list[str]:
    """End the relation: the link is ended and every right of the dealer revoked (each audited).

    Also cleans up rights granted without a link. Returns the revoked rights."""
    _lock_operator(operator)
    link = _current_link(operator, dealer, lock=True)
    revoked = revoke_all_rights(actor=actor, operator=operator, dealer=dealer)
    if link is None and not revoked:
        raise PartnerError("E_NOT_LINKED", _("There is no link to this dealer."))
    if link is not None:
        link.status = LinkStatus.ENDED
        link.ended_at = timezone.now()
        link.save(update_fields=["status", "ended_at"])
    data = {"operator": str(operator.public_id), "operator_name": operator.name, "dealer": str(dealer.public_id),
            "dealer_name": dealer.name, "revoked_rights": revoked}
    log_action("tenants.dealer_link.ended", actor, operator, link, data, acting_organization=dealer)
    log_action("tenants.dealer_link.ended", actor, dealer, link, data, acting_organization=operator)
    return revoked


# --- the operator's page: dealers and rights -------------------------------------------------


@dataclass
class DealerRelation:
    dealer: Organization
    link: DealerLink | None
    rights: list[str]

    @property
    def status(self) -> str:
        return self.link.status if self.link is not None else "unlinked"

    @property
    def can_grant(self) -> bool:
        return self.link is not None and self.link.status == LinkStatus.ACTIVE


def dealer_relations(operator: Organization) -> list[DealerRelation]:
    """Every dealer that is linked to ``operator``, asked for a link, or holds rights on it."""
    links = {
        link.dealer_id: link
        for link in DealerLink.unscoped.filter(organization=operator).exclude(status=LinkStatus.ENDED)
        .select_related("dealer", "invitation")
    }
    rights: dict[int, list[str]] = {}
    for dealer_id, right in AccessGrant.unscoped.filter(organization=operator, revoked_at__isnull=True).values_list(
        "dealer_id", "right"
    ):
        rights.setdefault(dealer_id, []).append(right)
    dealers = {d.pk: d for d in Organization.unscoped.filter(pk__in=set(links) | set(rights))}
    relations = [
        DealerRelation(dealer=dealers[pk], link=links.get(pk), rights=_sorted_rights(rights.get(pk, [])))
        for pk in dealers
    ]
    return sorted(relations, key=lambda r: (r.dealer.name.lower(), r.dealer.pk))


def dealer_relation(operator: Organization, dealer_public_id) -> DealerRelation:
    try:
        dealer = Organization.unscoped.get(public_id=dealer_public_id)
    except (Organization.DoesNotExist, ValidationError):
        raise PartnerError("E_NOT_LINKED", _("There is no link to this dealer."), status=404) from None
    link = _current_link(operator, dealer)
    rights = _sorted_rights(active_rights(operator, dealer))
    if link is None and not rights:
        raise PartnerError("E_NOT_LINKED", _("There is no link to this dealer."), status=404)
    return DealerRelation(dealer=dealer, link=link, rights=rights)


def _check_grantable(operator, dealer, rights) -> None:
    unknown = set(rights) - set(AccessRight.values)
    if unknown:
        raise PartnerError("E_UNKNOWN_RIGHT", _("Unknown right(s): {rights}.").format(
            rights=", ".join(sorted(unknown))), details={"rights": sorted(unknown)})
    new = set(rights) - active_rights(operator, dealer)
    if new:
        link = _current_link(operator, dealer)
        if link is None or link.status != LinkStatus.ACTIVE:
            raise PartnerError("E_NOT_LINKED", _("Rights can be granted only to a dealer with an active link."))


@transaction.atomic
def set_dealer_right(*, actor, operator: Organization, dealer: Organization, right: str, granted: bool) -> list[str]:
    """Grant or revoke one right (effective with the dealer's next request); returns the rights now held."""
    if right not in AccessRight.values:
        raise PartnerError("E_UNKNOWN_RIGHT", _("Unknown right(s): {rights}.").format(rights=right))
    current = active_rights(operator, dealer)
    wanted = current | {right} if granted else current - {right}
    return set_dealer_rights(actor=actor, operator=operator, dealer=dealer, rights=wanted)


@transaction.atomic
def set_dealer_rights(*, actor, operator: Organization, dealer: Organization, rights) -> list[str]:
    """Make ``rights`` the full set the dealer holds (new rights need an active link)."""
    rights = set(rights)
    _lock_operator(operator)  # the link cannot end between the check and the grant
    _check_grantable(operator, dealer, rights)
    return _sorted_rights(set_rights(actor=actor, operator=operator, dealer=dealer, rights=rights))
