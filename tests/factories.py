"""Small factories for tests: users, organizations, memberships, API keys, 2FA devices.

They go through the real services where a service exists (``create_organization``,
``create_api_key``, ``grant_right``), so the rows look exactly like production rows (roles,
owner membership, audit entries). They must be called with scopes disabled (the autouse fixture in
``tests/conftest.py`` does that for every test body).
"""

import functools
import itertools

from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import ApiKey, Membership, MembershipRole, Organization, RoleKind, User
from tenants.services.api_keys import create_api_key
from tenants.services.grants import grant_right
from tenants.services.organizations import create_organization

__all__ = [
    "PASSWORD",
    "add_member",
    "give_totp_device",
    "make_api_key",
    "make_dealer_with_grant",
    "make_organization",
    "make_user",
    "organization_data",
]

PASSWORD = "correct-horse-battery-staple"
_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


@functools.cache
def _password_hash() -> str:
    # Argon2 is deliberately slow; hash the shared test password once per process.
    return make_password(PASSWORD)


def make_user(email: str | None = None, *, full_name: str | None = None, confirmed: bool = True, **extra) -> User:
    """A user whose password is ``PASSWORD``; e-mail confirmed unless ``confirmed=False``."""
    n = _next()
    email = email or f"user{n}@example.com"
    user = User.objects.create_user(email=email, password=None, full_name=full_name or f"Test User {n}", **extra)
    user.password = _password_hash()
    if confirmed:
        user.email_confirmed_at = timezone.now()
    user.save(update_fields=["password", "email_confirmed_at"])
    return user


def organization_data(**overrides) -> dict:
    n = _next()
    data = {
        "name": f"Test Organization {n} GmbH",
        "legal_form": "gmbh",
        "street": f"Teststraße {n}",
        "postal_code": "10115",
        "city": "Berlin",
        "country": "DE",
    }
    data.update(overrides)
    return data


def make_organization(
    owner: User | None = None, *, roles=(RoleKind.OPERATOR,), activate: bool = True, **data
) -> Organization:
    """An organization created by ``create_organization`` with ``owner`` (made if missing) as owner."""
    owner = owner or make_user()
    return create_organization(owner=owner, data=organization_data(**data), roles=list(roles), activate_roles=activate)


def add_member(organization: Organization, user: User | None = None, role: str = MembershipRole.MEMBER) -> Membership:
    user = user or make_user()
    return Membership.unscoped.create(organization=organization, user=user, role=role)


def make_api_key(
    organization: Organization, *, can_write: bool = True, name: str | None = None, expires_at=None
) -> tuple[ApiKey, str]:
    """An API key of ``organization`` and its plaintext (``kp_test_<id>.<secret>``)."""
    return create_api_key(
        actor=None,
        organization=organization,
        name=name or f"key {_next()}",
        can_write=can_write,
        expires_at=expires_at,
    )


def make_dealer_with_grant(
    operator: Organization, owner: User | None = None, right: str = "read", **data
) -> Organization:
    """A dealer organization to which ``operator`` granted ``right``."""
    dealer = make_organization(owner, roles=(RoleKind.DEALER,), **data)
    grant_right(actor=None, operator=operator, dealer=dealer, right=right)
    return dealer


def give_totp_device(user: User) -> TOTPDevice:
    """A confirmed TOTP device, as after a completed 2FA set-up."""
    return TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
