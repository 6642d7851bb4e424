"""Signing units (TSEs): creation, initialization, time, disabling, and the backend of a unit.

- A **software TSE** gets a new key pair and a self-signed certificate at creation; its private
  key is stored encrypted (``portal.crypto``, purpose ``tse-private-key``). It is refused in the
  live environment and always runs in mode ``test`` (``E_SOFTWARE_TSE_NOT_ALLOWED``).
- Units of real TSEs (fiskaly, LAN) are created without key material; their adapter registers
  itself with ``register_backend`` and fills serial number, key and certificate.
- ``initialize_signing_unit`` runs ``initialize`` and the first ``updateTime``, so the unit can
  sign right away. ``disable_signing_unit`` is irreversible.

Every lifecycle change writes an audit entry (``tse.signing_unit.*``).
"""

import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tenants.services.configuration.versions import configuration_change, record_configuration_version
from tse.backends.base import TseBackend, TseError
from tse.backends.software import SoftwareTse, ensure_software_tse_allowed, generate_key_material
from tse.models import BackendType, Curve, OutageReason, SigningUnit, SigningUnitMode
from tse.services.outages import record_failure, record_success

__all__ = [
    "create_signing_unit",
    "disable_signing_unit",
    "get_backend",
    "initialize_signing_unit",
    "update_signing_unit_description",
    "register_backend",
    "update_signing_unit_time",
]

register_action_labels({
    "tse.signing_unit.created": _("Signing unit (TSE) created"),
    "tse.signing_unit.initialized": _("Signing unit (TSE) initialized"),
    "tse.signing_unit.disabled": _("Signing unit (TSE) disabled"),
    "tse.signing_unit.changed": _("Signing unit (TSE) changed"),
})

REFERENCE_REGEX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
_BACKENDS: dict[str, type[TseBackend]] = {BackendType.SOFTWARE: SoftwareTse}


def register_backend(backend: str, backend_class: type[TseBackend]) -> None:
    """Adapters of real TSEs register their ``TseBackend`` class for their backend type."""
    _BACKENDS[backend] = backend_class


def get_backend(signing_unit: SigningUnit) -> TseBackend:
    backend_class = _BACKENDS.get(signing_unit.backend)
    if backend_class is None:
        raise TseError("E_BACKEND_UNAVAILABLE",
                       gettext("No adapter is installed for this TSE type."), status=503)
    return backend_class(signing_unit)


def create_signing_unit(*, actor, organization, backend: str = BackendType.SOFTWARE, curve: str = Curve.P256,
                        outlet=None, mode: str = SigningUnitMode.TEST, max_clients: int | None = None,
                        description: str = "", reference: str = "") -> SigningUnit:
    """A new signing unit of ``organization`` (the operator), state ``uninitialized``.

    ``reference`` (optional) is the key that names the unit in configuration documents; unique in
    the organization (``E_REFERENCE_TAKEN``)."""
    if backend not in BackendType.values:
        raise TseError("E_UNKNOWN_BACKEND", gettext("Unknown TSE type."))
    if mode not in SigningUnitMode.values:
        raise TseError("E_VALIDATION", gettext("Unknown mode."))
    if outlet is not None and outlet.organization_id != organization.pk:
        raise TseError("E_OUTLET_NOT_FOUND", gettext("The outlet does not exist."), status=404)
    if max_clients is not None and (not isinstance(max_clients, int) or max_clients < 1):
        raise TseError("E_VALIDATION", gettext("The maximum number of clients must be a positive number."))
    reference = _check_reference(organization, reference)
    unit = SigningUnit(organization=organization, outlet=outlet, backend=backend, mode=mode,
                       max_clients=max_clients, description=description, reference=reference)
    if backend == BackendType.SOFTWARE:
        ensure_software_tse_allowed()
        if mode != SigningUnitMode.TEST:
            raise TseError("E_SOFTWARE_TSE_NOT_ALLOWED",
                           gettext("The software TSE is not certified and runs in test mode only."), status=403)
        for name, value in generate_key_material(curve).items():
            setattr(unit, name, value)
    with configuration_change(actor, organization):
        unit.save()
        log_action("tse.signing_unit.created", actor, organization, unit,
                   data={"backend": backend, "curve": unit.curve, "serial_number": unit.serial_number,
                         "mode": mode, "outlet": str(outlet.public_id) if outlet else None})
    return unit


