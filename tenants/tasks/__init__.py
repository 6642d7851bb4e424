"""Celery tasks of the tenants app: monthly billing and subscriptions (``tenants.billing.*`` → queue ``billing``),
rollout jobs and their webhooks (``tenants.rollout.*`` → queue ``default``)."""

from tenants.tasks.billing import *  # noqa: F403
from tenants.tasks.billing import __all__ as _billing
from tenants.tasks.rollout import *  # noqa: F403
from tenants.tasks.rollout import __all__ as _rollout

__all__ = [*_billing, *_rollout]
