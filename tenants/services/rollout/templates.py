"""Rollout templates: creation, versions, sharing with dealers, validation and diffs.

- A template belongs to a creator or dealer (an **active** role; else ``E_ROLE_REQUIRED``). Members of
  the owner with the ``configure`` capability change it (``E_PERMISSION_DENIED`` otherwise); members of
  dealers it is shared with read and apply it.
- Every change of the document is a new ``RolloutTemplateVersion`` (1, 2, …, numbered under a row
  lock of the template); a document equal to the latest one (same SHA-256) is refused with
  ``E_VERSION_UNCHANGED``. Archived templates take no new versions (``E_TEMPLATE_ARCHIVED``).
- ``validate_template`` = the JSON Schema (``schema.validate_template_structure``) plus semantic
  checks: variables used but not declared (``E_VARIABLE_UNDECLARED`` at the string's path), built-in
  names declared (``E_VARIABLE_RESERVED``), defaults of the wrong type (``E_VARIABLE_TYPE``),
  duplicate outlet numbers, references and client ids (``E_DUPLICATE``), ``count`` without ``{n}``
  (``E_COUNT_PATTERN``), ``{n}`` without ``count`` (``E_COUNT_REQUIRED``) and outlets naming a
  Betriebsstätte the template does not define (``E_UNKNOWN_REFERENCE``). Whether the defaults yield a
  valid configuration is checked when the template is applied.
- Only templates of a creator are shared, and only with dealers the creator works with — dealers it
  shares a POS system with (``PosSystemDealer``); others → ``E_NOT_A_PARTNER``.

Every change writes an audit entry in the owner's log (``tenants.rollout_template.*``).
"""

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import log_action, register_action_labels
from tenants.models import (
    Organization,
    OrganizationRole,
    PosSystemDealer,
    RoleKind,
    RoleStatus,
    RolloutTemplate,
    RolloutTemplateShare,
    RolloutTemplateVersion,
)
from tenants.services.configuration.diff import diff_documents
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.schema import validate_template_structure
from tenants.services.rollout.variables import (
    SYSTEM_VARIABLES,
    coerce_value,
    serial_markers,
    variable_names,
)

__all__ = [
    "add_version",
    "archive_template",
    "create_template",
    "document_digest",
    "latest_version",
    "may_change",
    "owner_may_share",
    "partner_dealers",
    "share_template",
    "unshare_template",
    "update_template",
    "validate_template",
    "version_diff",
]

register_action_labels({
    "tenants.rollout_template.created": gettext_lazy("Rollout template created"),
    "tenants.rollout_template.versioned": gettext_lazy("New version of a rollout template"),
    "tenants.rollout_template.changed": gettext_lazy("Rollout template changed"),
    "tenants.rollout_template.archived": gettext_lazy("Rollout template archived"),
    "tenants.rollout_template.shared": gettext_lazy("Rollout template shared with a dealer"),
    "tenants.rollout_template.unshared": gettext_lazy("Rollout template no longer shared with a dealer"),
})

NAME_MAX = 200
NOTE_MAX = 300


# --- validation ---------------------------------------------------------------------------------


def _error(path: str, code: str, message: str) -> dict:
    return {"path": path, "code": code, "message": str(message)}


def _strings(node, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}/{index}")
    elif isinstance(node, str):
        yield path, node


def _literal_key(value):
    return json.dumps(value, sort_keys=True) if value is not None else None


def _duplicates(entries, errors: list, message: str) -> None:
    """``entries`` = ``(path, value)``; a value seen before is reported at its later path."""
    seen = set()
    for path, value in entries:
        key = _literal_key(value)
        if key is None or key == '""':
            continue
        if key in seen:
            errors.append(_error(path, "E_DUPLICATE", message))
        seen.add(key)


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _dicts(value):
    return [(index, item) for index, item in enumerate(_list(value)) if isinstance(item, dict)]


