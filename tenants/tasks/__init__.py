"""Celery tasks of the tenants app: monthly billing and subscriptions (``tenants.billing.*`` → queue ``billing``)."""

from tenants.tasks.billing import *  # noqa: F403
from tenants.tasks.billing import __all__ as _billing

__all__ = [*_billing]
