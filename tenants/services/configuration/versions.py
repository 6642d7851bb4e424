"""Versions of an operator's configuration: one ``ConfigurationVersion`` after every change.

Every service that changes the fiscal configuration (Betriebsstätten, outlets, signing units, POS
clients, cash registers, a unit's entitlement) runs its body in ``configuration_change(actor,
organization)``. On leaving the outermost block for that organization without an exception the
configuration is snapshot; when its digest differs from the latest version the next version is
stored with the changes against the previous one. Nested blocks for the same organization (an import
creating outlets and units through their services) join the outermost one: one version for the
whole change. Services that must not run inside a transaction (a TSE's initialization) call
``record_configuration_version`` after success instead.

Version numbers are allocated under a row lock of the organization in the transaction that stores
the version: gapless, no duplicates. Versions are append-only (PostgreSQL trigger).
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal

from portal.services.audit import actor_identity
from tenants.models import ConfigurationSource, ConfigurationVersion, Organization
from tenants.services.configuration.diff import diff_documents
from tenants.services.configuration.document import digest, empty_document, snapshot

# Sent inside the transaction that stored a new version: ``version``, ``previous`` (or None), ``actor``.
configuration_version_recorded = Signal()

__all__ = [
    "ConfigurationChange",
    "configuration_version_recorded",
    "configuration_change",
    "latest_version",
    "record_configuration_version",
    "versions_of",
]

_state = threading.local()


@dataclass
class ConfigurationChange:
    """The handle of a ``configuration_change`` block; ``version`` is set when the outermost one ends."""

    organization_id: int
    version: ConfigurationVersion | None = None


def _open_changes() -> dict[int, ConfigurationChange]:
    if not hasattr(_state, "changes"):
        _state.changes = {}
    return _state.changes


def _actor_fields(actor, organization) -> dict:
    identity = actor_identity(actor, organization)
    return {"actor_user": identity.user, "actor_api_key": identity.api_key,
            "acting_organization_id": identity.acting_organization_id}


def latest_version(organization) -> ConfigurationVersion | None:
    """The newest version of ``organization``'s configuration, or None."""
    return ConfigurationVersion.unscoped.filter(organization_id=organization.pk).order_by("-number").first()


def versions_of(organization):
    """All versions of ``organization``, newest first (with who made them)."""
    return (ConfigurationVersion.unscoped.filter(organization_id=organization.pk)
            .select_related("actor_user", "actor_api_key", "acting_organization", "rollout_job")
            .order_by("-number"))


def _record(actor, organization, *, source, summary, rollout_job) -> ConfigurationVersion | None:
    Organization.unscoped.select_for_update().only("pk").get(pk=organization.pk)
    document = snapshot(organization)
    document_digest = digest(document)
    previous = latest_version(organization)
    if document_digest == (previous.digest if previous is not None else digest(empty_document())):
        return None
    version = ConfigurationVersion.unscoped.create(
        organization_id=organization.pk,
        number=(previous.number + 1) if previous is not None else 1,
        document=document,
        digest=document_digest,
        changes=diff_documents(previous.document if previous is not None else None, document),
        source=source,
        summary=(summary or "")[:300],
        rollout_job=rollout_job,
        **_actor_fields(actor, organization),
    )
    # in the same transaction: what follows from the change (e.g. notification events) is stored with it
    configuration_version_recorded.send(sender=ConfigurationVersion, version=version, previous=previous,
                                        actor=actor)
    return version


def record_configuration_version(actor, organization, *, source=ConfigurationSource.MANUAL, summary="",
                                 rollout_job=None) -> ConfigurationVersion | None:
    """Store a new version when the configuration differs from the latest one (else None).

    Inside an open ``configuration_change`` for the organization nothing is stored here: the
    outermost block records the whole change when it ends.
    """
    if organization.pk in _open_changes():
        return None
    with transaction.atomic():
        return _record(actor, organization, source=source, summary=summary, rollout_job=rollout_job)


@contextmanager
def configuration_change(actor, organization, *, source=ConfigurationSource.MANUAL, summary="", rollout_job=None):
    """Run a configuration change in one transaction and record the resulting version.

    Yields a ``ConfigurationChange``; after the outermost block its ``version`` is the stored
    version, or None when nothing changed. An exception rolls everything back and stores nothing.
    """
    changes = _open_changes()
    outer = changes.get(organization.pk)
    if outer is not None:
        yield outer
        return
    handle = ConfigurationChange(organization_id=organization.pk)
    changes[organization.pk] = handle
    try:
        with transaction.atomic():
            yield handle
            del changes[organization.pk]
            handle.version = _record(actor, organization, source=source, summary=summary,
                                     rollout_job=rollout_job)
    finally:
        changes.pop(organization.pk, None)