def _semantic_errors(document: dict) -> list[dict]:
    errors: list[dict] = []
    declared = document.get("variables") if isinstance(document.get("variables"), dict) else {}
    for name, spec in declared.items():
        if name in SYSTEM_VARIABLES:
            errors.append(_error(f"/variables/{name}", "E_VARIABLE_RESERVED",
                                 _("“{name}” is a built-in variable and cannot be declared.").format(name=name)))
            continue
        if not isinstance(spec, dict) or "default" not in spec:
            continue
        try:
            coerce_value(spec.get("type", "string"), spec["default"])
        except ValueError:
            errors.append(_error(f"/variables/{name}/default", "E_VARIABLE_TYPE",
                                 _("The default does not have the variable's type.")))
    known = set(declared) | set(SYSTEM_VARIABLES)
    body = {key: value for key, value in document.items() if key not in ("variables", "format")}
    for path, text in _strings(body):
        for name in variable_names(text):
            if name not in known:
                errors.append(_error(path, "E_VARIABLE_UNDECLARED",
                                     _("The variable “{name}” is neither declared nor built in.").format(name=name)))
                break

    premises = _dicts(document.get("betriebsstaetten"))
    _duplicates([(f"/betriebsstaetten/{i}/reference", b.get("reference")) for i, b in premises], errors,
                _("Another Betriebsstätte has this reference."))
    references = {b.get("reference") for _i, b in premises if isinstance(b.get("reference"), str)}
    outlets = _dicts(document.get("outlets"))
    _duplicates([(f"/outlets/{i}/number", o.get("number")) for i, o in outlets], errors,
                _("Another outlet has this number."))
    units = []
    for i, outlet in outlets:
        named = outlet.get("betriebsstaette")
        if isinstance(named, str) and named and not variable_names(named) and named not in references:
            errors.append(_error(f"/outlets/{i}/betriebsstaette", "E_UNKNOWN_REFERENCE",
                                 _("The template has no Betriebsstätte with the reference “{reference}”.").format(
                                     reference=named)))
        units += [(f"/outlets/{i}/signing_units/{u}", unit) for u, unit in _dicts(outlet.get("signing_units"))]
    units += [(f"/signing_units/{u}", unit) for u, unit in _dicts(document.get("signing_units"))]
    _duplicates([(f"{path}/reference", unit.get("reference")) for path, unit in units], errors,
                _("Another signing unit has this reference."))
    for path, unit in units:
        clients = _dicts(unit.get("clients"))
        _duplicates([(f"{path}/clients/{c}/client_id", client.get("client_id")) for c, client in clients], errors,
                    _("Another POS of this signing unit has this client id."))
        for c, client in clients:
            client_id = client.get("client_id")
            serial = isinstance(client_id, str) and bool(serial_markers(client_id))
            if "count" in client and not serial:
                errors.append(_error(f"{path}/clients/{c}/client_id", "E_COUNT_PATTERN",
                                     _("With a count the client id needs {n} (or {n:02}) to number the POS.")))
            elif serial and "count" not in client:
                errors.append(_error(f"{path}/clients/{c}/count", "E_COUNT_REQUIRED",
                                     _("A client id with {n} needs a count.")))
    return errors


def validate_template(document) -> list[dict]:
    """Schema and semantic errors of a template document (empty: valid)."""
    errors = validate_template_structure(document)
    if isinstance(document, dict):
        errors += [entry for entry in _semantic_errors(document) if entry not in errors]
    return errors


def _require_valid(document) -> None:
    errors = validate_template(document)
    if errors:
        raise ConfigurationError(400, "E_VALIDATION", _("The template is not valid."), errors)


def document_digest(document) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- permissions --------------------------------------------------------------------------------


def _user(actor):
    user = getattr(actor, "user", None)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _api_key(actor):
    return getattr(actor, "api_key", None)


def _active_roles(organization: Organization) -> set[str]:
    return set(OrganizationRole.unscoped.filter(organization=organization, status=RoleStatus.ACTIVE).values_list(
        "kind", flat=True))


def may_change(actor, template: RolloutTemplate) -> bool:
    """Members of the owner with ``configure`` (people and write API keys); never a dealer it is shared with."""
    organization_id = template.organization_id
    return actor is None or (organization_id in actor.member_roles and actor.can(organization_id, "configure"))


def _require_change(actor, template: RolloutTemplate) -> None:
    if not may_change(actor, template):
        raise ConfigurationError(403, "E_PERMISSION_DENIED", _("Only the owner of the template can change it."))


