"""The Celery app of Kassenportal.

Queues: ``default``, ``signing``, ``exports``, ``billing`` (routes in settings). Tasks take ids,
are sent only after the surrounding database transaction committed (``enqueue``), and tasks
that act for an organization re-enter its tenant scope (``TenantTask``).
"""

import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

QUEUES = ("default", "signing", "exports", "billing")


class TenantTask(Task):
    """Base class for tasks that act inside one organization.

    The task must be called with ``organization_id=<pk>``; the body then runs inside the tenant
    scope of that organization, exactly as a request of one of its members would.
    """

    abstract = True

    def __call__(self, *args, **kwargs):
        from portal.tenancy import organization_scope

        organization_id = kwargs.get("organization_id")
        if organization_id is None:
            raise TypeError(f"{self.name} is a TenantTask and needs organization_id=")
        with organization_scope(organization_id):
            return super().__call__(*args, **kwargs)


def enqueue(task, **kwargs):
    """Send ``task`` with keyword arguments (ids only) once the current transaction commits."""
    from django.db import transaction

    for key, value in kwargs.items():
        if not isinstance(value, str | int | None | bool):
            raise TypeError(f"task arguments must be ids or plain values, {key}={value!r} is not")
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))
