"""Apply a configuration document to an operator.

``apply_configuration(actor, organization, document, …)`` plans the document (``plan.build_plan``) and,
unless it is a dry run or the plan is empty, executes the actions in one database transaction inside
``configuration_change`` — so one ``ConfigurationVersion`` records the whole change — by calling the
services that own the objects: ``tenants.services.premises`` (Betriebsstätten, outlets),
``tse.services.signing_units`` and ``tse.services.connections`` (signing units), ``tenants.services.
entitlements.activate``, ``tse.services.protocol.register_client`` and ``exports.services.
cash_registers``. Their refusals become a ``ConfigurationError`` naming the path of the object; any
error rolls the whole operator back. The plan of the real run is computed under a row lock of the
operator, so it is exactly what is executed; a dry run returns the same plan and writes nothing (not
even a version). An empty plan changes nothing and stores no version: re-applying a document is
idempotent.

Writes the audit entry ``tenants.configuration.applied`` (source, number of actions, version).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import log_action, register_action_labels
from tenants.models import ConfigurationSource, ConfigurationVersion, Organization
from tenants.services.configuration.errors import ConfigurationError, error_entry
from tenants.services.configuration.plan import (
    PlannedAction,
    as_actor,
    available_entitlements,
    build_plan,
    resolve_acting_dealer,
)
from tenants.services.configuration.versions import configuration_change

__all__ = ["ApplyResult", "apply_configuration"]

register_action_labels({
    "tenants.configuration.applied": gettext_lazy("Configuration document applied"),
})


@dataclass
class ApplyResult:
    plan: list[dict]
    version: ConfigurationVersion | None
    changed: bool


# --- execution ----------------------------------------------------------------------------------


def _create_betriebsstaette(actor, organization, params):
    from tenants.services.premises import create_betriebsstaette

    data = dict(params["data"])
    if params["reference"]:
        data["reference"] = params["reference"]
    params["node"].obj = create_betriebsstaette(actor=actor, organization=organization, data=data)


def _update_betriebsstaette(actor, organization, params):
    from tenants.services.premises import update_betriebsstaette

    params["node"].obj = update_betriebsstaette(actor=actor, betriebsstaette=params["node"].obj,
                                                changes=params["data"])


def _outlet_data(params) -> dict:
    data = dict(params["data"])
    if params["has_premises"]:
        data["betriebsstaette"] = params["premises"].obj if params["premises"] is not None else None
    return data


def _create_outlet(actor, organization, params):
    from tenants.services.premises import create_outlet

    data = _outlet_data(params)
    data["number"] = params["number"]
    params["node"].obj = create_outlet(actor=actor, organization=organization, data=data)


def _update_outlet(actor, organization, params):
    from tenants.services.premises import update_outlet

    params["node"].obj = update_outlet(actor=actor, outlet=params["node"].obj, changes=_outlet_data(params))


def _create_signing_unit(actor, organization, params):
    from tse.models import BackendType
    from tse.services.connections import create_fiskaly_signing_unit, create_lan_signing_unit
    from tse.services.signing_units import create_signing_unit

    entry = params["entry"]
    outlet = params["outlet"].obj if params["outlet"] is not None else None
    options = {name: entry[name] for name in ("description", "mode", "max_clients") if name in entry}
    common = {"actor": actor, "organization": organization, "outlet": outlet, "reference": params["reference"]}
    backend = entry["backend"]
    if backend == BackendType.LAN:
        connection = entry["connection"]
        if "port" in connection:
            options["port"] = connection["port"]
        unit = create_lan_signing_unit(host=connection["host"], token=connection["token"],
                                       tse_serial_number=connection["tse_serial_number"], **common, **options)
    elif backend == BackendType.FISKALY:
        unit = create_fiskaly_signing_unit(**common, **options)
    else:
        if "curve" in entry:
            options["curve"] = entry["curve"]
        unit = create_signing_unit(backend=backend, **common, **options)
    params["node"].obj = unit


def _update_signing_unit(actor, organization, params):
    from tse.services.connections import update_lan_connection

    unit = params["node"].obj
    if params["description"] is not None:
        from tse.services.signing_units import update_signing_unit_description

        unit = update_signing_unit_description(actor=actor, signing_unit=unit, description=params["description"])
    lan = params["lan"]
    if lan:
        stored = unit.lan_connection
        update_lan_connection(actor=actor, signing_unit=unit, host=lan.get("host", stored.host),
                              port=lan.get("port", stored.port), max_clients=lan.get("max_clients", unit.max_clients))
    params["node"].obj = unit


def _activate(actor, organization, params, dealer_id):
    from tenants.services.entitlements import activate

    entitlement = (available_entitlements(organization, dealer_id, params["product"])
                   .select_for_update(skip_locked=True, of=("self",)).first())
    if entitlement is None:
        raise ConfigurationError(409, "E_NO_ENTITLEMENT_STOCK", _(
            "There are not enough entitlements to activate."), [])
    activate(actor=actor, entitlement=entitlement, signing_unit=params["node"].obj)


def _initialize(actor, organization, params):
    from tse.services.signing_units import initialize_signing_unit

    params["node"].obj = initialize_signing_unit(actor=actor, signing_unit=params["node"].obj,
                                                 description=params["description"] or "")


def _register(actor, organization, params):
    from tse.services.protocol import register_client

    params["node"].obj = register_client(actor=actor, signing_unit=params["unit"].obj, client_id=params["client_id"])


def _create_cash_register(actor, organization, params):
    from exports.services.cash_registers import create_cash_register

    create_cash_register(actor=actor, organization=organization, client=params["client"].obj,
                         outlet=params["outlet"].obj, pos_system_version=params["version"], **params["data"])


def _update_cash_register(actor, organization, params):
    from exports.services.cash_registers import update_cash_register

    changes = dict(params["data"])
    if "outlet" in changes:
        changes["outlet"] = changes["outlet"].obj
    update_cash_register(actor=actor, cash_register=params["register"], changes=changes)


_EXECUTORS = {
    ("create", "betriebsstaette"): _create_betriebsstaette,
    ("update", "betriebsstaette"): _update_betriebsstaette,
    ("create", "outlet"): _create_outlet,
    ("update", "outlet"): _update_outlet,
    ("create", "signing_unit"): _create_signing_unit,
    ("update", "signing_unit"): _update_signing_unit,
    ("initialize", "signing_unit"): _initialize,
    ("register", "client"): _register,
    ("create", "cash_register"): _create_cash_register,
    ("update", "cash_register"): _update_cash_register,
}

# Field names of the services' errors → the name in the document, relative to the object's path.
_FIELD_PATHS = {
    "client": "",
    "host": "connection/host",
    "port": "connection/port",
    "token": "connection/token",
    "tse_serial_number": "connection/tse_serial_number",
}


def _field_path(path: str, name: str | None) -> str:
    if not name or name == "__all__":
        return path
    relative = _FIELD_PATHS.get(name, name)
    return f"{path}/{relative}" if relative else path


def _converted(action: PlannedAction, exc: Exception) -> ConfigurationError:
    """The refusal of a service as a ``ConfigurationError`` at the path of the action's object."""
    if isinstance(exc, ValidationError):
        errors = []
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                errors.extend(error_entry(_field_path(action.path, name), "E_VALIDATION", message)
                              for message in messages)
        else:
            errors.extend(error_entry(action.path, "E_VALIDATION", message) for message in exc.messages)
        return ConfigurationError(400, "E_VALIDATION", _("%(label)s: the change was refused.") % {
            "label": action.label}, errors)
    status = getattr(exc, "status", 400)
    code = getattr(exc, "code", "E_VALIDATION")
    message = getattr(exc, "message", str(exc))
    path = _field_path(action.path, getattr(exc, "field", None))
    return ConfigurationError(status, code, f"{action.label}: {message}", [error_entry(path, code, message)])