def _require_configure(actor, organization: Organization) -> None:
    if actor is not None and not (organization.pk in actor.member_roles and actor.can(organization.pk, "configure")):
        raise ConfigurationError(403, "E_PERMISSION_DENIED",
                                 _("You may not manage rollout templates of this organization."))


def _require_open(template: RolloutTemplate) -> None:
    if template.archived_at is not None:
        raise ConfigurationError(409, "E_TEMPLATE_ARCHIVED", _("The template is archived."))


def _clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ConfigurationError(400, "E_VALIDATION", _("Give the template a name."),
                                 [_error("/name", "E_REQUIRED", _("This field is required."))])
    if len(name) > NAME_MAX:
        raise ConfigurationError(400, "E_VALIDATION", _("The name is too long."),
                                 [_error("/name", "E_RANGE", _("At most {limit} characters.").format(limit=NAME_MAX))])
    return name


def _clean_note(note) -> str:
    note = " ".join(str(note or "").split())
    if len(note) > NOTE_MAX:
        raise ConfigurationError(400, "E_VALIDATION", _("The note is too long."),
                                 [_error("/note", "E_RANGE", _("At most {limit} characters.").format(limit=NOTE_MAX))])
    return note


def _audit(template: RolloutTemplate, **extra) -> dict:
    return {"template": str(template.public_id), "name": template.name, **extra}


# --- templates and versions ---------------------------------------------------------------------


def latest_version(template: RolloutTemplate) -> RolloutTemplateVersion | None:
    return RolloutTemplateVersion.unscoped.filter(template=template).order_by("-number").first()


def _store_version(actor, template: RolloutTemplate, document: dict, note: str, number: int) -> RolloutTemplateVersion:
    return RolloutTemplateVersion.unscoped.create(
        template=template, organization_id=template.organization_id, number=number, document=document,
        digest=document_digest(document), note=note, created_by=_user(actor), created_by_api_key=_api_key(actor))


def create_template(actor, organization: Organization, name: str, description: str, document: dict,
                    note: str = "") -> RolloutTemplate:
    """A new template of ``organization`` (active creator or dealer) with ``document`` as version 1."""
    if not _active_roles(organization) & {RoleKind.CREATOR, RoleKind.DEALER}:
        raise ConfigurationError(403, "E_ROLE_REQUIRED",
                                 _("Rollout templates need an active POS creator or dealer role."))
    _require_configure(actor, organization)
    name = _clean_name(name)
    note = _clean_note(note)
    _require_valid(document)
    with transaction.atomic():
        template = RolloutTemplate.unscoped.create(organization=organization, name=name,
                                                   description=str(description or "").strip(),
                                                   created_by=_user(actor))
        version = _store_version(actor, template, document, note, 1)
        log_action("tenants.rollout_template.created", actor, organization, template,
                   _audit(template, version=1, digest=version.digest, note=note))
    return template


def add_version(actor, template: RolloutTemplate, document: dict, note: str = "") -> RolloutTemplateVersion:
    """The next version of ``template``; refused when the document equals the latest one."""
    _require_change(actor, template)
    _require_open(template)
    note = _clean_note(note)
    _require_valid(document)
    digest = document_digest(document)
    with transaction.atomic():
        template = RolloutTemplate.unscoped.select_for_update().get(pk=template.pk)
        _require_open(template)
        latest = latest_version(template)
        if latest is not None and latest.digest == digest:
            raise ConfigurationError(409, "E_VERSION_UNCHANGED",
                                     _("The document is the same as version {number}.").format(number=latest.number))
        number = (latest.number if latest else 0) + 1
        version = _store_version(actor, template, document, note, number)
        log_action("tenants.rollout_template.versioned", actor, template.organization, template,
                   _audit(template, version=number, digest=digest, note=note,
                          changes=len(diff_documents(latest.document if latest else None, document))))
    return version


def update_template(actor, template: RolloutTemplate, *, name=None, description=None) -> RolloutTemplate:
    """Change name and/or description (``None``: unchanged)."""
    _require_change(actor, template)
    _require_open(template)
    changes = {}
    if name is not None:
        name = _clean_name(name)
        if name != template.name:
            changes["name"] = {"old": template.name, "new": name}
            template.name = name
    if description is not None:
        description = str(description).strip()
        if description != template.description:
            changes["description"] = {"old": template.description, "new": description}
            template.description = description
    if changes:
        with transaction.atomic():
            template.save(update_fields=list(changes))
            log_action("tenants.rollout_template.changed", actor, template.organization, template,
                       _audit(template, changes=changes))
    return template


