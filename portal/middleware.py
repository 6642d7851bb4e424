import uuid

from django.shortcuts import redirect
from django.urls import reverse

from portal.request_context import reset_request_meta, set_request_meta

__all__ = ["ApiUtcMiddleware", "RequestIdMiddleware", "TwoFactorRequiredMiddleware"]


class RequestIdMiddleware:
    """Give every request an id (``X-Request-ID``), kept with audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = str(uuid.uuid4())
        token = set_request_meta({"request_id": request.id, "ip": request.META.get("REMOTE_ADDR")})
        try:
            response = self.get_response(request)
        finally:
            reset_request_meta(token)
        response["X-Request-ID"] = request.id
        return response


class ApiUtcMiddleware:
    """The API speaks UTC (ISO 8601 with ``Z``); pages show Europe/Berlin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        from datetime import UTC

        from django.utils import timezone

        with timezone.override(UTC):
            return self.get_response(request)


def user_requires_two_factor(user) -> bool:
    """Owners and admins of any organization must use TOTP."""
    from tenants.models import Membership, MembershipRole

    return Membership.unscoped.filter(user=user, role__in=[MembershipRole.OWNER, MembershipRole.ADMIN]).exists()


def user_has_two_factor(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


EXEMPT_PREFIXES = ("/static/", "/accounts/2fa/setup/", "/accounts/logout/", "/i18n/", "/health/")


class TwoFactorRequiredMiddleware:
    """Session users who must use 2FA cannot do anything until they have set it up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if getattr(request, "api_key", None) is None and user.is_authenticated and not request.path.startswith(
            EXEMPT_PREFIXES
        ):
            response = self._enforce(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _enforce(self, request, user):
        has_device = user_has_two_factor(user)
        if has_device and not user.is_verified():
            from django.contrib.auth import logout

            logout(request)
            return self._deny(request, "E_TWO_FACTOR_REQUIRED", reverse("accounts:login"))
        if not has_device and user_requires_two_factor(user):
            return self._deny(request, "E_TWO_FACTOR_SETUP_REQUIRED", reverse("accounts:two_factor_setup"))
        return None

    def _deny(self, request, code, target):
        if request.path.startswith("/api/"):
            from portal.api.exceptions import error_response

            return error_response(403, code, "Two-factor authentication is required for this account.")
        return redirect(target)
