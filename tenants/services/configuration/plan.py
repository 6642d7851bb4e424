"""The plan of a configuration document: what applying it to an operator would change.

``plan_configuration(actor, organization, document)`` validates the document against the schema,
reads the operator's current objects (a constant number of queries, whatever their number), matches
the document's entries to them and returns the list of actions, in the order ``apply`` executes them:
Betriebsstätten, outlets, signing units (create → activate an entitlement → initialize → register its
POS), cash registers; within each group in document order. It writes nothing.

Matching: a Betriebsstätte by ``id`` (an id that is not this operator's is ``E_NOT_FOUND``, exactly as a
missing one) else by ``reference``; an outlet by ``id`` else ``number``; a signing unit by ``id`` else
``reference``; a POS client by (unit, ``client_id``); a cash register by its client. Fields absent from
the input are left as they are; read-only fields are ignored; objects absent from the input are never
removed. An action is ``{"action", "object", "path", "label", "changes": {field: {"old", "new"}}}``,
JSON-serialisable. Every finding is collected, then one ``ConfigurationError`` is raised: 400
``E_VALIDATION`` (schema and semantic findings with paths), 403 ``E_RIGHT_MISSING`` (a non-empty plan
without ``configure``, an activation without ``entitlements``), 409 ``E_NO_ENTITLEMENT_STOCK``.

``build_plan`` returns the same actions as ``PlannedAction`` objects that also carry what ``apply``
needs to execute them (the matched objects and the nodes later actions fill in).
"""

import copy
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from tenants.models import (
    Betriebsstaette,
    Entitlement,
    EntitlementState,
    Outlet,
    PosSystemDealer,
    PosSystemVersion,
)
from tenants.services.configuration.errors import ConfigurationError, error_entry
from tenants.services.configuration.schema import validate_configuration

__all__ = [
    "Node",
    "PlannedAction",
    "as_actor",
    "available_entitlements",
    "build_plan",
    "plan_configuration",
    "resolve_acting_dealer",
]

ADDRESS = ("street", "house_number", "postal_code", "city", "country")
REQUIRED_ADDRESS = ("street", "house_number", "postal_code", "city")
BETRIEBSSTAETTE_MANAGED = ("name", *ADDRESS, "remarks")
OUTLET_MANAGED = ("name", *ADDRESS)
CASH_REGISTER_MANAGED = ("pos_system_version", "outlet", "base_currency", "no_vat_assignment")
# Keys a snapshot emits as null where the schema wants a value: null means "none", i.e. not managed.
_NULL_MEANS_ABSENT_BETRIEBSSTAETTE = ("reference",)
_NULL_MEANS_ABSENT_UNIT = ("reference", "curve", "connection", "serial_number", "max_clients", "description",
                           "mode", "initialize")


@dataclass
class Node:
    """An object of the plan: the stored one, or ``None`` until the action that creates it ran."""

    obj: object = None
    key: str = ""


@dataclass
class PlannedAction:
    action: str
    object: str
    path: str
    label: str
    changes: dict
    params: dict = field(default_factory=dict, repr=False)

    def public(self) -> dict:
        return {"action": self.action, "object": self.object, "path": self.path, "label": self.label,
                "changes": self.changes}


def _normalized(document):
    """A copy with the nulls of a snapshot removed where the schema means "not given"."""
    if not isinstance(document, dict):
        return document
    document = copy.deepcopy(document)
    premises = document.get("betriebsstaetten")
    for entry in premises if isinstance(premises, list) else []:
        if isinstance(entry, dict):
            for key in _NULL_MEANS_ABSENT_BETRIEBSSTAETTE:
                if key in entry and entry[key] is None:
                    del entry[key]
    units = []
    if isinstance(document.get("outlets"), list):
        for outlet in document["outlets"]:
            if isinstance(outlet, dict) and isinstance(outlet.get("signing_units"), list):
                units.extend(outlet["signing_units"])
    if isinstance(document.get("signing_units"), list):
        units.extend(document["signing_units"])
    for unit in units:
        if isinstance(unit, dict):
            for key in _NULL_MEANS_ABSENT_UNIT:
                if key in unit and unit[key] is None:
                    del unit[key]
    return document


