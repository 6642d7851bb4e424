"""Error pages: the JSON envelope under /api/, templates elsewhere."""

from django.shortcuts import render

from portal.api.exceptions import error_response

MESSAGES = {400: "Bad request.", 403: "Permission denied.", 404: "Not found.", 500: "An internal error occurred."}
CODES = {400: "E_BAD_REQUEST", 403: "E_PERMISSION_DENIED", 404: "E_NOT_FOUND", 500: "E_INTERNAL"}


def _handle(request, status):
    if request.path.startswith("/api/"):
        return error_response(status, CODES[status], MESSAGES[status])
    return render(request, f"errors/{status}.html", status=status)


def bad_request(request, exception=None):
    return _handle(request, 400)


def permission_denied(request, exception=None):
    return _handle(request, 403)


def page_not_found(request, exception=None):
    return _handle(request, 404)


def server_error(request):
    return _handle(request, 500)