def archive_template(actor, template: RolloutTemplate) -> RolloutTemplate:
    """Archive: no new versions or applications; versions and jobs stay readable. Archiving twice changes nothing."""
    _require_change(actor, template)
    if template.archived_at is not None:
        return template
    with transaction.atomic():
        template.archived_at = timezone.now()
        template.save(update_fields=["archived_at"])
        log_action("tenants.rollout_template.archived", actor, template.organization, template,
                   _audit(template, archived_at=template.archived_at.isoformat()))
    return template


def version_diff(template: RolloutTemplate, number: int, against: int | None = None) -> list[dict]:
    """Changes from version ``against`` (default: the previous one; none for version 1) to version ``number``."""
    versions = {v.number: v for v in RolloutTemplateVersion.unscoped.filter(
        template=template, number__in=[n for n in (number, against if against is not None else number - 1) if n])}
    if number not in versions:
        raise ConfigurationError(404, "E_NOT_FOUND", _("There is no such version."))
    if against is None:
        base = versions.get(number - 1)
    else:
        base = versions.get(against)
        if base is None:
            raise ConfigurationError(404, "E_NOT_FOUND", _("There is no version {number}.").format(number=against))
    return diff_documents(base.document if base else None, versions[number].document)


# --- sharing ------------------------------------------------------------------------------------


def owner_may_share(template: RolloutTemplate) -> bool:
    return OrganizationRole.unscoped.filter(organization_id=template.organization_id, kind=RoleKind.CREATOR).exclude(
        status=RoleStatus.TERMINATED).exists()


def partner_dealers(creator: Organization):
    """The dealers a creator works with: those it shares a POS system with (dealer role not terminated)."""
    dealer_ids = PosSystemDealer.unscoped.filter(organization=creator).values("dealer_id")
    return Organization.unscoped.filter(pk__in=dealer_ids, roles__kind=RoleKind.DEALER).exclude(
        roles__kind=RoleKind.DEALER, roles__status=RoleStatus.TERMINATED).exclude(pk=creator.pk).distinct().order_by(
        "name", "pk")


def _require_sharing(actor, template: RolloutTemplate) -> None:
    _require_change(actor, template)
    if not owner_may_share(template):
        raise ConfigurationError(403, "E_ROLE_REQUIRED", _("Only templates of a POS creator are shared with dealers."))


def share_template(actor, template: RolloutTemplate, dealer: Organization) -> RolloutTemplateShare:
    """Share with one of the creator's dealers (read and apply). Sharing again returns the existing share."""
    _require_sharing(actor, template)
    _require_open(template)
    if not partner_dealers(template.organization).filter(pk=dealer.pk).exists():
        raise ConfigurationError(409, "E_NOT_A_PARTNER",
                                 _("Templates are shared only with dealers you share a POS system with."))
    existing = RolloutTemplateShare.unscoped.filter(template=template, dealer=dealer).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            share = RolloutTemplateShare.unscoped.create(template=template, organization_id=template.organization_id,
                                                         dealer=dealer, created_by=_user(actor))
            log_action("tenants.rollout_template.shared", actor, template.organization, template,
                       _audit(template, dealer=str(dealer.public_id), dealer_name=dealer.name))
    except IntegrityError:  # shared at the same moment by someone else
        return RolloutTemplateShare.unscoped.get(template=template, dealer=dealer)
    return share


def unshare_template(actor, template: RolloutTemplate, dealer: Organization) -> bool:
    """Stop sharing; the dealer loses access with its next request. False when it was not shared."""
    _require_sharing(actor, template)
    with transaction.atomic():
        deleted, _rows = RolloutTemplateShare.unscoped.filter(template=template, dealer=dealer).delete()
        if deleted:
            log_action("tenants.rollout_template.unshared", actor, template.organization, template,
                       _audit(template, dealer=str(dealer.public_id), dealer_name=dealer.name))
    return bool(deleted)
