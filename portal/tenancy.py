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

from django.db import models
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_scopes import scope, scopes_disabled
from django_scopes.state import get_scope

__all__ = [
    "Actor",
    "PartyScopedManager",
    "TenantScopeMiddleware",
    "actor_for_api_key",
    "actor_for_user",
    "get_visible_organization",
    "organization_scope",
]

# Capabilities on an organization. Members get them by role, API keys by read/write, partners (dealers
# acting for an operator) by the access rights the operator granted.
_MEMBER = {"view", "view_members", "view_master_data"}
_STAFF = _MEMBER | {"view_audit", "configure"}
_ADMIN = _STAFF | {
    "change_organization", "manage_members", "view_api_keys", "manage_api_keys", "manage_entitlements",
    "sign_contracts", "manage_partners",
}
ROLE_CAPABILITIES = {
    "owner": frozenset(_ADMIN | {"manage_owners"}),
    "admin": frozenset(_ADMIN),
    "member": frozenset(_STAFF),
    "viewer": frozenset(_MEMBER),
}
API_KEY_CAPABILITIES = {
    False: frozenset(_MEMBER | {"view_audit", "view_api_keys"}),
    # write keys automate configuration and master data; people, partners' rights and contracts stay with people
    True: frozenset(_STAFF | {"view_api_keys", "change_organization", "manage_api_keys", "manage_entitlements"}),
}
# What each access right lets a dealer do in the operator's account.
RIGHT_CAPABILITIES = {
    "read": frozenset({"view", "view_master_data"}),
    "configure": frozenset({"view", "view_master_data", "configure", "change_organization"}),
    "entitlements": frozenset({"view", "manage_entitlements"}),
    "sign_contracts": frozenset({"view", "sign_contracts"}),
}
# A partner lacking one of these on a visible operator gets 403 (a right it could be granted);
# everything else (members, API keys, audit log) does not exist for partners: 404.
PARTNER_GRANTABLE = frozenset().union(*RIGHT_CAPABILITIES.values())


@dataclass
class Actor:
    """Who is calling: a user (session) or an API key, and which organizations it reaches."""

    user: object = None
    api_key: object = None
    # organization pk -> membership role (for an API key: "api_key")
    member_roles: dict[int, str] = field(default_factory=dict)
    # operator organization pk -> set of rights granted to one of the actor's dealer organizations
    granted_rights: dict[int, set[str]] = field(default_factory=dict)
    # operator organization pk -> pk of the actor's dealer organization that holds the grant
    granted_via: dict[int, int] = field(default_factory=dict)

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
            rights = self.granted_rights.get(organization_id, ())
            caps = frozenset().union(*(RIGHT_CAPABILITIES.get(right, frozenset()) for right in rights))
            if caps and self.api_key is not None and not self.api_key.can_write:
                caps = caps & RIGHT_CAPABILITIES["read"]
            return caps
        if self.api_key is not None:
            return API_KEY_CAPABILITIES[self.api_key.can_write]
        return ROLE_CAPABILITIES.get(role, frozenset())

    def is_partner_of(self, organization_id: int) -> bool:
        return organization_id not in self.member_roles and organization_id in self.granted_rights

    def acting_organization_id(self, organization_id: int) -> int | None:
        """The actor's own organization when it acts in a partner's (operator's) account, else None."""
        return self.granted_via.get(organization_id) if self.is_partner_of(organization_id) else None

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


def _grants(dealer_ids) -> tuple[dict[int, set[str]], dict[int, int]]:
    from tenants.models import AccessGrant

    rights: dict[int, set[str]] = {}
    via: dict[int, int] = {}
    rows = AccessGrant.unscoped.filter(dealer_id__in=dealer_ids, revoked_at__isnull=True).values_list(
        "organization_id", "right", "dealer_id"
    ).order_by("organization_id", "dealer_id")
    for organization_id, right, dealer_id in rows:
        rights.setdefault(organization_id, set()).add(right)
        via.setdefault(organization_id, dealer_id)
    for organization_id in dealer_ids:
        rights.pop(organization_id, None)
        via.pop(organization_id, None)
    return rights, via


def actor_for_user(user) -> Actor:
    from tenants.models import Membership

    if user is None or not user.is_authenticated or not user.is_active:
        return Actor(user=user)
    roles = dict(Membership.unscoped.filter(user=user).values_list("organization_id", "role"))
    rights, via = _grants(list(roles))
    return Actor(user=user, member_roles=roles, granted_rights=rights, granted_via=via)


def actor_for_api_key(api_key) -> Actor:
    org_id = api_key.organization_id
    # A POS-device key acts for its own organization only, never for operators through grants.
    rights, via = ({}, {}) if getattr(api_key, "pos_device", False) else _grants([org_id])
    return Actor(api_key=api_key, member_roles={org_id: "api_key"}, granted_rights=rights, granted_via=via)


@contextmanager
def organization_scope(organization_id: int):
    """The scope of a member of one organization; used by ``TenantTask`` and services run by staff."""
    rights, via = _grants([int(organization_id)])
    actor = Actor(member_roles={int(organization_id): "system"}, granted_rights=rights, granted_via=via)
    with scope(**actor.scope_kwargs()):
        yield actor


def get_visible_organization(actor: Actor, public_id, capability: str = "view"):
    """The organization with ``public_id`` if the actor may see it and has ``capability``.

    Not visible -> 404. Visible to a member whose role lacks the capability -> 403. Visible to a
    partner through an access grant that lacks a right it could be granted -> 403; members-only
    capabilities (members, API keys, audit log) do not exist for partners -> 404.
    """
    from django.core.exceptions import PermissionDenied, ValidationError

    from tenants.models import Organization

    try:
        organization = get_object_or_404(Organization.objects.all(), public_id=public_id)
    except ValidationError:
        raise Http404 from None
    if actor.can(organization.pk, capability):
        return organization
    if organization.pk in actor.member_roles or capability in PARTNER_GRANTABLE:
        raise PermissionDenied  # a member whose role lacks it, or a partner missing a right
    raise Http404  # members-only: does not exist for a partner


def PartyScopedManager(*paths: str, dimension: str = "membership", _manager_class=models.Manager):
    """A scoped manager for rows that two organizations share (e.g. operator and dealer).

    The row is visible when the organization at *any* of ``paths`` is in the active scope's
    ``dimension``. Same rules as django-scopes: no active scope -> ``ScopeError`` on use, scopes
    disabled -> unfiltered.
    """

    class Manager(_manager_class):
        def get_queryset(self):
            current = get_scope()
            queryset = super().get_queryset()
            if not current.get("_enabled", True):
                return queryset
            if dimension not in current:
                from django_scopes.manager import DisabledQuerySet

                return DisabledQuerySet(self.model, using=self._db, missing_scopes={dimension})
            ids = list(current[dimension])
            condition = Q()
            for path in paths:
                condition |= Q(**{f"{path}__in": ids})
            matching = self.model._base_manager.filter(condition).values("pk")
            return queryset.filter(pk__in=matching)

    return Manager()


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