def _clean(name: str, value):
    if isinstance(value, str):
        value = value.strip()
        if name in ("country", "base_currency"):
            value = value.upper()
    return value


def _uuid(value: str) -> str:
    return str(uuid.UUID(value))


def as_actor(actor):
    """A ``portal.tenancy.Actor`` for ``actor`` (given as one, as a user or as an API key; None: the system)."""
    from portal.tenancy import actor_for_api_key, actor_for_user
    from tenants.models import ApiKey

    if actor is None or hasattr(actor, "member_roles"):
        return actor
    if isinstance(actor, ApiKey):
        return actor_for_api_key(actor)
    return actor_for_user(actor)


def resolve_acting_dealer(actor, organization, acting_dealer=None) -> int | None:
    """The pk of the organization whose entitlement stock and POS catalogue count (a dealer acting)."""
    if acting_dealer is not None:
        return acting_dealer.pk if hasattr(acting_dealer, "pk") else int(acting_dealer)
    if actor is not None and hasattr(actor, "acting_organization_id"):
        return actor.acting_organization_id(organization.pk)
    return None


class _Planner:
    def __init__(self, actor, organization, document, dealer_id):
        self.actor = actor
        self.organization = organization
        self.document = document
        self.dealer_id = dealer_id
        self.errors: list[dict] = []
        self.stock_errors: list[dict] = []
        self.actions: list[PlannedAction] = []
        self.cash_register_actions: list[PlannedAction] = []
        self._load()

    # --- reading --------------------------------------------------------------------------

    def _load(self):
        from tse.models import SigningUnit, TseClient

        org_id = self.organization.pk
        self.premises = list(Betriebsstaette.unscoped.filter(organization_id=org_id).order_by("pk"))
        self.outlets = list(Outlet.unscoped.filter(organization_id=org_id).order_by("pk"))
        self.units = list(SigningUnit.unscoped.filter(organization_id=org_id).select_related("lan_connection")
                          .order_by("pk"))
        self.clients = list(TseClient.unscoped.filter(organization_id=org_id)
                            .select_related("cash_register__pos_system_version").order_by("pk"))
        self.licensed = set(Entitlement.unscoped.filter(signing_unit__organization_id=org_id,
                                                        state=EntitlementState.ACTIVE)
                            .values_list("signing_unit_id", flat=True))
        self.versions = self._load_versions()

        self.premises_by_id = {str(b.public_id): b for b in self.premises}
        self.premises_by_reference = {b.reference: b for b in self.premises if b.reference}
        self.premises_by_pk = {b.pk: b for b in self.premises}
        self.outlets_by_id = {str(o.public_id): o for o in self.outlets}
        self.outlets_by_number = {o.number: o for o in self.outlets}
        self.outlets_by_pk = {o.pk: o for o in self.outlets}
        self.units_by_id = {str(u.public_id): u for u in self.units}
        self.units_by_reference = {u.reference: u for u in self.units if u.reference}
        self.clients_by_key = {(c.signing_unit_id, c.client_id): c for c in self.clients}
        self.registered = {}
        for client in self.clients:
            if client.state == "registered":
                self.registered[client.signing_unit_id] = self.registered.get(client.signing_unit_id, 0) + 1
        self.premises_nodes: dict[int, Node] = {}
        self.outlet_nodes: dict[int, Node] = {}

    def _version_references(self):
        for _path, unit in self._unit_entries():
            for client in unit.get("clients") or []:
                register = client.get("cash_register")
                if isinstance(register, dict) and "pos_system_version" in register:
                    yield register["pos_system_version"]

    def _load_versions(self) -> dict:
        ids, pairs = set(), set()
        for reference in self._version_references():
            if isinstance(reference, str):
                ids.add(_uuid(reference))
            else:
                pairs.add((_uuid(reference["pos_system"]), reference["software_version"]))
        if not ids and not pairs:
            return {}
        condition = Q(public_id__in=sorted(ids)) if ids else Q(pk__in=[])
        for system, version in sorted(pairs):
            condition |= Q(pos_system__public_id=system, software_version=version)
        rows = PosSystemVersion.unscoped.filter(condition).select_related("pos_system")
        if self.dealer_id is not None:
            rows = rows.annotate(shared=Exists(PosSystemDealer.unscoped.filter(
                pos_system_id=OuterRef("pos_system_id"), dealer_id=self.dealer_id)))
        found = {}
        for version in rows:
            found[str(version.public_id)] = version
            found[(str(version.pos_system.public_id), version.software_version)] = version
        return found

    def _unit_entries(self):
        for i, outlet in enumerate(self.document.get("outlets") or []):
            for j, unit in enumerate(outlet.get("signing_units") or []):
                yield f"/outlets/{i}/signing_units/{j}", unit
        for k, unit in enumerate(self.document.get("signing_units") or []):
            yield f"/signing_units/{k}", unit

    # --- helpers --------------------------------------------------------------------------

    def error(self, path: str, code: str, message):
        self.errors.append(error_entry(path, code, message))

    def add(self, action, obj, path, label, changes, **params) -> PlannedAction:
        planned = PlannedAction(action, obj, path, str(label), changes, params)
        self.actions.append(planned)
        return planned

    def premises_node(self, betriebsstaette) -> Node:
        node = self.premises_nodes.get(betriebsstaette.pk)
        if node is None:
            node = Node(betriebsstaette, betriebsstaette.reference or str(betriebsstaette.public_id))
            self.premises_nodes[betriebsstaette.pk] = node
        return node

    def outlet_node(self, outlet) -> Node:
        node = self.outlet_nodes.get(outlet.pk)
        if node is None:
            node = Node(outlet, str(outlet.number))
            self.outlet_nodes[outlet.pk] = node
        return node

    def require(self, entry: dict, path: str, names) -> bool:
        missing = [name for name in names if entry.get(name) in (None, "")]
        for name in missing:
            self.error(f"{path}/{name}", "E_REQUIRED", _("This field is required to create the object."))
        return not missing

    @staticmethod
    def diff(obj, entry: dict, names) -> dict:
        changes = {}
        for name in names:
            if name in entry:
                value = _clean(name, entry[name])
                old = getattr(obj, name)
                if old != value:
                    changes[name] = {"old": old, "new": value}
        return changes

    @staticmethod
    def given(entry: dict, names) -> dict:
        return {name: _clean(name, entry[name]) for name in names if name in entry}

    def match(self, path, entry, by_id, by_reference, seen, not_found, given_twice) -> tuple[object, bool]:
        """The existing object an entry names (by id, else by reference; None: to be created) and whether the
        entry can be planned. ``seen`` = the ids, references and objects of the entries before it."""
        seen_ids, seen_references, seen_objects = seen
        reference = entry.get("reference")
        obj = None
        if "id" in entry:
            key = _uuid(entry["id"])
            if key in seen_ids:
                self.error(f"{path}/id", "E_DUPLICATE", _("This id is given twice."))
                return None, False
            seen_ids.add(key)
            obj = by_id.get(key)
            if obj is None:
                self.error(f"{path}/id", "E_NOT_FOUND", not_found)
                return None, False
        elif reference is not None:
            obj = by_reference.get(reference)
        if reference is not None:
            if reference in seen_references:
                self.error(f"{path}/reference", "E_DUPLICATE", _("This reference is given twice."))
                return None, False
            seen_references.add(reference)
        if obj is not None:
            if obj.pk in seen_objects:
                self.error(path, "E_DUPLICATE", given_twice)
                return None, False
            seen_objects.add(obj.pk)
        return obj, True

    # --- Betriebsstätten ------------------------------------------------------------------

    def plan_premises(self):
        self.premises_keys: dict[str, Node] = {}
        seen = (set(), set(), set())
        for i, entry in enumerate(self.document.get("betriebsstaetten") or []):
            path = f"/betriebsstaetten/{i}"
            reference = entry.get("reference")
            obj, ok = self.match(path, entry, self.premises_by_id, self.premises_by_reference, seen,
                                 _("No Betriebsstätte with this id exists."), _("This Betriebsstätte is given twice."))
            if not ok:
                continue
            label = _("Betriebsstätte %(name)s") % {"name": entry.get("name") or (obj.name if obj else reference)}
            if obj is None:
                node = Node(None, reference)
                if self.require(entry, path, ("name", *REQUIRED_ADDRESS)):
                    data = self.given(entry, BETRIEBSSTAETTE_MANAGED)
                    changes = {"reference": {"old": None, "new": reference}}
                    changes.update({name: {"old": None, "new": value} for name, value in data.items()})
                    self.add("create", "betriebsstaette", path, label, changes, node=node, data=data,
                             reference=reference)
            else:
                node = self.premises_node(obj)
                changes = self.diff(obj, entry, BETRIEBSSTAETTE_MANAGED)
                if reference is not None and reference != obj.reference:
                    if obj.reference:
                        self.error(f"{path}/reference", "E_IMMUTABLE", _("The reference cannot be changed."))
                        continue
                    if reference in self.premises_by_reference:
                        self.error(f"{path}/reference", "E_DUPLICATE",
                                   _("Another Betriebsstätte has this reference."))
                        continue
                    changes["reference"] = {"old": None, "new": reference}
                if changes:
                    self.add("update", "betriebsstaette", path, label, changes, node=node,
                             data={name: change["new"] for name, change in changes.items()})
            if reference is not None:
                self.premises_keys[reference] = node
            if obj is not None:
                self.premises_keys[str(obj.public_id)] = node

    def resolve_premises(self, value: str):
        node = self.premises_keys.get(value)
        if node is not None:
            return node
        obj = self.premises_by_reference.get(value)
        if obj is None:
            try:
                obj = self.premises_by_id.get(_uuid(value))
            except ValueError:
                obj = None
        return self.premises_node(obj) if obj is not None else None

    # --- outlets --------------------------------------------------------------------------

    def plan_outlets(self):
        self.outlet_numbers: dict[int, Node] = {}
        self.outlet_entry_nodes: list[Node | None] = []
        seen_objects = set()
        for i, entry in enumerate(self.document.get("outlets") or []):
            path = f"/outlets/{i}"
            number = entry["number"]
            self.outlet_entry_nodes.append(None)
            if number in self.outlet_numbers:
                self.error(f"{path}/number", "E_DUPLICATE", _("This outlet number is given twice."))
                continue
            obj = None
            if "id" in entry:
                obj = self.outlets_by_id.get(_uuid(entry["id"]))
                if obj is None:
                    self.error(f"{path}/id", "E_NOT_FOUND", _("No outlet with this id exists."))
                    continue
                if obj.number != number:
                    self.error(f"{path}/number", "E_IMMUTABLE", _("The outlet number cannot be changed."))
                    continue
            else:
                obj = self.outlets_by_number.get(number)
            if obj is not None:
                if obj.pk in seen_objects:
                    self.error(path, "E_DUPLICATE", _("This outlet is given twice."))
                    continue
                seen_objects.add(obj.pk)
            premises = premises_key = None
            has_premises = "betriebsstaette" in entry
            if has_premises and entry["betriebsstaette"] is not None:
                premises_key = entry["betriebsstaette"]
                premises = self.resolve_premises(premises_key)
                if premises is None:
                    self.error(f"{path}/betriebsstaette", "E_UNKNOWN_BETRIEBSSTAETTE",
                               _("No Betriebsstätte with this reference exists, neither in the document nor at "
                                 "the operator."))
                    continue
            label = _("Outlet %(number)s") % {"number": number}
            if obj is None:
                node = Node(None, str(number))
                if self.require(entry, path, ("name", *REQUIRED_ADDRESS)):
                    data = self.given(entry, OUTLET_MANAGED)
                    changes = {"number": {"old": None, "new": number}}
                    changes.update({name: {"old": None, "new": value} for name, value in data.items()})
                    if has_premises:
                        changes["betriebsstaette"] = {"old": None, "new": premises_key}
                    self.add("create", "outlet", path, label, changes, node=node, number=number, data=data,
                             premises=premises, has_premises=has_premises)
            else:
                node = self.outlet_node(obj)
                changes = self.diff(obj, entry, OUTLET_MANAGED)
                data = {name: change["new"] for name, change in changes.items()}
                if has_premises:
                    current = obj.betriebsstaette_id
                    target = premises.obj.pk if premises is not None and premises.obj is not None else None
                    if current != target or (premises is not None and premises.obj is None):
                        old = self.premises_node(self.premises_by_pk[current]).key if current is not None else None
                        changes["betriebsstaette"] = {"old": old, "new": premises.key if premises else None}
                if changes:
                    self.add("update", "outlet", path, label, changes, node=node, data=data, premises=premises,
                             has_premises="betriebsstaette" in changes)
            self.outlet_numbers[number] = node
            self.outlet_entry_nodes[i] = node

    def outlet_by_number(self, number):
        node = self.outlet_numbers.get(number)
        if node is not None:
            return node
        obj = self.outlets_by_number.get(number)
        return self.outlet_node(obj) if obj is not None else None

    # --- signing units --------------------------------------------------------------------

    def plan_units(self):
        from tse.models import BackendType, SigningUnitState
        from tse.models.signing_units import DEFAULT_MAX_CLIENTS

        seen, seen_clients = (set(), set(), set()), set()
        self.needed_stock: dict[str, list[str]] = {}
        self.register_entries = []
        for path, entry in self._unit_entries():
            top_level = path.startswith("/signing_units/")
            outlet_node = None
            if not top_level:
                index = int(path.split("/")[2])
                outlet_node = self.outlet_entry_nodes[index] if index < len(self.outlet_entry_nodes) else None
                if outlet_node is None:  # the outlet has findings already
                    continue
            reference = entry.get("reference")
            obj, ok = self.match(path, entry, self.units_by_id, self.units_by_reference, seen,
                                 _("No signing unit with this id exists."), _("This signing unit is given twice."))
            if not ok:
                continue
            key = reference or (obj.reference if obj else "") or entry.get("description") or (
                str(obj.public_id) if obj else "")
            label = _("Signing unit %(key)s") % {"key": key}
            node = Node(obj, key)
            backend = entry["backend"]
            ok = True
            if obj is None:
                connection = entry.get("connection")
                if backend == BackendType.LAN:
                    if connection is None:
                        self.error(f"{path}/connection", "E_REQUIRED", _("A LAN TSE needs its connection."))
                        ok = False
                    elif not connection.get("token"):
                        self.error(f"{path}/connection/token", "E_REQUIRED",
                                   _("A new LAN TSE needs the API token of the device."))
                        ok = False
                max_clients = entry.get("max_clients") or DEFAULT_MAX_CLIENTS.get(backend, 199)
                registered = 0
                if ok:
                    changes = {"reference": {"old": None, "new": reference}, "backend": {"old": None, "new": backend}}
                    for name in ("description", "mode", "max_clients"):
                        if name in entry:
                            changes[name] = {"old": None, "new": entry[name]}
                    if backend == BackendType.SOFTWARE and "curve" in entry:
                        changes["curve"] = {"old": None, "new": entry["curve"]}
                    if backend == BackendType.LAN:
                        changes["connection"] = {"old": None, "new": {
                            "host": connection["host"], "port": connection.get("port"),
                            "tse_serial_number": connection["tse_serial_number"]}}
                    if outlet_node is not None:
                        changes["outlet"] = {"old": None, "new": int(outlet_node.key)}
                    self.add("create", "signing_unit", path, label, changes, node=node, entry=entry,
                             outlet=outlet_node, reference=reference or "")
                state = SigningUnitState.UNINITIALIZED
                licensed = False
            else:
                max_clients = obj.max_clients
                registered = self.registered.get(obj.pk, 0)
                state = obj.state
                licensed = obj.pk in self.licensed
                ok = self.plan_unit_update(path, entry, obj, node, outlet_node, label, registered)
            if not ok:
                continue
            product = (entry.get("entitlement") or {}).get("product")
            if product and not licensed:
                self.needed_stock.setdefault(product, []).append(f"{path}/entitlement")
                self.add("activate", "entitlement", f"{path}/entitlement",
                         _("Entitlement %(product)s for signing unit %(key)s") % {"product": product, "key": key},
                         {"product": {"old": None, "new": product}}, node=node, product=product)
            initialized = state == SigningUnitState.INITIALIZED
            if entry.get("initialize") is True and state == SigningUnitState.UNINITIALIZED:
                self.add("initialize", "signing_unit", path, _("Initialize signing unit %(key)s") % {"key": key},
                         {"state": {"old": state if obj is not None else None, "new": SigningUnitState.INITIALIZED}},
                         node=node, description=entry.get("description", obj.description if obj else ""))
                initialized = True
            new_clients = 0
            for c, client in enumerate(entry.get("clients") or []):
                client_path = f"{path}/clients/{c}"
                client_id = client["client_id"]
                if client_id in seen_clients:
                    self.error(f"{client_path}/client_id", "E_DUPLICATE", _("This client id is given twice."))
                    continue
                seen_clients.add(client_id)
                existing = self.clients_by_key.get((obj.pk, client_id)) if obj is not None else None
                client_node = Node(existing, client_id)
                if existing is None:
                    if state == SigningUnitState.DISABLED:
                        self.error(f"{client_path}/client_id", "E_SIGNING_UNIT_DISABLED",
                                   _("The signing unit is disabled; no POS can be registered at it."))
                        continue
                    if not initialized:
                        self.error(f"{client_path}/client_id", "E_NOT_INITIALIZED",
                                   _("POS can only be registered at an initialized signing unit: set "
                                     "\"initialize\" to true."))
                        continue
                    new_clients += 1
                    self.add("register", "client", client_path,
                             _("POS %(client_id)s at signing unit %(key)s") % {"client_id": client_id, "key": key},
                             {"client_id": {"old": None, "new": client_id}}, node=client_node, unit=node,
                             client_id=client_id)
                elif existing.state != "registered":
                    self.error(f"{client_path}/client_id", "E_CLIENT_DEREGISTERED",
                               _("This POS is deregistered at the signing unit and is not registered again."))
                    continue
                if isinstance(client.get("cash_register"), dict):
                    self.register_entries.append((f"{client_path}/cash_register", client["cash_register"],
                                                  client_node, outlet_node, client_id))
            if new_clients and registered + new_clients > max_clients:
                self.error(f"{path}/clients", "E_CLIENT_LIMIT",
                           _("%(count)s POS exceed the maximum of %(max)s clients of this signing unit.") % {
                               "count": registered + new_clients, "max": max_clients})

    def plan_unit_update(self, path, entry, obj, node, outlet_node, label, registered) -> bool:
        from tse.models import BackendType

        ok = True
        if entry["backend"] != obj.backend:
            self.error(f"{path}/backend", "E_IMMUTABLE", _("The TSE type of a signing unit cannot be changed."))
            ok = False
        if "mode" in entry and entry["mode"] != obj.mode:
            self.error(f"{path}/mode", "E_IMMUTABLE", _("The mode of a signing unit cannot be changed."))
            ok = False
        if "curve" in entry and obj.backend == BackendType.SOFTWARE and entry["curve"] != obj.curve:
            self.error(f"{path}/curve", "E_IMMUTABLE", _("The curve of a signing unit cannot be changed."))
            ok = False
        reference = entry.get("reference")
        if reference is not None and reference != obj.reference:
            self.error(f"{path}/reference", "E_IMMUTABLE", _("The reference of a signing unit cannot be changed."))
            ok = False
        expected_outlet = outlet_node.obj.pk if outlet_node is not None and outlet_node.obj is not None else None
        if (outlet_node is not None and outlet_node.obj is None) or obj.outlet_id != expected_outlet:
            self.error(path, "E_IMMUTABLE", _("A signing unit cannot move to another outlet."))
            ok = False
        changes, lan = {}, {}
        if "description" in entry and entry["description"] != obj.description:
            changes["description"] = {"old": obj.description, "new": entry["description"]}
        if "max_clients" in entry and entry["max_clients"] != obj.max_clients:
            if obj.backend != BackendType.LAN or entry["max_clients"] < registered:
                self.error(f"{path}/max_clients", "E_IMMUTABLE", _(
                    "The maximum number of clients of this signing unit cannot be changed to this value."))
                ok = False
            else:
                changes["max_clients"] = {"old": obj.max_clients, "new": entry["max_clients"]}
                lan["max_clients"] = entry["max_clients"]
        connection = entry.get("connection")
        if connection is not None and obj.backend == BackendType.LAN:
            stored = getattr(obj, "lan_connection", None)
            if stored is not None:
                if connection["tse_serial_number"].strip().lower() != stored.tse_serial_number:
                    self.error(f"{path}/connection/tse_serial_number", "E_IMMUTABLE",
                               _("The serial number of a TSE cannot be changed."))
                    ok = False
                for name in ("host", "port"):
                    if name in connection and connection[name] != getattr(stored, name):
                        changes.setdefault("connection", {"old": {}, "new": {}})
                        changes["connection"]["old"][name] = getattr(stored, name)
                        changes["connection"]["new"][name] = connection[name]
                        lan[name] = connection[name]
        if ok and changes:
            self.add("update", "signing_unit", path, label, changes, node=node,
                     description=changes.get("description", {}).get("new"), lan=lan)
        return ok

    # --- cash registers -------------------------------------------------------------------

    def version_for(self, reference, path, *, current=None):
        key = _uuid(reference) if isinstance(reference, str) else (_uuid(reference["pos_system"]),
                                                                   reference["software_version"])
        version = self.versions.get(key)
        if version is not None and current is not None and version.pk == current:
            return version
        if version is None or version.pos_system.retired_at is not None or not self.visible(version):
            self.error(path, "E_POS_SYSTEM_VERSION_NOT_FOUND",
                       _("No POS system version with this id is available to you."))
            return None
        return version

    def visible(self, version) -> bool:
        if self.dealer_id is None:  # the operator itself (or the system): the whole catalogue
            return True
        owners = {self.dealer_id, *getattr(self.actor, "member_roles", {})}
        return version.pos_system.organization_id in owners or bool(getattr(version, "shared", False))

    def plan_cash_registers(self):
        for path, entry, client_node, outlet_node, client_id in self.register_entries:
            register = None
            if client_node.obj is not None:
                try:
                    register = client_node.obj.cash_register
                except ObjectDoesNotExist:
                    register = None
            if "id" in entry and (register is None or str(register.public_id) != _uuid(entry["id"])):
                self.error(f"{path}/id", "E_NOT_FOUND", _("No cash register with this id exists for this POS."))
                continue
            label = _("Cash register %(client_id)s") % {"client_id": client_id}
            target_outlet = outlet_node
            if "outlet" in entry:
                target_outlet = self.outlet_by_number(entry["outlet"])
                if target_outlet is None:
                    self.error(f"{path}/outlet", "E_NOT_FOUND", _("No outlet with this number exists."))
                    continue
            data = {}
            if register is None:
                if "pos_system_version" not in entry:
                    self.error(f"{path}/pos_system_version", "E_REQUIRED",
                               _("This field is required to create the object."))
                    continue
                if target_outlet is None:
                    self.error(f"{path}/outlet", "E_REQUIRED",
                               _("A cash register of a signing unit without an outlet needs its outlet number."))
                    continue
                version = self.version_for(entry["pos_system_version"], f"{path}/pos_system_version")
                if version is None:
                    continue
                changes = {"pos_system_version": {"old": None, "new": str(version.public_id)}}
                if "outlet" in entry:
                    changes["outlet"] = {"old": None, "new": entry["outlet"]}
                for name in ("base_currency", "no_vat_assignment"):
                    if name in entry:
                        data[name] = _clean(name, entry[name])
                        changes[name] = {"old": None, "new": data[name]}
                self.cash_register_actions.append(PlannedAction(
                    "create", "cash_register", path, label, changes,
                    {"client": client_node, "outlet": target_outlet, "version": version, "data": data}))
                continue
            changes = {}
            if "pos_system_version" in entry:
                version = self.version_for(entry["pos_system_version"], f"{path}/pos_system_version",
                                           current=register.pos_system_version_id)
                if version is None:
                    continue
                if version.pk != register.pos_system_version_id:
                    changes["pos_system_version"] = {"old": str(register.pos_system_version.public_id),
                                                     "new": str(version.public_id)}
                    data["pos_system_version"] = version
            if "outlet" in entry and (target_outlet.obj is None or target_outlet.obj.pk != register.outlet_id):
                old = self.outlets_by_pk[register.outlet_id].number
                changes["outlet"] = {"old": old, "new": entry["outlet"]}
                data["outlet"] = target_outlet
            for name in ("base_currency", "no_vat_assignment"):
                if name in entry and _clean(name, entry[name]) != getattr(register, name):
                    changes[name] = {"old": getattr(register, name), "new": _clean(name, entry[name])}
                    data[name] = changes[name]["new"]
            if changes and register.decommissioned_at is not None:
                self.error(path, "E_CASH_REGISTER_DECOMMISSIONED",
                           _("This cash register is decommissioned and can no longer be changed."))
                continue
            if changes:
                self.cash_register_actions.append(PlannedAction(
                    "update", "cash_register", path, label, changes, {"register": register, "data": data}))

    # --- entitlements and rights ----------------------------------------------------------

    def check_stock(self):
        for product, paths in self.needed_stock.items():
            rows = _stock(self.organization, self.dealer_id, product).values_list("pk", flat=True)
            available = len(rows[:len(paths)])
            for path in paths[available:]:
                self.stock_errors.append(error_entry(path, "E_NO_ENTITLEMENT_STOCK", _(
                    "No entitlement of product %(product)s is in stock or transferred to this operator.") % {
                    "product": product}))

    def check_right(self, right: str, capability: str, message) -> None:
        """A partner needs the granted ``right``; a member (or API key) of the operator the ``capability``."""
        actor, org_id = self.actor, self.organization.pk
        if actor is None:  # the system
            return
        if actor.is_partner_of(org_id) or org_id not in actor.member_roles:
            if not (actor.has_right(org_id, right) and actor.can(org_id, capability)):
                raise ConfigurationError(403, "E_RIGHT_MISSING", message)
        elif not actor.can(org_id, capability):
            raise ConfigurationError(403, "E_PERMISSION_DENIED", _("Your role does not allow this change."))

    def run(self) -> list[PlannedAction]:
        self.plan_premises()
        self.plan_outlets()
        self.plan_units()
        self.plan_cash_registers()
        self.actions.extend(self.cash_register_actions)
        if self.errors:
            raise ConfigurationError(400, "E_VALIDATION", _("The configuration cannot be applied."), self.errors)
        if self.actions:
            self.check_right("configure", "configure", _(
                "The operator has not granted your organization the right to configure it."))
        if self.needed_stock:
            self.check_right("entitlements", "manage_entitlements", _(
                "The operator has not granted your organization the right to manage entitlements."))
        self.check_stock()
        if self.stock_errors:
            raise ConfigurationError(409, "E_NO_ENTITLEMENT_STOCK", _(
                "There are not enough entitlements to activate."), self.stock_errors)
        return self.actions


