"""Dealer ↔ operator onboarding: operator invitations (single and CSV), their acceptance, link
requests, the operator's access-rights page and the dealer's operator overview.

The flow (domain reference §5–§7):

1. A dealer (active dealer role) invites an operator company by e-mail, asking for access rights.
   The link ``/invite/operator/<token>/`` carries a random token stored only as its SHA-256; it
   expires and works for one company only.
2. The invitee registers (company and person prefilled from the invitation; the link proves the
   e-mail address) or logs in; the invitation is then *claimed* by the operator organization
   (``invitation.operator``), which counts as "registered" in the dealer's overview.
3. The operator signs the usage agreement (tenants.services.contracts) and accepts the link,
   granting each requested right individually (fewer are fine). Only then is the link active.

Operators that exist already can ask a dealer to be linked (a ``requested`` DealerLink); the dealer
accepts or declines. Rights are ``AccessGrant`` rows (tenants.services.grants); ending a link
revokes them all. Every step writes audit entries in both organizations.

Cross-party lookups use the unscoped managers with explicit party filters: callers (views, API,
tasks) resolve the acting organization through the tenant scope first.
"""

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, F, OuterRef, Q, Value
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import log_action, register_action_labels
from portal.services.mail import queue_mail
from tenants.models import (
    AccessGrant,
    AccessRight,
    Betriebsstaette,
    DealerLink,
    InvitationImport,
    LegalForm,
    LinkStatus,
    MembershipRole,
    OperatorInvitation,
    Organization,
    OrganizationRole,
    RoleKind,
    RoleStatus,
)
from tenants.services.contracts import role_contract_state
from tenants.services.grants import RIGHT_ORDER, active_rights, grant_right, revoke_all_rights, set_rights
from tenants.services.organizations import create_organization
from tenants.validators import normalize_vat_id, validate_german_postal_code, validate_vat_id

__all__ = [
    "CSV_COLUMNS",
    "CSV_REQUIRED_COLUMNS",
    "INVITATION_STATUSES",
    "OVERVIEW_STATUSES",
    "PartnerError",
    "accept_link_request",
    "accept_operator_invitation",
    "agreement_signed",
    "claim_invitation",
    "claimed_invitation",
    "clean_invitation_data",
    "contract_sign_url",
    "dealer_relation",
    "dealer_relations",
    "decline_link_request",
    "end_link",
    "find_invitation",
    "import_invitations_csv",
    "invitation_for_token",
    "invitation_history",
    "invite_operator",
    "invitation_link",
    "operator_candidates",
    "operator_overview",
    "parse_invitation_csv",
    "pending_invitations_for_operator",
    "register_operator_from_invitation",
    "request_dealer_link",
    "require_dealer",
    "resend_invitation",
    "revoke_operator_invitation",
    "set_dealer_right",
    "set_dealer_rights",
]

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


# --- invitations ------------------------------------------------------------------------------


