"""API keys: ``Authorization: Bearer kp_test_<key id>.<secret>``.

The middleware resolves the key before the tenant scope is opened, so one mechanism scopes session
users and machine clients alike; the DRF authentication class then reports the result to DRF.

A POS-device key (``ApiKey.pos_device``) is restricted here, for every view at once: any path
outside the signing API (``/api/v1/tss…``) and the hand-in of cash point closings
(``/api/v1/cash_point_closings…``, the POS's job) answers 403 ``E_API_KEY_RESTRICTED``; its actor
(``portal.tenancy.actor_for_api_key``) reaches no operator through access grants.
"""

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import authentication

from portal.api.exceptions import ApiError, error_response

__all__ = ["ApiKeyAuthentication", "ApiKeyMiddleware", "ApiKeyPrincipal", "is_pos_device_path",
           "is_signing_api_path"]


class ApiKeyPrincipal:
    """What ``request.user`` is for an API-key request: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key):
        self.api_key = api_key

    def __str__(self):
        return str(self.api_key)


class ApiKeyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.api_key = None
        request.api_key_error = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer ":
            from tenants.services.api_keys import ApiKeyRejected, authenticate_api_key

            try:
                request.api_key = authenticate_api_key(header[7:].strip())
            except ApiKeyRejected as exc:
                request.api_key_error = exc
        if request.api_key is not None and request.api_key.pos_device and not is_pos_device_path(request.path):
            return error_response(403, "E_API_KEY_RESTRICTED",
                                  _("This API key belongs to a POS device and may use the signing API only."))
        return self.get_response(request)


def is_signing_api_path(path: str) -> bool:
    """A path of the POS signing API (``/api/v1/tss`` and below)."""
    root = reverse("signing-tss-list")
    return path == root or path.startswith(f"{root}/")


def is_pos_device_path(path: str) -> bool:
    """A path a POS-device key may use: the signing API and ``/api/v1/cash_point_closings`` (and below)."""
    if is_signing_api_path(path):
        return True
    root = reverse("dsfinvk-closing-list")
    return path == root or path.startswith(f"{root}/")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request
        error = getattr(django_request, "api_key_error", None)
        if error is not None:
            raise ApiError(401, error.code, error.message)
        api_key = getattr(django_request, "api_key", None)
        if api_key is None:
            return None
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
