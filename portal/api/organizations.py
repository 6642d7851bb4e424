"""Which organization an API request that lists or creates across organizations is about.

``?organization_id=<uuid>`` names it (404 when not visible, 403 without the capability); without
it, an API key's own organization, else the session's active one, else the caller's only one —
otherwise ``400 E_ORGANIZATION_REQUIRED``.
"""

import uuid

from django.utils.translation import gettext_lazy as _

from portal.api.exceptions import ApiError
from portal.tenancy import get_visible_organization
from portal.views.base import ACTIVE_ORGANIZATION_SESSION_KEY

__all__ = ["default_organization", "named_organization"]


def named_organization(request, actor, capability: str):
    """The organization of ``?organization_id=``, or None when the parameter is absent."""
    value = request.query_params.get("organization_id")
    if not value:
        return None
    try:
        public_id = uuid.UUID(value)
    except ValueError:
        raise ApiError(400, "E_VALIDATION", _("organization_id is a UUID."),
                       {"organization_id": [str(_("Must be a valid UUID."))]}) from None
    return get_visible_organization(actor, public_id, capability)


def default_organization(request, actor):
    """The organization a request without ``?organization_id=`` is about."""
    from tenants.models import Organization

    if actor.api_key is not None:
        return actor.api_key.organization
    members = actor.member_organization_ids
    active = request._request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    organization = Organization.objects.filter(pk__in=members, public_id=active).first() if active else None
    if organization is None and len(members) == 1:
        organization = Organization.objects.get(pk=members[0])
    if organization is None:
        raise ApiError(400, "E_ORGANIZATION_REQUIRED", _("Name the organization with ?organization_id=."))
    return organization
