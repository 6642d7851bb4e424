"""Variables of rollout templates and rendering a template into a configuration document.

A template declares ``variables`` (``{"store": {"type": "string", "pattern": "[A-Z0-9]{1,8}"},
"registers": {"type": "integer", "default": 2}}``) and uses them as ``{{ name }}`` in any string.
Rendering for one operator:

- values given for names the template does not declare → ``E_VARIABLE_UNKNOWN`` (the built-in
  ``system_variables`` cannot be overridden); declared names without a value and without a default →
  ``E_VARIABLE_MISSING`` (all listed); a value of the wrong type or not matching the variable's
  ``pattern`` (full match) → ``E_VARIABLE_TYPE``. Paths are ``/variables/<name>``.
- Values arrive as strings from CSV files: ``"3"`` becomes 3 for integers, ``true``/``false``/``ja``/
  ``nein``/``1``/``0`` become booleans.
- Every string has its ``{{ name }}`` replaced; a string that is exactly one variable takes the
  variable's typed value (so ``"count": "{{ registers }}"`` becomes an integer).
- A client entry with ``count`` becomes ``count`` clients, ``{n}`` / ``{n:02}`` (zero-padded to the
  width) in ``client_id`` numbering them 1, 2, …
- The result (``format`` ``kassenportal.configuration/1``, no ``variables``) must be a valid
  configuration document, else ``E_VALIDATION`` with the paths of the rendered document.
"""

import copy
import re

from django.utils.translation import gettext as _

from tenants.models import DealerLink, LinkStatus, Organization
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.schema import (
    CONFIGURATION_FORMAT,
    VARIABLE_REFERENCE,
    validate_configuration,
)

__all__ = [
    "SYSTEM_VARIABLES",
    "coerce_value",
    "expand_clients",
    "render_template",
    "resolve_variables",
    "serial_markers",
    "system_variables",
    "variable_names",
]

SYSTEM_VARIABLES = ("operator_id", "operator_name", "operator_reference", "operator_street", "operator_postal_code",
                    "operator_city")
TRUE_WORDS = frozenset({"true", "ja", "1", "yes"})
FALSE_WORDS = frozenset({"false", "nein", "0", "no"})
_REFERENCE = re.compile(VARIABLE_REFERENCE)
_ONLY = re.compile(r"^\s*" + VARIABLE_REFERENCE + r"\s*$")
_SERIAL = re.compile(r"\{n(?::0?(\d{1,2}))?\}")


class _Invalid(Exception):
    pass


def system_variables(operator: Organization, *, dealer: Organization | None = None) -> dict:
    """The built-in variables of ``operator``; ``operator_reference`` is the dealer's own reference of it."""
    reference = ""
    if dealer is not None:
        link = (DealerLink.unscoped.filter(organization=operator, dealer=dealer, status=LinkStatus.ACTIVE)
                .select_related("invitation").order_by("-pk").first())
        if link is not None and link.invitation is not None:
            reference = link.invitation.external_reference or ""
    return {
        "operator_id": str(operator.public_id),
        "operator_name": operator.name,
        "operator_reference": reference,
        "operator_street": operator.street,
        "operator_postal_code": operator.postal_code,
        "operator_city": operator.city,
    }


def variable_names(text: str) -> list[str]:
    """The variables a string uses, in order of appearance."""
    return [match.group(1) for match in _REFERENCE.finditer(text)]


def serial_markers(text: str) -> list[str]:
    return [match.group(0) for match in _SERIAL.finditer(text)]


