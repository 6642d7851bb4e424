"""One error envelope for every API error: ``{status_code, error, code, message}`` (+ ``details``)."""

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions

__all__ = ["ApiError", "envelope_exception_handler", "error_response"]

logger = logging.getLogger("portal.api")

CODES_BY_CLASS = (
    (exceptions.ValidationError, "E_VALIDATION"),
    (exceptions.ParseError, "E_PARSE"),
    (exceptions.AuthenticationFailed, "E_UNAUTHORIZED"),
    (exceptions.NotAuthenticated, "E_UNAUTHORIZED"),
    (exceptions.PermissionDenied, "E_PERMISSION_DENIED"),
    (exceptions.NotFound, "E_NOT_FOUND"),
    (exceptions.MethodNotAllowed, "E_METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "E_NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "E_UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, "E_THROTTLED"),
)


class ApiError(exceptions.APIException):
    """A domain error with its own status and stable code, raised by API views."""

    def __init__(self, status_code: int, code: str, message: str, details=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.envelope_code = code
        self.details = details


def error_body(status_code: int, code: str, message: str, details=None) -> dict:
    body = {
        "status_code": status_code,
        "error": HTTPStatus(status_code).phrase,
        "code": code,
        "message": str(message),
    }
    if details is not None:
        body["details"] = details
    return body


def error_response(status_code: int, code: str, message: str, details=None, headers=None) -> JsonResponse:
    response = JsonResponse(error_body(status_code, code, message, details), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _message(detail) -> str:
    if isinstance(detail, list | tuple) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and detail:
        return _message(next(iter(detail.values())))
    return str(detail)


def envelope_exception_handler(exc, context):
    from rest_framework.response import Response

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error in API view", exc_info=exc)
        return Response(error_body(500, "E_INTERNAL", "An internal error occurred."), status=500)

    code = getattr(exc, "envelope_code", None)
    if code is None:
        code = next((c for cls, c in CODES_BY_CLASS if isinstance(exc, cls)), "E_ERROR")
    details = getattr(exc, "details", None)
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail
        message = "Invalid input: " + _message(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        message = "Too many requests; retry after {} seconds.".format(int(exc.wait or 1))
    elif isinstance(exc, exceptions.NotFound):
        message = "Not found."
    else:
        message = _message(exc.detail)

    headers = {}
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(int(exc.wait or 1))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        exc.status_code = 401
    if exc.status_code == 401:  # also the ApiError(401) of a revoked, expired or invalid API key
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return Response(error_body(exc.status_code, code, message, details), status=exc.status_code, headers=headers)
