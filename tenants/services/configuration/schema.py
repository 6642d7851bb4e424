"""JSON Schemas of the configuration document and of the rollout-template document, and validation.

Configuration document (``format: kassenportal.configuration/1``): an operator's fiscal set-up as a
tree — Betriebsstätten, and per outlet its signing units (TSEs), the POS clients registered at each
and the cash register (DSFinV-K master data) of each client. Signing units without an outlet sit in
the top-level ``signing_units``. Exported by ``document.snapshot``; read back by ``apply``. Fields
marked ``readOnly`` (serial numbers, states, closing dates) are reported and ignored on input.

Rollout template (``format: kassenportal.rollout-template/1``): the same tree without ids and
read-only fields, plus ``variables`` (declared with type, default and description) used as
``{{ name }}`` in any string; a typed field (a number, a boolean) may be given as a string that is
exactly one variable. A client entry may carry ``count`` and a client id with ``{n}`` or ``{n:02}``
(1-based serial pattern). Rendering (``tenants.services.rollout.variables``) yields a configuration
document.

Errors are ``{"path": <JSON pointer>, "code": "E_…", "message": …}``; for a missing field the path
names the missing field itself.
"""

import copy
from functools import cache

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

__all__ = [
    "CONFIGURATION_FORMAT",
    "TEMPLATE_FORMAT",
    "VARIABLE_NAME",
    "VARIABLE_ONLY",
    "VARIABLE_REFERENCE",
    "configuration_schema",
    "template_schema",
    "validate_configuration",
    "validate_template_structure",
]

CONFIGURATION_FORMAT = "kassenportal.configuration/1"
TEMPLATE_FORMAT = "kassenportal.rollout-template/1"
VARIABLE_NAME = r"[a-z_][a-z0-9_]{0,49}"
VARIABLE_REFERENCE = r"\{\{\s*(" + VARIABLE_NAME + r")\s*\}\}"
VARIABLE_ONLY = r"^\{\{\s*" + VARIABLE_NAME + r"\s*\}\}$"
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9.-]{1,30}$"  # no "/" or "_" (DSFinV-K KASSE_SERIENNR, fiskaly client serial)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
BACKENDS = ["software", "fiskaly", "lan"]
MODES = ["test", "live"]
CURVES = ["P-256", "P-384", "brainpoolP256r1", "brainpoolP384r1"]


# an object names an existing one by id, or carries the (non-null) reference it is matched or created by
_ID_OR_REFERENCE = [{"required": ["id"]}, {"required": ["reference"], "properties": {"reference": {"type": "string"}}}]


def _text(max_length: int, *, min_length: int = 1) -> dict:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def _read_only(schema: dict) -> dict:
    return {**schema, "readOnly": True}


def _id() -> dict:
    return {"type": "string", "pattern": UUID_PATTERN,
            "description": "Public id of an existing object of this operator (absent: matched by its key or created)."}


def _address() -> dict:
    return {
        "street": _text(200),
        "house_number": _text(20),
        "postal_code": {"type": "string", "pattern": r"^[0-9]{5}$"},
        "city": _text(100),
        "country": {"type": "string", "pattern": r"^[A-Z]{2}$", "default": "DE"},
    }


def _cash_register() -> dict:
    return {
        "type": ["object", "null"],
        "description": "The cash register (DSFinV-K master data) of this POS; null: none.",
        "additionalProperties": False,
        "properties": {
            "id": _id(),
            "pos_system_version": {
                "description": "The POS system version from the creator's catalogue: its id, or the system's id "
                               "and the software version.",
                "oneOf": [
                    {"type": "string", "pattern": UUID_PATTERN},
                    {"type": "object", "additionalProperties": False, "required": ["pos_system", "software_version"],
                     "properties": {"pos_system": {"type": "string", "pattern": UUID_PATTERN},
                                    "software_version": _text(50)}},
                ],
            },
            "pos_system": _read_only({"type": "string", "description": "Brand, system and version, as text."}),
            "outlet": {"type": "integer", "minimum": 1,
                       "description": "Outlet number of the register when it differs from its signing unit's."},
            "base_currency": {"type": "string", "pattern": r"^[A-Z]{3}$", "default": "EUR"},
            "no_vat_assignment": {"type": "boolean", "default": False},
            "decommissioned_at": _read_only({"type": ["string", "null"]}),
        },
    }


def _client() -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["client_id"],
        "properties": {
            "client_id": {"type": "string", "pattern": CLIENT_ID_PATTERN,
                          "description": "Serial number of the POS (TSE client id, DSFinV-K KASSE_SERIENNR)."},
            "state": _read_only({"type": "string", "enum": ["registered", "deregistered"]}),
            "cash_register": _cash_register(),
        },
    }