def coerce_value(kind: str, value):
    """``value`` as a value of type ``kind`` (strings from CSV converted); raises ``ValueError``."""
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise ValueError(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        raise ValueError(value)
    if isinstance(value, str):
        return value
    raise ValueError(value)


def _type_label(kind: str) -> str:
    return {"integer": _("a whole number"), "boolean": _("yes or no (true/false)")}.get(kind, _("a text"))


def _check(name: str, spec: dict, value) -> tuple[object, dict | None]:
    kind = spec.get("type", "string")
    try:
        value = coerce_value(kind, value)
    except ValueError:
        return None, {"path": f"/variables/{name}", "code": "E_VARIABLE_TYPE",
                      "message": _("The variable “{name}” must be {kind}.").format(name=name, kind=_type_label(kind))}
    pattern = spec.get("pattern")
    if kind == "string" and pattern:
        try:
            matches = re.fullmatch(pattern, value) is not None
        except re.error:
            matches = False
        if not matches:
            return None, {"path": f"/variables/{name}", "code": "E_VARIABLE_TYPE",
                          "message": _("The value of “{name}” does not match its pattern {pattern}.").format(
                              name=name, pattern=pattern)}
    return value, None


def resolve_variables(declared: dict, values: dict, system: dict) -> dict:
    """The value of every variable (declared and built-in); raises ``ConfigurationError``."""
    errors: list[dict] = []
    values = dict(values or {})
    for name in values:
        if name not in declared or name in system:
            message = (_("The variable “{name}” is built in and cannot be set.") if name in system
                       else _("The template has no variable “{name}”.")).format(name=name)
            errors.append({"path": f"/variables/{name}", "code": "E_VARIABLE_UNKNOWN", "message": message})
    resolved = dict(system)
    missing = []
    for name, spec in declared.items():
        if name in system:
            continue
        spec = spec if isinstance(spec, dict) else {}
        given = values.get(name)
        if given == "" and spec.get("type", "string") != "string":
            given = None  # an empty CSV cell: not given
        if given is not None and not (given == "" and "default" in spec):
            raw = given
        elif "default" in spec:
            raw = spec["default"]
        else:
            missing.append({"path": f"/variables/{name}", "code": "E_VARIABLE_MISSING",
                            "message": _("Give a value for “{name}”.").format(name=name)})
            continue
        value, error = _check(name, spec, raw)
        if error:
            errors.append(error)
        else:
            resolved[name] = value
    errors += missing
    if errors:
        first = errors[0]["code"]
        messages = {
            "E_VARIABLE_UNKNOWN": _("Values were given for variables the template does not declare."),
            "E_VARIABLE_TYPE": _("Some variables have values of the wrong type or format."),
            "E_VARIABLE_MISSING": _("Some variables have no value: {names}.").format(
                names=", ".join(e["path"].rsplit("/", 1)[-1] for e in missing)),
        }
        raise ConfigurationError(400, first, messages[first], errors)
    return resolved


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _substitute(node, resolved: dict, path: str, errors: list):
    if isinstance(node, dict):
        return {key: _substitute(value, resolved, f"{path}/{key}", errors) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, resolved, f"{path}/{index}", errors) for index, value in enumerate(node)]
    if not isinstance(node, str):
        return node
    for name in variable_names(node):
        if name not in resolved:
            errors.append({"path": path, "code": "E_VARIABLE_UNDECLARED",
                           "message": _("The variable “{name}” is not declared.").format(name=name)})
            return node
    whole = _ONLY.match(node)
    if whole:
        return resolved[whole.group(1)]
    return _REFERENCE.sub(lambda match: _text(resolved[match.group(1)]), node)


def _serial(client_id: str, n: int) -> str:
    return _SERIAL.sub(lambda match: str(n).zfill(int(match.group(1) or 0)), client_id)


def expand_clients(clients, path: str, errors: list) -> list:
    """Client entries with ``count`` → that many clients numbered by ``{n}`` in ``client_id``."""
    if not isinstance(clients, list):
        return clients
    result = []
    for index, client in enumerate(clients):
        if not isinstance(client, dict) or "count" not in client:
            result.append(client)
            continue
        count = client["count"]
        client_id = client.get("client_id")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            errors.append({"path": f"{path}/{index}/count", "code": "E_VARIABLE_TYPE",
                           "message": _("The count must be a whole number of at least 1.")})
            continue
        if not isinstance(client_id, str) or not serial_markers(client_id):
            errors.append({"path": f"{path}/{index}/client_id", "code": "E_COUNT_PATTERN",
                           "message": _("With a count the client id needs {n} (or {n:02}) to number the POS.")})
            continue
        entry = {key: value for key, value in client.items() if key != "count"}
        for n in range(1, count + 1):
            clone = copy.deepcopy(entry)
            clone["client_id"] = _serial(client_id, n)
            result.append(clone)
    return result


def _expand(document: dict, errors: list) -> None:
    units = []
    outlets = document.get("outlets")
    if isinstance(outlets, list):
        for o, outlet in enumerate(outlets):
            if isinstance(outlet, dict) and isinstance(outlet.get("signing_units"), list):
                units += [(f"/outlets/{o}/signing_units/{u}", unit) for u, unit in enumerate(outlet["signing_units"])]
    if isinstance(document.get("signing_units"), list):
        units += [(f"/signing_units/{u}", unit) for u, unit in enumerate(document["signing_units"])]
    for path, unit in units:
        if isinstance(unit, dict) and "clients" in unit:
            unit["clients"] = expand_clients(unit["clients"], f"{path}/clients", errors)


def render_template(document: dict, values: dict, system: dict) -> dict:
    """The configuration document ``document`` (a template) yields with ``values``; raises ``ConfigurationError``."""
    declared = document.get("variables") or {}
    declared = declared if isinstance(declared, dict) else {}
    resolved = resolve_variables(declared, values, system)
    errors: list[dict] = []
    body = {key: value for key, value in document.items() if key not in ("format", "variables")}
    rendered = {"format": CONFIGURATION_FORMAT, **_substitute(body, resolved, "", errors)}
    if errors:
        raise ConfigurationError(400, "E_VARIABLE_UNDECLARED", _("The template uses undeclared variables."), errors)
    _expand(rendered, errors)
    if errors:
        raise ConfigurationError(400, errors[0]["code"], _("The POS entries with a count cannot be expanded."), errors)
    problems = validate_configuration(rendered)
    if problems:
        raise ConfigurationError(400, "E_VALIDATION",
                                 _("The template does not yield a valid configuration for these values."), problems)
    return rendered
