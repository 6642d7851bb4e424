from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.api.exceptions import ApiError

__all__ = ["IsAuthenticatedActor"]


class IsAuthenticatedActor(BasePermission):
    """An authenticated user or API key; read-only keys may only use safe methods."""

    def has_permission(self, request, view):
        actor = getattr(request._request, "actor", None)
        if actor is None or not actor.is_authenticated or not request.user or not request.user.is_authenticated:
            return False
        api_key = actor.api_key
        if api_key is not None and request.method not in SAFE_METHODS and not api_key.can_write:
            raise ApiError(403, "E_API_KEY_READ_ONLY", "This API key has read access only.")
        return True