def _signing_unit(*, top_level: bool) -> dict:
    properties = {
        "id": _id(),
        "reference": {"type": ["string", "null"], "pattern": REFERENCE_PATTERN,
                      "description": "Key of the signing unit in this operator's configuration."},
        "backend": {"type": "string", "enum": BACKENDS},
        "description": _text(200, min_length=0),
        "mode": {"type": "string", "enum": MODES, "default": "test"},
        "curve": {"type": ["string", "null"], "enum": [*CURVES, None], "description": "Software TSE only."},
        "max_clients": {"type": "integer", "minimum": 1, "maximum": 10000},
        "connection": {
            "type": ["object", "null"], "additionalProperties": False, "description": "LAN TSE only.",
            "required": ["host", "tse_serial_number"],
            "properties": {"host": _text(253), "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                           "tse_serial_number": _text(128), "token": {**_text(200), "writeOnly": True}},
        },
        "initialize": {"type": "boolean", "description": "Initialize the TSE (read: it is initialized)."},
        "entitlement": {
            "type": ["object", "null"], "additionalProperties": False, "required": ["product"],
            "description": "Activate an entitlement of this product for the unit (read: the active one).",
            "properties": {"product": _text(40)},
        },
        "state": _read_only({"type": "string", "enum": ["uninitialized", "initialized", "disabled"]}),
        "serial_number": _read_only({"type": ["string", "null"]}),
        "clients": {"type": "array", "items": _client()},
    }
    required = ["backend"]
    if top_level:
        properties["outlet"] = _read_only({"type": "null"})
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties,
            "anyOf": _ID_OR_REFERENCE}


def _betriebsstaette() -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "id": _id(),
            "reference": {"type": ["string", "null"], "pattern": REFERENCE_PATTERN,
                          "description": "Key of the Betriebsstätte; outlets name it in `betriebsstaette`."},
            "name": _text(200),
            **_address(),
            "remarks": _text(2000, min_length=0),
            "closed_on": _read_only({"type": ["string", "null"]}),
        },
        "anyOf": _ID_OR_REFERENCE,
    }


def _outlet() -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["number"],
        "properties": {
            "id": _id(),
            "number": {"type": "integer", "minimum": 1, "description": "Outlet number; never changes once set."},
            "name": _text(200),
            **_address(),
            "betriebsstaette": {"type": ["string", "null"],
                                "description": "Reference (or id) of an entry of `betriebsstaetten`."},
            "closed_on": _read_only({"type": ["string", "null"]}),
            "signing_units": {"type": "array", "items": _signing_unit(top_level=False)},
        },
    }


@cache
def configuration_schema() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://kassenportal.example/schemas/configuration-1.json",
        "title": "Kassenportal configuration document",
        "type": "object",
        "additionalProperties": False,
        "required": ["format"],
        "properties": {
            "format": {"const": CONFIGURATION_FORMAT},
            "operator": _read_only({"type": "object", "description": "Id and name of the operator, for reference."}),
            "betriebsstaetten": {"type": "array", "items": _betriebsstaette()},
            "outlets": {"type": "array", "items": _outlet()},
            "signing_units": {"type": "array", "items": _signing_unit(top_level=True),
                              "description": "Signing units not assigned to an outlet."},
        },
    }


# --- the template schema is derived: no ids or read-only fields, variables allowed -------------

_VARIABLE_STRING = {"type": "string", "pattern": VARIABLE_ONLY}
_TEMPLATED_STRING = r"\{\{\s*" + VARIABLE_NAME + r"\s*\}\}|\{n(:[0-9]{1,2})?\}"


