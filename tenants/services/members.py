"""Memberships and colleague invitations."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services.audit import log_action
from portal.services.mail import queue_mail
from tenants.models import ColleagueInvitation, Membership, MembershipRole

__all__ = [
    "MembershipError",
    "accept_invitation",
    "change_member_role",
    "find_open_invitation",
    "invite_colleague",
    "remove_member",
    "revoke_invitation",
]


class MembershipError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_may_assign(actor, organization, role: str) -> None:
    if role not in MembershipRole.values:
        raise MembershipError("E_INVALID_ROLE", _("Unknown role."))
    if role == MembershipRole.OWNER and not actor.can(organization.pk, "manage_owners"):
        raise MembershipError("E_OWNER_REQUIRED", _("Only an owner can make someone an owner."))


@transaction.atomic
def invite_colleague(*, actor, organization, email: str, role: str) -> tuple[ColleagueInvitation, str]:
    _check_may_assign(actor, organization, role)
    email = email.strip().lower()
    if Membership.unscoped.filter(organization=organization, user__email__iexact=email).exists():
        raise MembershipError("E_ALREADY_MEMBER", _("This person is already a member."))
    token = secrets.token_urlsafe(32)
    invitation = ColleagueInvitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_digest=_token_digest(token),
        invited_by=actor.user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    link = settings.SITE_URL + reverse("accounts:invitation", args=[token])
    queue_mail(
        email,
        "tenants/mail/invitation_subject.txt",
        "tenants/mail/invitation.txt",
        {"organization": organization, "inviter": actor.user, "link": link, "role": invitation.get_role_display(),
         "expires_at": invitation.expires_at},
        language=getattr(actor.user, "language", "de"),
    )
    log_action("tenants.invitation.created", actor, organization, invitation, {"email": email, "role": role})
    return invitation, token


def find_open_invitation(token: str) -> ColleagueInvitation | None:
    invitation = (
        ColleagueInvitation.unscoped.select_related("organization").filter(token_digest=_token_digest(token)).first()
    )
    if invitation is None or invitation.status != "open":
        return None
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, user) -> Membership:
    invitation = find_open_invitation(token)
    if invitation is None:
        raise MembershipError("E_INVITATION_INVALID", _("This invitation is invalid, expired or already used."))
    invitation = ColleagueInvitation.unscoped.select_for_update().get(pk=invitation.pk)
    if invitation.status != "open":
        raise MembershipError("E_INVITATION_INVALID", _("This invitation is invalid, expired or already used."))
    if invitation.email.lower() != user.email.lower():
        raise MembershipError("E_INVITATION_OTHER_EMAIL", _("This invitation was sent to a different e-mail address."))
    membership, created = Membership.unscoped.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if user.email_confirmed_at is None:  # the link proved the address
        user.email_confirmed_at = invitation.accepted_at
        user.save(update_fields=["email_confirmed_at"])
    log_action("tenants.invitation.accepted", user, invitation.organization, invitation, {"email": user.email})
    if created:
        log_action(
            "tenants.membership.created", user, invitation.organization, membership,
            {"email": user.email, "role": membership.role},
        )
    return membership


@transaction.atomic
def revoke_invitation(*, actor, invitation: ColleagueInvitation) -> None:
    if ColleagueInvitation.unscoped.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        log_action(
            "tenants.invitation.revoked", actor, invitation.organization, invitation, {"email": invitation.email}
        )


def _lock_owners(organization):
    return list(
        Membership.unscoped.select_for_update().filter(organization=organization, role=MembershipRole.OWNER)
    )


@transaction.atomic
def change_member_role(*, actor, membership: Membership, role: str) -> Membership:
    organization = membership.organization
    _check_may_assign(actor, organization, role)
    owners = _lock_owners(organization)
    membership = Membership.unscoped.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == MembershipRole.OWNER:
        if not actor.can(organization.pk, "manage_owners"):
            raise MembershipError("E_OWNER_REQUIRED", _("Only an owner can change an owner's role."))
        if len(owners) == 1:
            raise MembershipError("E_LAST_OWNER", _("An organization needs at least one owner."))
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    log_action(
        "tenants.membership.changed", actor, organization, membership,
        {"email": membership.user.email, "old": old, "new": role},
    )
    return membership


@transaction.atomic
def remove_member(*, actor, membership: Membership) -> None:
    organization = membership.organization
    owners = _lock_owners(organization)
    membership = Membership.unscoped.select_for_update().get(pk=membership.pk)
    if membership.role == MembershipRole.OWNER:
        if not actor.can(organization.pk, "manage_owners"):
            raise MembershipError("E_OWNER_REQUIRED", _("Only an owner can remove an owner."))
        if len(owners) == 1:
            raise MembershipError("E_LAST_OWNER", _("An organization needs at least one owner."))
    log_action("tenants.membership.removed", actor, organization, membership,
               {"email": membership.user.email, "role": membership.role})
    membership.delete()