def _existing_invitation(dealer, email):
    return (
        OperatorInvitation.unscoped.filter(organization=dealer, contact_email__iexact=email, revoked_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


def _send_invitation(invitation: OperatorInvitation, token: str, actor) -> None:
    user = _user(actor)
    queue_mail(
        invitation.contact_email,
        "tenants/partners/mail/invitation_subject.txt",
        "tenants/partners/mail/invitation.txt",
        {
            "invitation": invitation,
            "dealer": invitation.organization,
            "inviter": user,
            "link": invitation_link(token),
            "expires_at": invitation.expires_at,
            "rights": [AccessRight(r).label for r in invitation.requested_rights],  # lazy: the mail language
        },
        language=getattr(user, "language", "de") or "de",
    )


def _invitation_data(invitation) -> dict:
    return {
        "company_name": invitation.company_name,
        "email": invitation.contact_email,
        "rights": list(invitation.requested_rights),
        "reference": invitation.external_reference,
    }


@transaction.atomic
def invite_operator(*, actor, dealer: Organization, data: dict, default_rights=DEFAULT_RIGHTS,
                    import_batch: InvitationImport | None = None) -> tuple[OperatorInvitation, str]:
    """Invite one operator company; returns the invitation and the link token (sent by e-mail)."""
    require_dealer(dealer)
    cleaned = clean_invitation_data(data, default_rights=default_rights)
    existing = _existing_invitation(dealer, cleaned["contact_email"])
    if existing is not None:
        raise PartnerError(
            "E_ALREADY_INVITED",
            _("{email} is invited already (status: {status}). Send the invitation again instead.").format(
                email=cleaned["contact_email"], status=existing.status
            ) if existing.status != "accepted" else _("{email} has accepted an invitation already.").format(
                email=cleaned["contact_email"]
            ),
            details={"invitation": str(existing.public_id), "status": existing.status},
        )
    token, digest = _new_token()
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = OperatorInvitation.unscoped.create(
                organization=dealer,
                token_digest=digest,
                expires_at=now + timedelta(days=INVITATION_MAX_AGE_DAYS),
                created_by=_user(actor),
                sent_count=1,
                last_sent_at=now,
                import_batch=import_batch,
                **cleaned,
            )
    except IntegrityError:  # a concurrent invitation of the same address
        raise PartnerError("E_ALREADY_INVITED", _("{email} is invited already.").format(
            email=cleaned["contact_email"])) from None
    _send_invitation(invitation, token, actor)
    log_action("tenants.operator_invitation.created", actor, dealer, invitation,
               {**_invitation_data(invitation), "import": str(import_batch.public_id) if import_batch else None})
    return invitation, token


def find_invitation(token: str) -> OperatorInvitation | None:
    if not token:
        return None
    return (
        OperatorInvitation.unscoped.select_related("organization", "operator")
        .filter(token_digest=_token_digest(token))
        .first()
    )


def invitation_for_token(token: str) -> OperatorInvitation:
    """The open invitation of ``token``: unknown -> 404, expired/revoked/used -> 410 (E_INVITATION_INVALID)."""
    invitation = find_invitation(token)
    if invitation is None:
        raise PartnerError("E_INVITATION_INVALID", _("This invitation link is not valid."), status=404)
    if invitation.status != "open":
        messages = {
            "expired": _("This invitation has expired. Ask your dealer to send it again."),
            "revoked": _("This invitation was withdrawn by the dealer."),
            "accepted": _("This invitation has been used already."),
        }
        raise PartnerError("E_INVITATION_INVALID", messages[invitation.status], status=410,
                           details={"status": invitation.status})
    return invitation


def _lock_open(invitation: OperatorInvitation) -> OperatorInvitation:
    invitation = OperatorInvitation.unscoped.select_for_update().select_related("organization").get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise PartnerError(
            "E_INVITATION_CLOSED",
            _("This invitation was accepted or revoked already."),
            details={"status": invitation.status},
        )
    return invitation


@transaction.atomic
def resend_invitation(*, actor, invitation: OperatorInvitation) -> str:
    """Send the invitation again with a new link: the old link stops working, the expiry starts anew."""
    require_dealer(invitation.organization)
    invitation = _lock_open(invitation)
    token, digest = _new_token()
    now = timezone.now()
    invitation.token_digest = digest
    invitation.expires_at = now + timedelta(days=INVITATION_MAX_AGE_DAYS)
    invitation.sent_count = F("sent_count") + 1
    invitation.last_sent_at = now
    invitation.save(update_fields=["token_digest", "expires_at", "sent_count", "last_sent_at"])
    invitation.refresh_from_db()
    _send_invitation(invitation, token, actor)
    log_action("tenants.operator_invitation.resent", actor, invitation.organization, invitation,
               {**_invitation_data(invitation), "sent_count": invitation.sent_count})
    return token


@transaction.atomic
def revoke_operator_invitation(*, actor, invitation: OperatorInvitation) -> OperatorInvitation:
    invitation = _lock_open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    log_action("tenants.operator_invitation.revoked", actor, invitation.organization, invitation,
               _invitation_data(invitation))
    return invitation


def _status_filter(status: str) -> Q:
    now = timezone.now()
    return {
        "open": Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now),
        "accepted": Q(accepted_at__isnull=False),
        "revoked": Q(accepted_at__isnull=True, revoked_at__isnull=False),
        "expired": Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now),
    }[status]


def invitation_history(dealer: Organization, *, status: str = "", search: str = ""):
    """All invitations of ``dealer``, newest first, optionally of one status (open/accepted/revoked/expired)."""
    queryset = OperatorInvitation.unscoped.filter(organization=dealer).select_related("operator", "import_batch")
    if status in INVITATION_STATUSES:
        queryset = queryset.filter(_status_filter(status))
    if search:
        queryset = queryset.filter(
            Q(company_name__icontains=search) | Q(contact_email__icontains=search)
            | Q(external_reference__icontains=search)
        )
    return queryset.order_by("-created_at", "-pk")


# --- CSV import -------------------------------------------------------------------------------


