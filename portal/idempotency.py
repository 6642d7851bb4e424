"""``Idempotency-Key`` for unsafe API calls.

The first request with a key (per actor) runs and its response is stored; a replay with the same
method, path and body gets the stored response (``Idempotent-Replayed: true``); the same key with a
different request is ``409 E_IDEMPOTENCY_KEY_REUSED``; a duplicate that arrives while the first is
still running is ``409 E_IDEMPOTENCY_IN_PROGRESS`` with ``Retry-After``. Responses that ask the
client to retry (409, 429, 5xx) are not stored, so the key stays usable. Responses marked
``Cache-Control: no-store`` (they carry a secret shown once, such as a new API key) are stored
encrypted, so a lost response can still be recovered by the same caller but the database never
holds the secret in clear.
"""

import hashlib
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from portal import crypto
from portal.api.exceptions import error_response
from portal.models import IdempotencyRecord

__all__ = ["IdempotencyMiddleware", "purge_expired_records"]

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ENCRYPTION_PURPOSE = "idempotency-response"


def _actor_ident(request) -> str | None:
    if getattr(request, "api_key", None) is not None:
        return f"key:{request.api_key.pk}"
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def purge_expired_records() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get(HEADER)
        if key is None or request.method not in UNSAFE or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not KEY_PATTERN.match(key):
            return error_response(
                400, "E_IDEMPOTENCY_KEY_INVALID", "Idempotency-Key must be 1-255 printable ASCII characters."
            )
        actor = _actor_ident(request)
        if actor is None:
            return self.get_response(request)  # answered 401 by the API; nothing to remember

        fingerprint = _fingerprint(request)
        record = self._claim(actor, key, request, fingerprint)
        if not isinstance(record, IdempotencyRecord):
            return record  # a replay or a conflict

        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code in (409, 429) or response.status_code >= 500 or response.streaming:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        body = bytes(response.content)
        if "no-store" in response.get("Cache-Control", ""):
            body = crypto.encrypt(body, ENCRYPTION_PURPOSE)
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=body,
        )
        return response

    def _claim(self, actor, key, request, fingerprint):
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        IdempotencyRecord.objects.filter(actor=actor, key=key, created_at__lt=cutoff).delete()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    actor=actor, key=key, method=request.method, path=request.path[:2000], fingerprint=fingerprint
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(actor=actor, key=key).first()
        if existing is None:  # the first attempt failed and released the key meanwhile
            return error_response(
                409, "E_IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is being processed.",
                headers={"Retry-After": "1"},
            )
        if existing.fingerprint != fingerprint:
            return error_response(
                409, "E_IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used for a different request."
            )
        if existing.state != IdempotencyRecord.State.DONE:
            return error_response(
                409, "E_IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is being processed.",
                headers={"Retry-After": "1"},
            )
        body = bytes(existing.body or b"")
        encrypted = body.startswith(crypto.VERSION)
        if encrypted:
            body = crypto.decrypt(body, ENCRYPTION_PURPOSE)
        response = HttpResponse(body, status=existing.status_code,
                                content_type=existing.content_type or "application/json")
        response["Idempotent-Replayed"] = "true"
        if encrypted:
            response["Cache-Control"] = "no-store"
        return response