def _refusals() -> tuple:
    from exports.services.cash_registers import MasterDataError
    from tenants.services.entitlements import EntitlementError
    from tenants.services.premises import PremisesError
    from tse.backends.base import TseError

    return PremisesError, TseError, MasterDataError, ValidationError, EntitlementError


def _execute(actor, organization, actions: list[PlannedAction], dealer_id) -> None:
    refusals = _refusals()
    for action in actions:
        try:
            if action.action == "activate":
                _activate(actor, organization, action.params, dealer_id)
            else:
                _EXECUTORS[(action.action, action.object)](actor, organization, action.params)
        except ConfigurationError as exc:
            if not exc.errors:
                exc.errors = [error_entry(action.path, exc.code, exc.message)]
            raise
        except refusals as exc:
            raise _converted(action, exc) from exc


def _summary(plan: list[dict]) -> str:
    counts: dict[str, int] = {}
    for action in plan:
        counts[action["action"]] = counts.get(action["action"], 0) + 1
    return _("Configuration applied: %(actions)s") % {
        "actions": ", ".join(f"{count} × {name}" for name, count in sorted(counts.items()))}


def apply_configuration(actor, organization, document, *, dry_run: bool = False,
                        source: str = ConfigurationSource.IMPORT, summary: str = "", rollout_job=None,
                        acting_dealer=None) -> ApplyResult:
    """Plan ``document`` for ``organization`` and, unless ``dry_run``, execute it in one transaction.

    ``acting_dealer``: the organization whose entitlement stock and POS catalogue count (default: the
    actor's organization when it acts for the operator as a partner). Raises ``ConfigurationError``.
    """
    actor = as_actor(actor)
    dealer_id = resolve_acting_dealer(actor, organization, acting_dealer)
    if dry_run:
        actions = build_plan(actor, organization, document, acting_dealer=dealer_id)
        return ApplyResult([action.public() for action in actions], None, False)
    with transaction.atomic():
        Organization.unscoped.select_for_update().only("pk").get(pk=organization.pk)
        actions = build_plan(actor, organization, document, acting_dealer=dealer_id)
        plan = [action.public() for action in actions]
        if not actions:
            return ApplyResult(plan, None, False)
        with configuration_change(actor, organization, source=source, summary=summary or _summary(plan),
                                  rollout_job=rollout_job) as change:
            _execute(actor, organization, actions, dealer_id)
        version = change.version
        log_action("tenants.configuration.applied", actor, organization, version,
                   data={"source": str(source), "actions": len(plan),
                         "version": version.number if version is not None else None})
    return ApplyResult(plan, version, True)