def _normalize_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def parse_invitation_csv(content: bytes) -> list[tuple[int, dict]]:
    """The data rows of an invitation CSV as ``(row number, {column: value})``.

    UTF-8 (a BOM is fine), ``;`` or ``,`` as delimiter (taken from the header line), one header row
    with at least ``CSV_REQUIRED_COLUMNS``. Row numbers count the header as row 1, like a
    spreadsheet. Empty lines are skipped. Raises ``E_CSV_INVALID`` / ``E_CSV_TOO_LARGE``.
    """
    if len(content) > CSV_MAX_BYTES:
        raise PartnerError("E_CSV_TOO_LARGE", _("The file is larger than {size} KB. Split it into smaller files.")
                           .format(size=CSV_MAX_BYTES // 1024))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PartnerError("E_CSV_INVALID", _("The file is not UTF-8 encoded. Save it as “CSV UTF-8”.")) from None
    if "\x00" in text:
        raise PartnerError("E_CSV_INVALID", _("The file is not a CSV text file."))
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    if not first_line.strip():
        raise PartnerError("E_CSV_INVALID", _("The file is empty."))
    delimiter = ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, dict]] = []
    header = None
    line = 0
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [_normalize_header(cell) for cell in record]
                duplicates = sorted({h for h in header if h and header.count(h) > 1})
                if duplicates:
                    raise PartnerError("E_CSV_INVALID", _("Columns appear twice: {columns}.").format(
                        columns=", ".join(duplicates)), details={"duplicate_columns": duplicates})
                missing = [c for c in CSV_REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise PartnerError(
                        "E_CSV_INVALID",
                        _("The header row lacks the columns: {columns}.").format(columns=", ".join(missing)),
                        details={"missing_columns": missing, "required_columns": list(CSV_REQUIRED_COLUMNS),
                                 "optional_columns": list(CSV_OPTIONAL_COLUMNS)},
                    )
                continue
            if len(rows) >= CSV_MAX_ROWS:
                raise PartnerError("E_CSV_TOO_LARGE", _("The file has more than {rows} rows. Split it into "
                                                        "smaller files.").format(rows=CSV_MAX_ROWS))
            values = {name: (record[i] if i < len(record) else "") for i, name in enumerate(header) if name}
            if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
                values["__too_many__"] = True
            rows.append((start, values))
    except csv.Error as exc:
        raise PartnerError("E_CSV_INVALID", _("The file cannot be read as CSV near row {row}: {error}").format(
            row=line + 1, error=exc)) from None
    if header is None:
        raise PartnerError("E_CSV_INVALID", _("The file is empty."))
    return rows


@transaction.atomic
def import_invitations_csv(*, actor, dealer: Organization, content: bytes, filename: str,
                           default_rights=DEFAULT_RIGHTS) -> InvitationImport:
    """Import invitations from a CSV file with a per-row report.

    Each valid row becomes one complete invitation (with its e-mail and audit entry); an invalid row
    writes nothing and is reported with its field errors; a row whose contact e-mail already has an
    open, expired or accepted invitation of this dealer (or appears twice in the file) is reported
    as ``already_invited`` — so importing the same file again creates no duplicates.
    """
    require_dealer(dealer)
    rows = parse_invitation_csv(content)
    batch = InvitationImport.unscoped.create(
        organization=dealer, filename=(filename or "upload.csv")[:255],
        sha256=hashlib.sha256(content).hexdigest(), total_rows=len(rows), created_by=_user(actor),
    )
    known = {
        email.lower()
        for email in OperatorInvitation.unscoped.filter(organization=dealer, revoked_at__isnull=True).values_list(
            "contact_email", flat=True
        )
    }
    report = []
    counts = {"imported": 0, "already_invited": 0, "failed": 0}
    for number, values in rows:
        entry = {"row": number, "email": values.get("contact_email", "").strip().lower(),
                 "company_name": values.get("company_name", "").strip()}
        if values.pop("__too_many__", False):
            entry.update(status="failed", errors={"row": [_("The row has more values than the header.")]})
        else:
            try:
                cleaned = clean_invitation_data(values, default_rights=default_rights)
            except PartnerError as exc:
                entry.update(status="failed", errors=exc.details)
            else:
                email = cleaned["contact_email"]
                if email in known:
                    entry.update(status="already_invited", message=_("This e-mail address is invited already."))
                else:
                    try:
                        with transaction.atomic():
                            invitation, _token = invite_operator(actor=actor, dealer=dealer, data=values,
                                                                 default_rights=default_rights, import_batch=batch)
                    except PartnerError as exc:
                        if exc.code == "E_ALREADY_INVITED":
                            entry.update(status="already_invited", message=exc.message)
                        else:
                            entry.update(status="failed", errors=exc.details or {"row": [exc.message]})
                    else:
                        entry.update(status="imported", invitation=str(invitation.public_id))
                    known.add(email)
        counts[entry["status"]] += 1
        report.append(entry)
    batch.report = report
    batch.imported_rows = counts["imported"]
    batch.skipped_rows = counts["already_invited"]
    batch.failed_rows = counts["failed"]
    batch.save(update_fields=["report", "imported_rows", "skipped_rows", "failed_rows"])
    log_action("tenants.operator_invitation.imported", actor, dealer, batch, {
        "filename": batch.filename, "sha256": batch.sha256, "rows": batch.total_rows,
        "imported": batch.imported_rows, "already_invited": batch.skipped_rows, "failed": batch.failed_rows,
    })
    return batch


# --- acceptance (operator side) ---------------------------------------------------------------


def _check_email(invitation, user) -> None:
    if user.email.lower() != invitation.contact_email.lower():
        raise PartnerError(
            "E_INVITATION_OTHER_EMAIL",
            _("This invitation was sent to {email}. Log in with that address to accept it.").format(
                email=invitation.contact_email),
        )


def _confirm_email(user, when) -> None:
    if user.email_confirmed_at is None:  # the invitation link proved the address
        type(user).objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(email_confirmed_at=when)
        user.email_confirmed_at = when


def operator_candidates(user, invitation: OperatorInvitation) -> list[Organization]:
    """The user's organizations that may accept the invitation (owner/admin, not the dealer itself)."""
    return list(
        Organization.unscoped.filter(
            memberships__user=user, memberships__role__in=[MembershipRole.OWNER, MembershipRole.ADMIN]
        ).exclude(pk=invitation.organization_id).order_by("name", "pk")
    )


def _claim(invitation, operator, user) -> OperatorInvitation:
    invitation = OperatorInvitation.unscoped.select_for_update().get(pk=invitation.pk)
    if invitation.status != "open":
        raise PartnerError("E_INVITATION_INVALID", _("This invitation is no longer valid."), status=410)
    if invitation.operator_id and invitation.operator_id != operator.pk:
        raise PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."), status=410)
    if operator.pk == invitation.organization_id:
        raise PartnerError("E_SELF_LINK", _("A company cannot invite itself."))
    OrganizationRole.unscoped.get_or_create(organization=operator, kind=RoleKind.OPERATOR)
    _confirm_email(user, timezone.now())
    if invitation.operator_id is None:
        invitation.operator = operator
        invitation.save(update_fields=["operator"])
        data = {**_invitation_data(invitation), "operator": str(operator.public_id), "operator_name": operator.name}
        log_action("tenants.operator_invitation.registered", user, invitation.organization, invitation, data,
                   acting_organization=operator)
        log_action("tenants.operator_invitation.registered", user, operator, invitation, data,
                   acting_organization=invitation.organization)
    return invitation


@transaction.atomic
def register_operator_from_invitation(*, token: str, password: str, full_name: str, language: str,
                                      organization: dict):
    """A new person and company from the invitation: the e-mail counts as confirmed (the link proved
    it); the company gets a pending operator role; the invitation is claimed by it."""
    invitation = invitation_for_token(token)
    if invitation.operator_id is not None:
        raise PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."), status=410)
    User = get_user_model()
    if User.objects.filter(email__iexact=invitation.contact_email).exists():
        raise PartnerError("E_EMAIL_TAKEN", _("An account with this e-mail address exists already. Please log in."))
    user = User.objects.create_user(email=invitation.contact_email, password=password, full_name=full_name,
                                    language=language if language in ("de", "en") else "de")
    user.email_confirmed_at = timezone.now()
    user.save(update_fields=["email_confirmed_at"])
    operator = create_organization(owner=user, data=organization, roles=[RoleKind.OPERATOR])
    log_action("tenants.user.email_confirmed", user, operator, user,
               {"email": user.email, "via": "operator_invitation"})
    invitation = _claim(invitation, operator, user)
    return user, operator, invitation


@transaction.atomic
def claim_invitation(*, token: str, user, operator: Organization | None = None,
                     organization: dict | None = None) -> OperatorInvitation:
    """An existing user takes up the invitation for one of its companies (owner/admin) or a new one."""
    invitation = invitation_for_token(token)
    _check_email(invitation, user)
    if operator is None:
        if organization is None:
            raise ValueError("an operator organization or the data of a new one is needed")
        operator = create_organization(owner=user, data=organization, roles=[RoleKind.OPERATOR])
    elif operator.pk not in {o.pk for o in operator_candidates(user, invitation)}:
        raise PartnerError("E_VALIDATION", _("You cannot accept invitations for this company."),
                           details={"organization": [_("Choose one of your companies.")]})
    return _claim(invitation, operator, user)


def pending_invitations_for_operator(operator: Organization):
    """Invitations claimed by ``operator`` and not accepted yet (still open)."""
    return OperatorInvitation.unscoped.filter(operator=operator).filter(_status_filter("open")).select_related(
        "organization"
    ).order_by("-created_at", "-pk")


def claimed_invitation(operator: Organization, invitation_id) -> OperatorInvitation | None:
    """An invitation taken up by ``operator`` (any status), by its public id."""
    try:
        return OperatorInvitation.unscoped.select_related("organization").filter(
            operator=operator, public_id=invitation_id).first()
    except ValidationError:
        return None


def _link_data(link: DealerLink, **extra) -> dict:
    return {
        "operator": str(link.organization.public_id), "operator_name": link.organization.name,
        "dealer": str(link.dealer.public_id), "dealer_name": link.dealer.name, **extra,
    }


def _lock_operator(operator: Organization) -> None:
    """Serialize link and rights changes of one operator (row lock until the transaction ends)."""
    Organization.unscoped.select_for_update().filter(pk=operator.pk).first()


def _current_link(operator, dealer, *, lock=False):
    queryset = DealerLink.unscoped.filter(organization=operator, dealer=dealer).exclude(status=LinkStatus.ENDED)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.select_related("organization", "dealer").first()


@transaction.atomic
def accept_operator_invitation(*, actor, invitation: OperatorInvitation, operator: Organization,
                               rights) -> DealerLink:
    """The operator accepts: the link becomes active and each chosen right (a subset of the requested
    ones) is granted. Needs the signed usage agreement."""
    invitation = OperatorInvitation.unscoped.select_for_update().select_related("organization").get(pk=invitation.pk)
    if invitation.status != "open":
        raise PartnerError("E_INVITATION_INVALID", _("This invitation is no longer valid."), status=410,
                           details={"status": invitation.status})
    if invitation.operator_id not in (None, operator.pk):
        raise PartnerError("E_INVITATION_INVALID", _("This invitation has been used already."), status=410)
    dealer = invitation.organization
    if operator.pk == dealer.pk:
        raise PartnerError("E_SELF_LINK", _("A company cannot invite itself."))
    require_dealer(dealer)
    if not agreement_signed(operator):
        raise PartnerError("E_AGREEMENT_REQUIRED", _("Sign the usage agreement before you accept the link."))
    chosen = set(rights)
    unknown = chosen - set(AccessRight.values)
    if unknown:
        raise PartnerError("E_UNKNOWN_RIGHT", _("Unknown right(s): {rights}.").format(
            rights=", ".join(sorted(unknown))))
    extra = chosen - set(invitation.requested_rights)
    if extra:
        raise PartnerError("E_RIGHT_NOT_REQUESTED", _("The dealer did not ask for: {rights}.").format(
            rights=", ".join(_sorted_rights(extra))))
    now = timezone.now()
    _lock_operator(operator)
    link = _current_link(operator, dealer, lock=True)
    if link is None:
        link = DealerLink.unscoped.create(organization=operator, dealer=dealer, status=LinkStatus.ACTIVE,
                                          invitation=invitation, activated_at=now)
    else:
        link.status, link.invitation = LinkStatus.ACTIVE, invitation
        link.activated_at = link.activated_at or now
        link.save(update_fields=["status", "invitation", "activated_at"])
    invitation.accepted_at = now
    invitation.operator = operator
    invitation.save(update_fields=["accepted_at", "operator"])
    granted = _sorted_rights(chosen)
    data = {**_invitation_data(invitation), "operator": str(operator.public_id), "operator_name": operator.name,
            "granted_rights": granted}
    log_action("tenants.operator_invitation.accepted", actor, dealer, invitation, data, acting_organization=operator)
    log_action("tenants.operator_invitation.accepted", actor, operator, invitation, data, acting_organization=dealer)
    link_data = _link_data(link, via="invitation")
    log_action("tenants.dealer_link.activated", actor, operator, link, link_data, acting_organization=dealer)
    log_action("tenants.dealer_link.activated", actor, dealer, link, link_data, acting_organization=operator)
    for right in granted:
        grant_right(actor=actor, operator=operator, dealer=dealer, right=right)
    return link


# --- link requests ----------------------------------------------------------------------------


def find_dealer(*, dealer_id=None, email: str = "") -> Organization:
    """A dealer (active dealer role) by its public id or the exact e-mail address of one of its members."""
    dealers = Organization.unscoped.filter(roles__kind=RoleKind.DEALER, roles__status=RoleStatus.ACTIVE)
    if dealer_id:
        try:
            found = list(dealers.filter(public_id=dealer_id))
        except ValidationError:
            found = []
    elif email:
        found = list(dealers.filter(memberships__user__email__iexact=email.strip()).distinct().order_by("name"))
    else:
        raise PartnerError("E_VALIDATION", _("Give the dealer's id or the e-mail address of someone working there."),
                           details={"dealer_id": [_("This field is required.")]})
    if not found:
        raise PartnerError("E_DEALER_NOT_FOUND", _("No dealer was found for this id or e-mail address."))
    if len(found) > 1:
        raise PartnerError("E_DEALER_AMBIGUOUS", _("This person works for several dealers. Use the dealer's id."))
    return found[0]


@transaction.atomic
def request_dealer_link(*, actor, operator: Organization, dealer_id=None, email: str = "") -> DealerLink:
    """An operator asks a dealer to be linked; the dealer accepts or declines."""
    dealer = find_dealer(dealer_id=dealer_id, email=email)
    if dealer.pk == operator.pk:
        raise PartnerError("E_SELF_LINK", _("A company cannot link to itself."))
    if not agreement_signed(operator):
        raise PartnerError("E_AGREEMENT_REQUIRED", _("Sign the usage agreement before you link to a dealer."))
    _lock_operator(operator)
    existing = _current_link(operator, dealer)
    if existing is not None:
        raise PartnerError(
            "E_ALREADY_LINKED",
            _("You are linked to this dealer already.") if existing.status == LinkStatus.ACTIVE
            else _("You have asked this dealer already."),
            details={"status": existing.status},
        )
    link = DealerLink.unscoped.create(organization=operator, dealer=dealer, status=LinkStatus.REQUESTED,
                                      requested_at=timezone.now())
    user = _user(actor)
    data = _link_data(link, requested_by=getattr(user, "email", None))
    log_action("tenants.dealer_link.requested", actor, operator, link, data, acting_organization=dealer)
    log_action("tenants.dealer_link.requested", actor, dealer, link, data, acting_organization=operator)
    return link


def _lock_request(dealer, link) -> DealerLink:
    link = DealerLink.unscoped.select_for_update().select_related("organization", "dealer").get(pk=link.pk)
    if link.dealer_id != dealer.pk or link.status != LinkStatus.REQUESTED:
        raise PartnerError("E_LINK_REQUEST_CLOSED", _("This request was answered already."),
                           details={"status": link.status})
    return link


@transaction.atomic
def accept_link_request(*, actor, dealer: Organization, link: DealerLink) -> DealerLink:
    require_dealer(dealer)
    link = _lock_request(dealer, link)
    if not agreement_signed(link.organization):
        raise PartnerError("E_AGREEMENT_REQUIRED", _("The operator has not signed the usage agreement."))
    link.status = LinkStatus.ACTIVE
    link.activated_at = timezone.now()
    link.save(update_fields=["status", "activated_at"])
    data = _link_data(link)
    for org, other in ((dealer, link.organization), (link.organization, dealer)):
        log_action("tenants.dealer_link.accepted", actor, org, link, data, acting_organization=other)
    return link


@transaction.atomic
def decline_link_request(*, actor, dealer: Organization, link: DealerLink) -> DealerLink:
    link = _lock_request(dealer, link)
    link.status = LinkStatus.ENDED
    link.ended_at = timezone.now()
    link.save(update_fields=["status", "ended_at"])
    data = _link_data(link)
    for org, other in ((dealer, link.organization), (link.organization, dealer)):
        log_action("tenants.dealer_link.declined", actor, org, link, data, acting_organization=other)
    return link


@transaction.atomic
def end_link(*, actor, operator: Organization, dealer: Organization) -> list[str]:
    """End the relation: the link is ended and every right of the dealer revoked (each audited).

    Also cleans up rights granted without a link. Returns the revoked rights."""
    _lock_operator(operator)
    link = _current_link(operator, dealer, lock=True)
    revoked = revoke_all_rights(actor=actor, operator=operator, dealer=dealer)
    if link is None and not revoked:
        raise PartnerError("E_NOT_LINKED", _("There is no link to this dealer."))
    if link is not None:
        link.status = LinkStatus.ENDED
        link.ended_at = timezone.now()
        link.save(update_fields=["status", "ended_at"])
    data = {"operator": str(operator.public_id), "operator_name": operator.name, "dealer": str(dealer.public_id),
            "dealer_name": dealer.name, "revoked_rights": revoked}
    log_action("tenants.dealer_link.ended", actor, operator, link, data, acting_organization=dealer)
    log_action("tenants.dealer_link.ended", actor, dealer, link, data, acting_organization=operator)
    return revoked


# --- the operator's page: dealers and rights -------------------------------------------------


@dataclass
class DealerRelation:
    dealer: Organization
    link: DealerLink | None
    rights: list[str]

    @property
    def status(self) -> str:
        return self.link.status if self.link is not None else "unlinked"

    @property
    def can_grant(self) -> bool:
        return self.link is not None and self.link.status == LinkStatus.ACTIVE


def dealer_relations(operator: Organization) -> list[DealerRelation]:
    """Every dealer that is linked to ``operator``, asked for a link, or holds rights on it."""
    links = {
        link.dealer_id: link
        for link in DealerLink.unscoped.filter(organization=operator).exclude(status=LinkStatus.ENDED)
        .select_related("dealer", "invitation")
    }
    rights: dict[int, list[str]] = {}
    for dealer_id, right in AccessGrant.unscoped.filter(organization=operator, revoked_at__isnull=True).values_list(
        "dealer_id", "right"
    ):
        rights.setdefault(dealer_id, []).append(right)
    dealers = {d.pk: d for d in Organization.unscoped.filter(pk__in=set(links) | set(rights))}
    relations = [
        DealerRelation(dealer=dealers[pk], link=links.get(pk), rights=_sorted_rights(rights.get(pk, [])))
        for pk in dealers
    ]
    return sorted(relations, key=lambda r: (r.dealer.name.lower(), r.dealer.pk))


def dealer_relation(operator: Organization, dealer_public_id) -> DealerRelation:
    try:
        dealer = Organization.unscoped.get(public_id=dealer_public_id)
    except (Organization.DoesNotExist, ValidationError):
        raise PartnerError("E_NOT_LINKED", _("There is no link to this dealer."), status=404) from None
    link = _current_link(operator, dealer)
    rights = _sorted_rights(active_rights(operator, dealer))
    if link is None and not rights:
        raise PartnerError("E_NOT_LINKED", _("There is no link to this dealer."), status=404)
    return DealerRelation(dealer=dealer, link=link, rights=rights)


def _check_grantable(operator, dealer, rights) -> None:
    unknown = set(rights) - set(AccessRight.values)
    if unknown:
        raise PartnerError("E_UNKNOWN_RIGHT", _("Unknown right(s): {rights}.").format(
            rights=", ".join(sorted(unknown))), details={"rights": sorted(unknown)})
    new = set(rights) - active_rights(operator, dealer)
    if new:
        link = _current_link(operator, dealer)
        if link is None or link.status != LinkStatus.ACTIVE:
            raise PartnerError("E_NOT_LINKED", _("Rights can be granted only to a dealer with an active link."))


@transaction.atomic
def set_dealer_right(*, actor, operator: Organization, dealer: Organization, right: str, granted: bool) -> list[str]:
    """Grant or revoke one right (effective with the dealer's next request); returns the rights now held."""
    if right not in AccessRight.values:
        raise PartnerError("E_UNKNOWN_RIGHT", _("Unknown right(s): {rights}.").format(rights=right))
    current = active_rights(operator, dealer)
    wanted = current | {right} if granted else current - {right}
    return set_dealer_rights(actor=actor, operator=operator, dealer=dealer, rights=wanted)


@transaction.atomic
def set_dealer_rights(*, actor, operator: Organization, dealer: Organization, rights) -> list[str]:
    """Make ``rights`` the full set the dealer holds (new rights need an active link)."""
    rights = set(rights)
    _lock_operator(operator)  # the link cannot end between the check and the grant
    _check_grantable(operator, dealer, rights)
    return _sorted_rights(set_rights(actor=actor, operator=operator, dealer=dealer, rights=rights))


# --- the dealer's overview ------------------------------------------------------------------


@dataclass
class OverviewRow:
    kind: str  # "link" or "invitation"
    id: str  # public id of the link or invitation
    company_name: str
    email: str
    reference: str
    status: str
    operator: Organization | None
    created_at: object
    invited: bool
    registered: bool
    agreement_signed: bool
    rights_granted: bool
    master_data_complete: bool
    rights: list[str]
    can_open_account: bool  # any active right gives "view" on the operator (portal.tenancy.RIGHT_CAPABILITIES)
    invitation_id: str | None = None

    @property
    def steps(self) -> list[tuple[str, str, bool]]:
        return [
            ("invited", _("invited"), self.invited),
            ("registered", _("registered"), self.registered),
            ("agreement_signed", _("agreement signed"), self.agreement_signed),
            ("rights_granted", _("rights granted"), self.rights_granted),
            ("master_data_complete", _("master data complete"), self.master_data_complete),
        ]

    @property
    def right_labels(self) -> list[str]:
        return [str(AccessRight(r).label) for r in self.rights]

    @property
    def progress(self) -> int:
        return sum(1 for _key, _label, done in self.steps if done)


def _progress_annotations(operator_ref: str, dealer: Organization) -> dict:
    op = OuterRef(operator_ref)
    return {
        "p_signed": Exists(OrganizationRole.unscoped.filter(organization=op, kind=RoleKind.OPERATOR,
                                                             status=RoleStatus.ACTIVE)),
        "p_rights": Exists(AccessGrant.unscoped.filter(organization=op, dealer=dealer, revoked_at__isnull=True)),
        "p_premises": Exists(Betriebsstaette.unscoped.filter(organization=op)),
    }


def _master_data_complete(org: Organization | None, has_premises: bool) -> bool:
    return bool(org and org.tax_number and org.street and org.postal_code and org.city and has_premises)


class OperatorOverview:
    """The dealer's operators — links plus invitations not accepted yet — as one sliceable list.

    Paging runs on a lean ``UNION ALL`` of ids (one COUNT, one page query); the page's rows are then
    loaded with their onboarding progress as ``Exists`` annotations (two queries) and their rights
    (one query). The number of queries does not depend on the number of operators.
    """

    def __init__(self, dealer: Organization, *, search: str = "", status: str = ""):
        self.dealer = dealer
        self.search = (search or "").strip()
        self.status = status if status in OVERVIEW_STATUSES else ""

    def _links(self):
        queryset = DealerLink.unscoped.filter(dealer=self.dealer)
        if self.status in ("invited", "registered", "expired"):
            return queryset.none()
        if self.status:
            queryset = queryset.filter(status=self.status)
        if self.search:
            s = self.search
            queryset = queryset.filter(
                Q(organization__name__icontains=s) | Q(organization__email__icontains=s)
                | Q(invitation__contact_email__icontains=s) | Q(invitation__company_name__icontains=s)
                | Q(invitation__external_reference__icontains=s)
            )
        return queryset

    def _invitations(self):
        now = timezone.now()
        queryset = OperatorInvitation.unscoped.filter(organization=self.dealer, accepted_at__isnull=True,
                                                      revoked_at__isnull=True)
        if self.status in ("requested", "active", "ended"):
            return queryset.none()
        if self.status == "invited":
            queryset = queryset.filter(expires_at__gt=now, operator__isnull=True)
        elif self.status == "registered":
            queryset = queryset.filter(expires_at__gt=now, operator__isnull=False)
        elif self.status == "expired":
            queryset = queryset.filter(expires_at__lte=now)
        if self.search:
            s = self.search
            queryset = queryset.filter(
                Q(company_name__icontains=s) | Q(contact_email__icontains=s) | Q(external_reference__icontains=s)
            )
        return queryset

    def _union(self):
        # no default ordering inside the parts (SQLite refuses ORDER BY in compound statements)
        links = self._links().order_by().annotate(is_link=Value(True, output_field=BooleanField())).values_list(
            "pk", "created_at", "is_link")
        invitations = self._invitations().order_by().annotate(
            is_link=Value(False, output_field=BooleanField())).values_list("pk", "created_at", "is_link")
        return links.union(invitations, all=True)

    def count(self) -> int:
        return self._union().count()

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        keys = list(self._union().order_by("-created_at", "-is_link", "-pk")[index])
        return self._rows(keys)

    def _rows(self, keys) -> list[OverviewRow]:
        # Always exactly three queries (links, invitations, rights), also for an empty id list, so the
        # number of queries depends neither on the number of operators nor on the mix of a page.
        link_ids = [pk for pk, _created, is_link in keys if is_link]
        invitation_ids = [pk for pk, _created, is_link in keys if not is_link]
        now = timezone.now()
        rows: dict[tuple[bool, int], OverviewRow] = {}
        links = DealerLink.unscoped.filter(_ids("pk", link_ids)).select_related("organization", "invitation")
        for link in links.annotate(**_progress_annotations("organization_id", self.dealer)):
            org, inv = link.organization, link.invitation
            rows[(True, link.pk)] = OverviewRow(
                kind="link", id=str(link.public_id), company_name=org.name,
                email=(inv.contact_email if inv else org.email), reference=inv.external_reference if inv else "",
                status=link.status, operator=org, created_at=link.created_at, invited=inv is not None,
                registered=True, agreement_signed=link.p_signed, rights_granted=link.p_rights,
                master_data_complete=_master_data_complete(org, link.p_premises), rights=[],
                can_open_account=link.p_rights, invitation_id=str(inv.public_id) if inv else None,
            )
        invitations = OperatorInvitation.unscoped.filter(_ids("pk", invitation_ids)).select_related("operator")
        for inv in invitations.annotate(**_progress_annotations("operator_id", self.dealer)):
            org = inv.operator
            status = "expired" if inv.expires_at <= now else "registered" if org is not None else "invited"
            rows[(False, inv.pk)] = OverviewRow(
                kind="invitation", id=str(inv.public_id), company_name=org.name if org else inv.company_name,
                email=inv.contact_email, reference=inv.external_reference, status=status, operator=org,
                created_at=inv.created_at, invited=True, registered=org is not None,
                agreement_signed=bool(org and inv.p_signed), rights_granted=bool(org and inv.p_rights),
                master_data_complete=_master_data_complete(org, inv.p_premises), rights=[],
                can_open_account=bool(org and inv.p_rights), invitation_id=str(inv.public_id),
            )
        operator_ids = sorted({row.operator.pk for row in rows.values() if row.operator is not None})
        rights: dict[int, list[str]] = {}
        for org_id, right in AccessGrant.unscoped.filter(
            _ids("organization_id", operator_ids), dealer=self.dealer, revoked_at__isnull=True
        ).values_list("organization_id", "right"):
            rights.setdefault(org_id, []).append(right)
        for row in rows.values():
            if row.operator is not None:
                row.rights = _sorted_rights(rights.get(row.operator.pk, []))
        return [rows[(is_link, pk)] for pk, _created, is_link in keys if (is_link, pk) in rows]


def _ids(field: str, ids: list[int]) -> Q:
    """``field IN ids``; for no ids a condition that matches nothing but still runs (Django skips an
    empty IN list without a query)."""
    return Q(**{f"{field}__in": ids}) if ids else Q(**{field: 0})


def operator_overview(dealer: Organization, *, search: str = "", status: str = "") -> OperatorOverview:
    return OperatorOverview(dealer, search=search, status=status)


def link_requests(dealer: Organization, *, status: str = LinkStatus.REQUESTED):
    queryset = DealerLink.unscoped.filter(dealer=dealer, requested_at__isnull=False).select_related("organization")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-requested_at", "-pk")


