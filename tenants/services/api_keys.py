"""API keys: created with the secret shown once, stored as an HMAC digest, revocable at once.

A key with ``pos_device`` is for a till: it may use only the POS signing API (``/api/v1/tss…``) of
its own organization, which needs write access (so it always gets ``can_write``). The restriction
is enforced where a key is authenticated (``portal.api.authentication.ApiKeyMiddleware``,
``portal.tenancy.actor_for_api_key``).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action
from tenants.models import ApiKey

__all__ = ["ApiKeyRejected", "authenticate_api_key", "create_api_key", "revoke_api_key"]

KEY_ID_BYTES = 6  # 12 hex characters
SECRET_BYTES = 30  # 40 url-safe characters
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyRejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _digest(secret: str) -> str:
    pepper = (settings.API_KEY_PEPPER or settings.SECRET_KEY).encode()
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def create_api_key(*, actor, organization, name: str, can_write: bool, expires_at=None,
                   pos_device: bool = False) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is never stored or shown again."""
    pos_device = bool(pos_device)
    can_write = bool(can_write) or pos_device  # signing needs write access
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError(_("The expiry must be in the future."))
    key_id = secrets.token_hex(KEY_ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=settings.API_KEY_PREFIX,
        key_id=key_id,
        secret_digest=_digest(secret),
        can_write=can_write,
        pos_device=pos_device,
        expires_at=expires_at,
        created_by=actor.user if actor is not None and actor.user and actor.user.is_authenticated else None,
    )
    log_action(
        "tenants.apikey.created",
        actor,
        organization,
        api_key,
        {"name": name, "rights": api_key.rights, "pos_device": pos_device,
         "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return api_key, f"{api_key.prefix}{key_id}.{secret}"


@transaction.atomic
def revoke_api_key(*, actor, api_key: ApiKey) -> ApiKey:
    updated = ApiKey.unscoped.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    if updated:
        log_action("tenants.apikey.revoked", actor, api_key.organization, api_key, {"name": api_key.name})
    return api_key


def authenticate_api_key(raw: str) -> ApiKey:
    """The active key for ``raw`` or ``ApiKeyRejected`` (same answer for unknown id and wrong secret)."""
    invalid = ApiKeyRejected("E_UNAUTHORIZED", "Invalid API key.")
    prefix = settings.API_KEY_PREFIX
    if not raw.startswith(prefix) or "." not in raw:
        raise invalid
    key_id, _sep, secret = raw[len(prefix):].partition(".")
    api_key = ApiKey.unscoped.select_related("organization").filter(key_id=key_id).first()
    expected = api_key.secret_digest if api_key else _digest("no such key")
    if not hmac.compare_digest(expected, _digest(secret)) or api_key is None:
        raise invalid
    now = timezone.now()
    if api_key.revoked_at is not None:
        raise ApiKeyRejected("E_API_KEY_REVOKED", "This API key has been revoked.")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiKeyRejected("E_API_KEY_EXPIRED", "This API key has expired.")
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.unscoped.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