def _stock(organization, dealer_id, product: str):
    """Entitlements of ``product`` an activation for ``organization`` may take: the ones transferred to
    the operator and not active yet first, then the acting dealer's stock; oldest first."""
    condition = Q(operator_id=organization.pk, state=EntitlementState.ASSIGNED)
    if dealer_id is not None:
        condition |= Q(dealer_id=dealer_id, state=EntitlementState.STOCK)
    return (Entitlement.unscoped.filter(condition, product__code=product)
            .order_by("state", "created_at", "pk"))  # "assigned" < "stock"


def available_entitlements(organization, dealer_id, product: str):
    """The entitlements ``apply`` takes one from (in the order the plan counts them)."""
    return _stock(organization, dealer_id, product)


def build_plan(actor, organization, document, *, acting_dealer=None) -> list[PlannedAction]:
    """The actions of ``document`` for ``organization`` with what executing them needs.

    Raises ``ConfigurationError``; writes nothing."""
    document = _normalized(document)
    errors = validate_configuration(document)
    if errors:
        raise ConfigurationError(400, "E_VALIDATION", _("The configuration document is not valid."), errors)
    actor = as_actor(actor)
    dealer_id = resolve_acting_dealer(actor, organization, acting_dealer)
    return _Planner(actor, organization, document, dealer_id).run()


def plan_configuration(actor, organization, document, *, acting_dealer=None) -> list[dict]:
    """What applying ``document`` to ``organization`` would change (no writes); raises ``ConfigurationError``."""
    return [action.public() for action in build_plan(actor, organization, document, acting_dealer=acting_dealer)]
