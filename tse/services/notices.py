"""Mails about one signing unit to the operator's owners and administrators, each in their language."""

from django.conf import settings
from django.urls import reverse

__all__ = ["mail_unit_admins"]


def mail_unit_admins(unit, subject_template: str, body_template: str, context: dict) -> int:
    """Queue the mail for every active owner/admin of the unit's operator; ``context`` gets
    ``unit``, ``organization``, ``user`` and ``link`` (the unit's page). Returns how many were queued."""
    from portal.services.mail import queue_mail
    from tenants.models import Membership, MembershipRole

    link = settings.SITE_URL + reverse("tse_detail", kwargs={"org_id": unit.organization.public_id,
                                                             "signing_unit_id": unit.public_id})
    memberships = (Membership.unscoped.filter(organization_id=unit.organization_id,
                                              role__in=[MembershipRole.OWNER, MembershipRole.ADMIN],
                                              user__is_active=True).select_related("user").order_by("pk"))
    count = 0
    for membership in memberships:
        user = membership.user
        queue_mail(user.email, subject_template, body_template,
                   {**context, "unit": unit, "organization": unit.organization, "user": user, "link": link},
                   language=user.language if user.language in ("de", "en") else "de")
        count += 1
    return count
