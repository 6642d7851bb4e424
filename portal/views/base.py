"""Helpers for pages that belong to one organization (``/o/<uuid>/…``)."""

from functools import wraps

from django.contrib.auth.decorators import login_required

from portal.tenancy import get_visible_organization

__all__ = ["organization_page"]

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization"


def organization_page(capability: str = "view"):
    """Resolve ``org_id`` from the URL in the caller's scope (404 if not visible) into ``request.organization``."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, org_id, *args, **kwargs):
            organization = get_visible_organization(request.actor, org_id, capability)
            request.organization = organization
            request.capabilities = request.actor.capabilities(organization.pk)
            if organization.pk in request.actor.member_roles:
                request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = str(organization.public_id)
            return view(request, organization, *args, **kwargs)

        return wrapper

    return decorator
