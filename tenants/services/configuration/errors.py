"""The error of planning or applying a configuration document.

``ConfigurationError(status, code, message, errors)``: ``status`` is the HTTP status the API answers
with (400 invalid document, 403 a right is missing, 409 the state refuses it), ``code`` a stable
``E_…`` code, ``errors`` the single findings with their JSON-pointer paths
(``[{"path": "/outlets/0/number", "code": "E_REQUIRED", "message": "…"}]``).
"""

__all__ = ["ConfigurationError", "error_entry"]


def error_entry(path: str, code: str, message) -> dict:
    """One finding: ``{"path", "code", "message"}`` (the message as text)."""
    return {"path": path, "code": code, "message": str(message)}


class ConfigurationError(Exception):
    """A refused configuration document or change, with the findings by path."""

    def __init__(self, status: int = 400, code: str = "E_VALIDATION", message="", errors: list | None = None):
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = str(message)
        self.errors = list(errors or [])

    def as_dict(self) -> dict:
        return {"status": self.status, "code": self.code, "message": self.message, "errors": self.errors}

    def __repr__(self):
        return f"ConfigurationError({self.status}, {self.code!r}, {self.message!r}, {self.errors!r})"