def _check_reference(organization, reference) -> str:
    reference = (reference or "").strip()
    if not reference:
        return ""
    if not REFERENCE_REGEX.match(reference):
        raise TseError("E_VALIDATION", gettext(
            "The key: up to 50 letters, digits, dots, hyphens or underscores, starting with a letter or digit."))
    if SigningUnit.unscoped.filter(organization_id=organization.pk, reference=reference).exists():
        raise TseError("E_REFERENCE_TAKEN", gettext("The key “%(reference)s” is taken by another signing unit of "
                                                    "this organization.") % {"reference": reference}, status=409)
    return reference


def initialize_signing_unit(*, actor, signing_unit: SigningUnit, description: str = "") -> SigningUnit:
    """``initialize`` followed by the first ``updateTime``; the unit can sign afterwards.

    When the TSE itself fails (not a refused request: a ``TseError`` with status ≥ 500 or any
    other error), the failure is recorded as an outage with status red (``tse.services.outages``)
    and the error raised again; every later signing retries the initialization. Call it outside
    an enclosing ``transaction.atomic()`` so that the record survives the error — and so that
    what a backend learns during ``initialize`` (fiskaly's admin PUK, shown only once) is committed
    even when a later step fails: ``initialize`` runs outside a database transaction here.
    """
    if settings.PORTAL_ENVIRONMENT == "live" and signing_unit.mode == SigningUnitMode.LIVE:
        from tenants.services.entitlements import active_entitlement  # live use needs an activated entitlement

        if active_entitlement(signing_unit) is None:
            raise TseError("E_NO_ENTITLEMENT", gettext("Activate an entitlement for this TSE first."), status=409)
    try:
        backend = get_backend(signing_unit)
        initialized = backend.initialize(description)
        with transaction.atomic():
            timed = backend.update_time()
            log_action("tse.signing_unit.initialized", actor, signing_unit.organization, backend.signing_unit,
                       data={"signature_counters": [_counter(initialized), _counter(timed)]})
    except Exception as exc:
        if isinstance(exc, TseError) and exc.status < 500:
            raise
        code = exc.code if isinstance(exc, TseError) else "E_TSE_UNAVAILABLE"
        message = exc.message if isinstance(exc, TseError) else gettext("The TSE is not available: %(error)s") % {
            "error": exc.__class__.__name__}
        record_failure(signing_unit.pk, code=code, message=message, reason=OutageReason.INITIALIZATION_FAILED)
        if isinstance(exc, TseError):
            raise
        raise TseError("E_TSE_INITIALIZATION_FAILED", message, status=503) from exc
    record_success(signing_unit.pk)
    # the day the TSE went into service (§ 146a (4) AO notification); a later re-initialization keeps it
    now = timezone.now()
    if SigningUnit.unscoped.filter(pk=signing_unit.pk, initialized_at__isnull=True).update(initialized_at=now):
        signing_unit.initialized_at = backend.signing_unit.initialized_at = now
    record_configuration_version(actor, signing_unit.organization)
    return SigningUnit.unscoped.get(pk=signing_unit.pk)


def update_signing_unit_description(*, actor, signing_unit: SigningUnit, description: str) -> SigningUnit:
    """Change the description of a signing unit (its only field that may change after creation)."""
    with configuration_change(actor, signing_unit.organization):
        unit = SigningUnit.unscoped.select_for_update().get(pk=signing_unit.pk)
        if unit.description != description:
            old, unit.description = unit.description, description
            unit.save(update_fields=["description"])
            log_action("tse.signing_unit.changed", actor, unit.organization, unit,
                       data={"changes": {"description": {"old": old, "new": description}}})
    return unit


def update_signing_unit_time(*, signing_unit: SigningUnit) -> SigningUnit:
    """Synchronise the TSE time (an ``updateTime`` system log); run after restarts and periodically."""
    backend = get_backend(signing_unit)
    backend.update_time()
    return backend.signing_unit


def disable_signing_unit(*, actor, signing_unit: SigningUnit) -> SigningUnit:
    """Disable the unit for good (``disableSecureElement``); exports stay possible."""
    backend = get_backend(signing_unit)
    with configuration_change(actor, signing_unit.organization):
        result = backend.disable()
        log_action("tse.signing_unit.disabled", actor, signing_unit.organization, backend.signing_unit,
                   data={"signature_counter": _counter(result)})
    return backend.signing_unit


def _counter(system_log) -> int | None:
    """The signature counter of a system log; ``None`` where the TSE keeps its system logs (fiskaly)."""
    return system_log.signature.counter if system_log is not None else None
