"""Shared pieces of dealer ↔ operator onboarding: errors, limits, role checks, input validation."""

import hashlib
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import register_action_labels
from tenants.models import (
    AccessRight,
    LegalForm,
    Organization,
    OrganizationRole,
    RoleKind,
    RoleStatus,
)
from tenants.services.contracts import role_contract_state
from tenants.services.grants import RIGHT_ORDER
from tenants.validators import normalize_vat_id, validate_german_postal_code, validate_vat_id

register_action_labels({
    "tenants.operator_invitation.created": gettext_lazy("Operator invited"),
    "tenants.operator_invitation.imported": gettext_lazy("Operator invitations imported (CSV)"),
    "tenants.operator_invitation.resent": gettext_lazy("Operator invitation sent again"),
    "tenants.operator_invitation.revoked": gettext_lazy("Operator invitation revoked"),
    "tenants.operator_invitation.registered": gettext_lazy("Operator registered from an invitation"),
    "tenants.operator_invitation.accepted": gettext_lazy("Operator invitation accepted"),
    "tenants.dealer_link.requested": gettext_lazy("Link to a dealer requested"),
    "tenants.dealer_link.accepted": gettext_lazy("Dealer link request accepted"),
    "tenants.dealer_link.declined": gettext_lazy("Dealer link request declined"),
    "tenants.dealer_link.activated": gettext_lazy("Dealer link active"),
    "tenants.dealer_link.ended": gettext_lazy("Dealer link ended"),
})

INVITATION_MAX_AGE_DAYS = getattr(settings, "OPERATOR_INVITATION_MAX_AGE_DAYS", settings.INVITATION_MAX_AGE_DAYS)
CSV_MAX_BYTES = getattr(settings, "OPERATOR_INVITATION_CSV_MAX_BYTES", 1024 * 1024)
CSV_MAX_ROWS = getattr(settings, "OPERATOR_INVITATION_CSV_MAX_ROWS", 2000)
DEFAULT_RIGHTS = ("read",)

CSV_REQUIRED_COLUMNS = (
    "company_name", "street", "postal_code", "city", "country", "contact_first_name", "contact_last_name",
    "contact_email",
)
CSV_OPTIONAL_COLUMNS = ("vat_id", "phone", "external_reference", "personal_message", "rights", "legal_form")
CSV_COLUMNS = CSV_REQUIRED_COLUMNS + CSV_OPTIONAL_COLUMNS

INVITATION_STATUSES = ("open", "accepted", "revoked", "expired")
# rows of the dealer's overview: invitations not accepted yet, and links
OVERVIEW_STATUSES = ("invited", "registered", "expired", "requested", "active", "ended")

_FIELD_LIMITS = {
    "company_name": 200, "street": 200, "postal_code": 10, "city": 100, "country": 2, "contact_first_name": 100,
    "contact_last_name": 100, "contact_email": 254, "vat_id": 14, "phone": 40, "external_reference": 100,
    "personal_message": 400, "legal_form": 20,
}
_REQUIRED_FIELDS = CSV_REQUIRED_COLUMNS
_TEXT_FIELDS = (*CSV_REQUIRED_COLUMNS, "vat_id", "phone", "external_reference", "personal_message", "legal_form")


class PartnerError(Exception):
    """A refused partner action: a stable ``code``, a translated ``message``, an HTTP-ish ``status``."""

    STATUS = {
        "E_VALIDATION": 400,
        "E_CSV_INVALID": 400,
        "E_CSV_TOO_LARGE": 413,
        "E_UNKNOWN_RIGHT": 400,
        "E_RIGHT_NOT_REQUESTED": 400,
        "E_SELF_LINK": 400,
        "E_ROLE_INACTIVE": 403,
        "E_INVITATION_OTHER_EMAIL": 403,
        "E_INVITATION_INVALID": 404,
        "E_DEALER_NOT_FOUND": 404,
        "E_ALREADY_INVITED": 409,
        "E_INVITATION_CLOSED": 409,
        "E_AGREEMENT_REQUIRED": 409,
        "E_NOT_LINKED": 409,
        "E_ALREADY_LINKED": 409,
        "E_DEALER_AMBIGUOUS": 409,
        "E_LINK_REQUEST_CLOSED": 409,
        "E_EMAIL_TAKEN": 409,
    }

    def __init__(self, code: str, message: str, *, status: int | None = None, details=None):
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.status = status or self.STATUS.get(code, 400)
        self.details = details


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _token_digest(token)


def _user(actor):
    user = getattr(actor, "user", actor)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _sorted_rights(rights) -> list[str]:
    return sorted(set(rights), key=RIGHT_ORDER.index)


def has_active_role(organization: Organization, kind: str) -> bool:
    return OrganizationRole.unscoped.filter(organization=organization, kind=kind, status=RoleStatus.ACTIVE).exists()


def has_role(organization: Organization, kind: str) -> bool:
    return OrganizationRole.unscoped.filter(organization=organization, kind=kind).exists()


