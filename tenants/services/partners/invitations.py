"""Operator invitations: single and CSV bulk import, resend, revoke, history."""

import csv
import hashlib
import io
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.services.audit import log_action
from portal.services.mail import queue_mail
from tenants.models import (
    AccessRight,
    InvitationImport,
    OperatorInvitation,
    Organization,
)
from tenants.services.partners.common import (
    CSV_MAX_BYTES,
    CSV_MAX_ROWS,
    CSV_OPTIONAL_COLUMNS,
    CSV_REQUIRED_COLUMNS,
    DEFAULT_RIGHTS,
    INVITATION_MAX_AGE_DAYS,
    INVITATION_STATUSES,
    PartnerError,
    _new_token,
    _token_digest,
    _user,
    clean_invitation_data,
    invitation_link,
    require_dealer,
)

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