def _templated(node):
    """Turn a configuration (sub)schema into its template form."""
    if isinstance(node, list):
        return [_templated(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if node.get("type") == "object" or "properties" in node:
        properties = {name: _templated(value) for name, value in node.get("properties", {}).items()
                      if name != "id" and not value.get("readOnly")}
        node["properties"] = properties
        if "anyOf" in node:
            node["anyOf"] = [branch for branch in node["anyOf"] if branch.get("required") != ["id"]]
            if len(node["anyOf"]) == 1:
                node["required"] = sorted(set(node.get("required", [])) | set(node.pop("anyOf")[0]["required"]))
                for name in node["required"]:  # a required key of a template is never null
                    types = properties.get(name, {}).get("type")
                    if isinstance(types, list) and "null" in types:
                        properties[name] = {**properties[name], "type": [t for t in types if t != "null"][0]}
            elif not node["anyOf"]:
                node.pop("anyOf")
        return node
    if "oneOf" in node:
        node["oneOf"] = [_templated(branch) for branch in node["oneOf"]]
        return node
    if "items" in node:
        node["items"] = _templated(node["items"])
        return node
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types:
        # a literal must be valid as it is; a string holding a variable (or a client-id serial pattern {n})
        # is checked after rendering
        constraints = ("pattern", "enum", "minLength", "maxLength", "const")
        if not any(key in node for key in constraints):
            return node
        loose = {key: value for key, value in node.items() if key not in constraints}
        return {"anyOf": [node, {**loose, "type": "string", "pattern": _TEMPLATED_STRING}],
                **({"description": node["description"]} if "description" in node else {})}
    if {"integer", "boolean"} & set(types):
        return {"anyOf": [node, _VARIABLE_STRING], **({"description": node["description"]}
                                                       if "description" in node else {})}
    return node


def _variables_schema() -> dict:
    return {
        "type": "object",
        "propertyNames": {"pattern": "^" + VARIABLE_NAME + "$"},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type"],
            "properties": {
                "type": {"enum": ["string", "integer", "boolean"]},
                "default": {"type": ["string", "integer", "boolean"]},
                "description": {"type": "string", "maxLength": 300},
                "pattern": {"type": "string", "format": "regex", "description": "For strings: a regular expression "
                                                                                "the whole value must match."},
            },
        },
        "description": "Variables used as {{ name }}; a variable without default must be given per operator. "
                       "Built in: operator_id, operator_name, operator_reference, operator_street, "
                       "operator_postal_code, operator_city.",
    }


@cache
def template_schema() -> dict:
    schema = _templated(copy.deepcopy(configuration_schema()))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://kassenportal.example/schemas/rollout-template-1.json"
    schema["title"] = "Kassenportal rollout template"
    schema["properties"]["format"] = {"const": TEMPLATE_FORMAT}
    schema["properties"]["variables"] = _variables_schema()
    client = schema["properties"]["outlets"]["items"]["properties"]["signing_units"]["items"]["properties"][
        "clients"]["items"]
    for clients_owner in (schema["properties"]["outlets"]["items"]["properties"]["signing_units"]["items"],
                          schema["properties"]["signing_units"]["items"]):
        clients_owner["properties"]["clients"]["items"] = client
    client["properties"]["count"] = {
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": 199}, _VARIABLE_STRING],
        "description": "Number of POS made from this entry; client_id then holds {n} (or {n:02}, …): 1, 2, …",
    }
    return schema


# --- validation --------------------------------------------------------------------------------


def _pointer(parts) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _message(error) -> tuple[str, str, list]:
    keyword = error.validator
    path = list(error.absolute_path)
    if keyword == "required":
        missing = next((name for name in error.validator_value if name not in (error.instance or {})), "")
        return "E_REQUIRED", _("This field is required."), [*path, missing]
    if keyword == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return "E_UNKNOWN_FIELD", _("Unknown field."), [*path, extra[0] if extra else ""]
    if keyword == "type":
        return "E_TYPE", _("Wrong type: expected %(types)s.") % {"types": error.validator_value}, path
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        return "E_CHOICE", _("Not one of the allowed values: %(values)s.") % {
            "values": ", ".join(str(value) for value in allowed)}, path
    if keyword in ("pattern", "format"):
        return "E_FORMAT", _("Wrong format."), path
    if keyword in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        return "E_RANGE", _("Out of range (%(rule)s %(limit)s).") % {"rule": keyword,
                                                                      "limit": error.validator_value}, path
    if keyword == "anyOf" and _all_required(error.validator_value):
        names = [branch["required"][0] for branch in error.validator_value]
        return "E_REQUIRED", _("Give one of: %(fields)s.") % {"fields": ", ".join(names)}, [*path, names[-1]]
    if keyword in ("anyOf", "oneOf"):
        return "E_INVALID", _("Does not match any of the allowed forms."), path
    return "E_INVALID", _("Invalid value."), path


def _validate(schema: dict, document) -> list[dict]:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = []
    for error in sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)),
                                                                       e.validator)):
        # for anyOf/oneOf report the most specific branch error when there is one
        if error.validator in ("anyOf", "oneOf") and error.context:
            deepest = max(error.context, key=lambda e: len(e.absolute_path))
            if len(deepest.absolute_path) > len(error.absolute_path):
                error = deepest
            elif error.validator == "anyOf" and not _all_required(error.validator_value):
                # a literal that breaks the rule of its field: report that rule (the first form)
                error = next((e for e in error.context if e.relative_schema_path[0] == 0), error)
        code, message, path = _message(error)
        entry = {"path": _pointer(path), "code": code, "message": message}
        if entry not in errors:
            errors.append(entry)
    return errors


def _all_required(branches) -> bool:
    return all("required" in branch for branch in branches)


def validate_configuration(document) -> list[dict]:
    """Schema errors of a configuration document (empty: valid)."""
    return _validate(configuration_schema(), document)


def validate_template_structure(document) -> list[dict]:
    """Schema errors of a rollout-template document; semantic checks are in ``rollout.templates``."""
    return _validate(template_schema(), document)