def require_dealer(organization: Organization, *, active: bool = True) -> None:
    """Dealer features need the dealer role (active for anything that changes data)."""
    ok = has_active_role(organization, RoleKind.DEALER) if active else has_role(organization, RoleKind.DEALER)
    if not ok:
        raise PartnerError(
            "E_ROLE_INACTIVE",
            _("This needs an active dealer role. Sign the dealer cooperation contract first."),
        )


def agreement_signed(organization: Organization) -> bool:
    """Whether the operator's usage agreement is in force.

    The operator role is active exactly while a valid signature of the usage agreement exists
    (tenants.services.contracts keeps it in sync; staff may activate roles whose contracts were
    signed outside the portal). Without an active role the contract state decides.
    """
    if has_active_role(organization, RoleKind.OPERATOR):
        return True
    state = role_contract_state(organization, RoleKind.OPERATOR)
    if state["version"] is None:  # nothing published to sign (an installation without contract texts)
        return True
    return state["signed"] is not None and not state["needs_signature"]


def contract_sign_url(organization: Organization, next_url: str) -> str:
    """The usage-agreement signing page of ``organization``, coming back to ``next_url``."""
    from urllib.parse import urlencode

    try:
        base = reverse("contract_sign", args=[organization.public_id, RoleKind.OPERATOR])
    except NoReverseMatch:  # the contracts pages are not installed (yet): their documented path
        base = f"/o/{organization.public_id}/contracts/operator/sign/"
    return f"{base}?{urlencode({'next': next_url})}"


def invitation_link(token: str) -> str:
    return settings.SITE_URL + reverse("operator_invitation", args=[token])


# --- validation ------------------------------------------------------------------------------


def parse_rights(value, *, default=DEFAULT_RIGHTS) -> list[str]:
    """``"read configure"``, ``"read,configure"`` or a list -> the rights; empty -> ``default``."""
    if value is None or value == "" or value == []:
        return _sorted_rights(default)
    items = re.split(r"[\s,;|]+", value.strip()) if isinstance(value, str) else list(value)
    items = [str(item).strip().lower() for item in items if str(item).strip()]
    unknown = sorted(set(items) - set(AccessRight.values))
    if unknown:
        raise ValidationError(
            _("Unknown right(s): {rights}. Use {allowed}.").format(
                rights=", ".join(unknown), allowed=", ".join(AccessRight.values)
            ),
            code="unknown_right",
        )
    return _sorted_rights(items) if items else _sorted_rights(default)


def clean_invitation_data(raw: dict, *, default_rights=DEFAULT_RIGHTS) -> dict:
    """Validate the data of one invitation (form, API or CSV row) the same way everywhere.

    Returns the cleaned fields of ``OperatorInvitation`` plus ``requested_rights``; raises
    ``PartnerError("E_VALIDATION", details={field: [messages]})``.
    """
    errors: dict[str, list[str]] = {}
    data: dict = {}

    def add(name, message):
        errors.setdefault(name, []).append(str(message))

    for name in _TEXT_FIELDS:
        value = raw.get(name)
        value = "" if value is None else " ".join(str(value).split()) if name != "personal_message" else str(value)
        value = value.strip()
        if name in _REQUIRED_FIELDS and not value:
            add(name, _("This field is required."))
        elif len(value) > _FIELD_LIMITS[name]:
            add(name, _("At most {limit} characters.").format(limit=_FIELD_LIMITS[name]))
        data[name] = value
    if data["country"]:
        data["country"] = data["country"].upper()
        if not re.fullmatch(r"[A-Z]{2}", data["country"]) and "country" not in errors:
            add("country", _("Use the two-letter ISO country code (e.g. DE)."))
    if data["postal_code"] and "country" not in errors and "postal_code" not in errors:
        try:
            validate_german_postal_code(data["country"] or "DE", data["postal_code"])
        except ValidationError as exc:
            add("postal_code", exc.messages[0])
    if data["contact_email"] and "contact_email" not in errors:
        data["contact_email"] = data["contact_email"].lower()
        try:
            validate_email(data["contact_email"])
        except ValidationError:
            add("contact_email", _("Enter a valid e-mail address."))
    if data["vat_id"]:
        data["vat_id"] = normalize_vat_id(data["vat_id"])
        try:
            validate_vat_id(data["vat_id"])
        except ValidationError as exc:
            add("vat_id", exc.messages[0])
    if data["legal_form"]:
        data["legal_form"] = data["legal_form"].lower()
        if data["legal_form"] not in LegalForm.values:
            add("legal_form", _("Unknown legal form."))
    try:
        data["requested_rights"] = parse_rights(raw.get("rights", raw.get("requested_rights")), default=default_rights)
    except ValidationError as exc:
        add("rights", exc.messages[0])
    if errors:
        raise PartnerError("E_VALIDATION", _("Please correct the marked fields."), details=errors)
    return data
