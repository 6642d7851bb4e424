"""Request metadata (request id, client IP) available to services without passing the request."""

from contextvars import ContextVar

_meta: ContextVar[dict | None] = ContextVar("portal_request_meta", default=None)

__all__ = ["current_request_meta", "set_request_meta"]


def set_request_meta(meta: dict | None):
    return _meta.set(meta)


def reset_request_meta(token) -> None:
    _meta.reset(token)


def current_request_meta() -> dict:
    return _meta.get() or {}
