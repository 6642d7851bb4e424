"""The single tenant-scoping mechanism of the portal.

Every tenant-owned model has a django-scopes ``ScopedManager`` on one of two dimensions:

- ``organization``: rows of organizations the caller may *see* — its memberships plus operators
  that granted the caller's (dealer) organization an access right;
- ``membership``: rows only members of the organization see (memberships, API keys, invitations,
  the audit log) — never a partner.

The scope is opened here and only here: ``TenantScopeMiddleware`` for requests (wrapping the whole
response, template rendering included), ``organization_scope`` for Celery tasks (``TenantTask``),
and the test fixtures. A row outside the scope simply does not exist for the query, which is what
turns foreign objects into 404 in pages and API alike.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.http import Http404
from django.shortcuts import get_object_or_404
from django_scopes import scope, scopes_disabled

__all__ = [
    "Actor",
    "TenantScopeMiddleware",
    "actor_for_api_key",
    "actor_for_user",
    "get_visible_organization",
    "organization_scope",
]

_MEMBER = {"view", "view_members"}
_ADMIN = _MEMBER | {"view_audit", "change_organization", "manage_members", "view_api_keys", "manage_api_keys"}
ROLE_CAPABILITIES = {
    "owner": frozenset(_ADMIN | {"manage_owners"}),
    "admin": frozenset(_ADMIN),
    "member": frozenset(_MEMBER | {"view_audit"}),
    "viewer": frozenset(_MEMBER),
}
API_KEY_CAPABILITIES = {
    False: frozenset(_MEMBER | {"view_audit", "view_api_keys"}),
    True: frozenset(_MEMBER | {"view_audit", "view_api_keys", "change_organization", "manage_api_keys"}),
}


@dataclass
class Actor:
    """Who is calling: a user (session) or an API key, and which organizations it reaches."""

    user: object = None
    api_key: object = None
    # organization pk -> membership role (for an API key: "api_key")
    member_roles: dict[int, str] = field(default_factory=dict)
    # operator organization pk -> set of rights granted to one of the actor's dealer organizations
    granted_rights: dict[int, set[str]] = field(default_factory=dict)

    @property
    def is_authenticated(self) -> bool:
        return self.api_key is not None or (self.user is not None and self.user.is_authenticated)

    @property
    def member_organization_ids(self) -> list[int]:
        return sorted(self.member_roles)

    @property
    def visible_organization_ids(self) -> list[int]:
        return sorted(set(self.member_roles) | set(self.granted_rights))

    def capabilities(self, organization_id: int) -> frozenset[str]:
        role = self.member_roles.get(organization_id)
        if role is None:
            return frozenset({"view"}) if organization_id in self.granted_rights else frozenset()
        if self.api_key is not None:
            return API_KEY_CAPABILITIES[self.api_key.can_write]
        return ROLE_CAPABILITIES[role]

    def can(self, organization_id: int, capability: str) -> bool:
        return capability in self.capabilities(organization_id)

    def has_right(self, organization_id: int, right: str) -> bool:
        """An access right of a partner; members of the organization hold every right on it."""
        if organization_id in self.member_roles:
            return True
        return right in self.granted_rights.get(organization_id, set())

    def scope_kwargs(self) -> dict[str, list[int]]:
        # Always lists: django-scopes treats None as "unfiltered".
        return {"organization": self.visible_organization_ids, "membership": self.member_organization_ids}


def _granted_rights(dealer_ids) -> dict[int, set[str]]:
    from tenants.models import AccessGrant

    rights: dict[int, set[str]] = {}
    rows = AccessGrant.unscoped.filter(dealer_id__in=dealer_ids, revoked_at__isnull=True).values_list(
        "organization_id", "right"
    )
    for organization_id, right in rows:
        rights.setdefault(organization_id, set()).add(right)
    for organization_id in dealer_ids:
        rights.pop(organization_id, None)
    return rights


def actor_for_user(user) -> Actor:
    from tenants.models import Membership

    if user is None or not user.is_authenticated or not user.is_active:
        return Actor(user=user)
    roles = dict(Membership.unscoped.filter(user=user).values_list("organization_id", "role"))
    return Actor(user=user, member_roles=roles, granted_rights=_granted_rights(list(roles)))


def actor_for_api_key(api_key) -> Actor:
    org_id = api_key.organization_id
    return Actor(api_key=api_key, member_roles={org_id: "api_key"}, granted_rights=_granted_rights([org_id]))


@contextmanager
def organization_scope(organization_id: int):
    """The scope of a member of one organization; used by ``TenantTask`` and services run by staff."""
    actor = Actor(member_roles={int(organization_id): "system"}, granted_rights=_granted_rights([organization_id]))
    with scope(**actor.scope_kwargs()):
        yield actor


def get_visible_organization(actor: Actor, public_id, capability: str = "view"):
    """The organization with ``public_id`` if the actor may see it and has ``capability``.

    Not visible -> 404. Visible to a member whose role lacks the capability -> 403. Visible to a
    partner through an access grant but outside what the grant covers -> 404.
    """
    from django.core.exceptions import PermissionDenied, ValidationError

    from tenants.models import Organization

    try:
        organization = get_object_or_404(Organization.objects.all(), public_id=public_id)
    except ValidationError:
        raise Http404 from None
    if actor.can(organization.pk, capability):
        return organization
    if organization.pk in actor.member_roles:
        raise PermissionDenied  # a member whose role lacks the capability
    raise Http404  # a partner sees only what its grants allow; the rest does not exist for it


class TenantScopeMiddleware:
    """Work out the actor of the request and run the whole response inside its scope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api_key = getattr(request, "api_key", None)
        actor = actor_for_api_key(api_key) if api_key is not None else actor_for_user(request.user)
        request.actor = actor
        if request.path.startswith("/admin/") and request.user.is_authenticated and request.user.is_staff:
            # Portal staff administer every tenant through Django's admin; nothing else is unscoped.
            with scopes_disabled():
                return self._render(request)
        with scope(**actor.scope_kwargs()):
            return self._render(request)

    def _render(self, request):
        response = self.get_response(request)
        if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
            response.render()
        return response
