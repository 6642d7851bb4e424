"""Role contracts: versions, typed-name signatures with evidence, role activation, termination.

A role (creator, dealer, operator) is active only while its organization holds a signature of the
current contract version (or of an older one, unless a version published since requires
re-signing). Signing and terminating are typed-name signatures: the signer reads the text, types
the full name of their account and ticks consent; the evidence row stores the version, the SHA-256
of the exact text shown (``title + "\\n\\n" + text``), the typed name, user, organization, acting
(dealer) organization, time, IP address and user agent. Evidence rows are append-only.
"""

import hashlib

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tenants.models import (
    ContractKind,
    ContractSignature,
    ContractVersion,
    OrganizationRole,
    RoleKind,
    RoleStatus,
    SignatureAction,
)

__all__ = [
    "CONTRACT_FOR_ROLE",
    "LANGUAGES",
    "ROLE_FOR_CONTRACT",
    "ContractError",
    "RoleState",
    "apply_for_role",
    "check_signer",
    "contract_text",
    "current_version",
    "normalize_name",
    "organization_role_states",
    "publish_version",
    "published_version",
    "role_contract_state",
    "role_state",
    "sign_contract",
    "signature_history",
    "sync_roles_after_new_version",
    "terminate_role",
    "text_sha256",
]

register_action_labels({
    "tenants.contract.signed": _("Contract signed"),
    "tenants.contract.terminated": _("Role terminated (signed)"),
    "tenants.role.applied": _("Applied for a role"),
    "tenants.role.activated": _("Role activated"),
    "tenants.role.deactivated": _("Role deactivated"),
})

LANGUAGES = ("de", "en")

CONTRACT_FOR_ROLE = {
    RoleKind.CREATOR: ContractKind.CREATOR_COOPERATION,
    RoleKind.DEALER: ContractKind.DEALER_COOPERATION,
    RoleKind.OPERATOR: ContractKind.OPERATOR_USAGE,
}
ROLE_FOR_CONTRACT = {contract: role for role, contract in CONTRACT_FOR_ROLE.items()}


class ContractError(Exception):
    """A refused contract action. ``code`` is the stable ``E_…`` code (the API maps it to a status)."""

    def __init__(self, code: str, message, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field  # the form field the error belongs to, if any


# --- versions and texts -----------------------------------------------------------------------


def current_version(kind: str) -> ContractVersion | None:
    """The newest published version of a contract."""
    return (
        ContractVersion.objects.filter(kind=kind, published_at__lte=timezone.now()).order_by("-version").first()
    )


def published_version(kind: str, version: int) -> ContractVersion | None:
    """One published version (any, old ones stay readable); None if unknown or not published yet."""
    return ContractVersion.objects.filter(kind=kind, version=version, published_at__lte=timezone.now()).first()


def contract_text(version: ContractVersion, language: str) -> tuple[str, str]:
    """(title, text) exactly as shown to the signer in ``language`` (de or en)."""
    if language == "en":
        return version.title_en, version.text_en
    return version.title_de, version.text_de


def text_sha256(version: ContractVersion, language: str) -> str:
    """SHA-256 (hex) of ``title + "\\n\\n" + text`` in ``language``, UTF-8 encoded."""
    title, text = contract_text(version, language)
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()


@transaction.atomic
def publish_version(*, actor, kind: str, title_de: str, title_en: str, text_de: str, text_en: str,
                    requires_resign: bool = False) -> ContractVersion:
    """Publish the next version of a contract (portal staff). Versions are never changed afterwards.

    With ``requires_resign`` every organization whose role rests on an older version goes back to
    pending until it signs the new one.
    """
    if kind not in ContractKind.values:
        raise ContractError("E_INVALID_CONTRACT", _("Unknown contract."))
    # Serialise publications of the same contract: the next number is taken under a lock.
    list(ContractVersion.objects.select_for_update().filter(kind=kind).values_list("pk", flat=True))
    last = ContractVersion.objects.filter(kind=kind).aggregate(last=Max("version"))["last"] or 0
    user = getattr(actor, "user", actor)
    version = ContractVersion.objects.create(
        kind=kind, version=last + 1, title_de=title_de, title_en=title_en, text_de=text_de, text_en=text_en,
        requires_resign=requires_resign, published_at=timezone.now(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if requires_resign:
        sync_roles_after_new_version(actor, version)
    return version


# --- role state -------------------------------------------------------------------------------


def _last_signature(organization, kind):
    return (
        ContractSignature.unscoped.filter(organization=organization, contract_version__kind=kind)
        .select_related("contract_version", "user", "acting_organization")
        .order_by("-signed_at", "-pk")
        .first()
    )


def role_contract_state(organization, role_kind: str) -> dict:
    """What the role's contract needs: ``{"version": current, "signed": last signature or None,
    "last": last evidence row or None, "needs_signature": bool}``. A signature of an older version
    counts unless a version published after it requires re-signing; a signed termination ends it."""
    kind = CONTRACT_FOR_ROLE[role_kind]
    version = current_version(kind)
    last = _last_signature(organization, kind)
    signed = last if last is not None and last.action == SignatureAction.SIGN else None
    needs = version is not None and (
        signed is None
        or (
            signed.contract_version.version < version.version
            and ContractVersion.objects.filter(
                kind=kind, version__gt=signed.contract_version.version, version__lte=version.version,
                published_at__lte=timezone.now(), requires_resign=True,
            ).exists()
        )
    )
    return {"version": version, "signed": signed, "last": last, "needs_signature": needs}


class RoleState:
    """A role of an organization as pages and API show it."""

    ACTIVE = "active"
    NEEDS_SIGNATURE = "needs_signature"
    RESIGN_REQUIRED = "resign_required"
    TERMINATED = "terminated"
    NO_CONTRACT = "no_contract"

    LABELS = {
        ACTIVE: _("Active"),
        NEEDS_SIGNATURE: _("Needs signature"),
        RESIGN_REQUIRED: _("Re-sign required"),
        TERMINATED: _("Terminated"),
        NO_CONTRACT: _("No contract published yet"),
    }

    def __init__(self, organization, role_kind: str, role: OrganizationRole | None):
        contract = role_contract_state(organization, role_kind)
        self.organization = organization
        self.kind = role_kind
        self.contract_kind = CONTRACT_FOR_ROLE[role_kind]
        self.role = role
        self.version = contract["version"]
        self.signature = contract["signed"]
        self.last = contract["last"]
        self.needs_signature = contract["needs_signature"]
        if role is not None and role.status == RoleStatus.TERMINATED:
            self.state = self.TERMINATED
        elif self.version is None:
            self.state = self.NO_CONTRACT
        elif self.needs_signature:
            self.state = self.RESIGN_REQUIRED if self.signature is not None else self.NEEDS_SIGNATURE
        else:
            self.state = self.ACTIVE

    @property
    def label(self):
        return self.LABELS[self.state]

    @property
    def kind_label(self):
        return RoleKind(self.kind).label

    @property
    def status(self) -> str | None:
        return self.role.status if self.role is not None else None

    @property
    def held(self) -> bool:
        return self.role is not None

    @property
    def can_sign(self) -> bool:
        return self.version is not None and self.needs_signature

    @property
    def can_terminate(self) -> bool:
        return self.signature is not None


def role_state(organization, role_kind: str) -> RoleState:
    role = OrganizationRole.unscoped.filter(organization=organization, kind=role_kind).first()
    return RoleState(organization, role_kind, role)


def organization_role_states(organization) -> list[RoleState]:
    """One state per role kind, in the order creator, dealer, operator; ``held`` tells which the
    organization holds or has applied for."""
    roles = {role.kind: role for role in OrganizationRole.unscoped.filter(organization=organization)}
    return [RoleState(organization, kind, roles.get(kind)) for kind in RoleKind.values]


def signature_history(organization):
    """Every signature and signed termination of the organization, newest first."""
    return (
        ContractSignature.unscoped.filter(organization=organization)
        .select_related("contract_version", "user", "acting_organization")
        .order_by("-signed_at", "-pk")
    )


# --- applying, signing, terminating -----------------------------------------------------------


def _check_role_kind(role_kind: str) -> None:
    if role_kind not in CONTRACT_FOR_ROLE:
        raise ContractError("E_INVALID_ROLE", _("Unknown role."))


def _lock_role(actor, organization, role_kind: str) -> OrganizationRole:
    """The role row, locked for the transaction; created (pending, audited) if the organization does
    not hold it yet. The lock serialises concurrent signatures of the same role."""
    role, created = OrganizationRole.unscoped.select_for_update().get_or_create(
        organization=organization, kind=role_kind, defaults={"status": RoleStatus.PENDING}
    )
    if created:
        log_action("tenants.role.applied", actor, organization, role, {"role": role_kind})
    return role


@transaction.atomic
def apply_for_role(*, actor, organization, role_kind: str) -> OrganizationRole:
    """Apply for a role the organization does not hold yet: a pending role until its contract is signed."""
    _check_role_kind(role_kind)
    if OrganizationRole.unscoped.filter(organization=organization, kind=role_kind).exists():
        raise ContractError("E_ROLE_EXISTS", _("The organization holds this role already."))
    return _lock_role(actor, organization, role_kind)


def normalize_name(name: str) -> str:
    return " ".join((name or "").split())


def check_signer(actor, typed_name: str, consent: bool):
    """The person who signs, after the checks every typed-name signature shares. Returns the user."""
    user = getattr(actor, "user", None)
    if user is None or not user.is_authenticated or getattr(actor, "api_key", None) is not None:
        raise ContractError("E_USER_REQUIRED", _("Contracts are signed by a person, not by an API key."))
    if not consent:
        raise ContractError(
            "E_CONSENT_REQUIRED", _("Please confirm that you have read and accept the contract."), "consent"
        )
    if not normalize_name(user.full_name) or (
        normalize_name(typed_name).casefold() != normalize_name(user.full_name).casefold()
    ):
        raise ContractError(
            "E_NAME_MISMATCH", _("Please type your full name exactly as in your account."), "typed_name"
        )
    return user


def _record(*, actor, organization, version, action, typed_name, language, shown_sha256, consent, meta):
    if language not in LANGUAGES:
        raise ContractError(
            "E_INVALID_LANGUAGE", _("The contract is available in German and English."), "language"
        )
    user = check_signer(actor, typed_name, consent)
    expected = text_sha256(version, language)
    if (shown_sha256 or "").strip().lower() != expected:
        raise ContractError(
            "E_TEXT_CHANGED", _("The contract text has changed since it was shown. Please read it again.")
        )
    acting_id = actor.acting_organization_id(organization.pk) if hasattr(actor, "acting_organization_id") else None
    return ContractSignature.unscoped.create(
        organization=organization,
        contract_version=version,
        action=action,
        language=language,
        text_sha256=expected,
        typed_name=normalize_name(typed_name),
        user=user,
        acting_organization_id=acting_id,
        ip_address=(meta or {}).get("ip") or None,
        user_agent=((meta or {}).get("user_agent") or "")[:500],
    )


def _require_person(actor) -> None:
    user = getattr(actor, "user", None)
    if user is None or not user.is_authenticated or getattr(actor, "api_key", None) is not None:
        raise ContractError("E_USER_REQUIRED", _("Contracts are signed by a person, not by an API key."))


@transaction.atomic
def sign_contract(*, actor, organization, role_kind: str, typed_name: str, language: str, shown_sha256: str,
                  consent: bool, meta: dict | None = None) -> ContractSignature:
    """Sign the current contract of a role; activates the role. ``shown_sha256`` is the hash of the
    text the signer saw (from the page or API), so a text changed in between is refused.

    An organization that does not hold the role yet applies for it by signing. ``meta`` carries the
    signer's ``ip`` and ``user_agent``.
    """
    _check_role_kind(role_kind)
    _require_person(actor)
    state = role_contract_state(organization, role_kind)
    if state["version"] is None:
        raise ContractError("E_NO_CONTRACT", _("There is no published contract for this role yet."))
    _lock_role(actor, organization, role_kind)
    state = role_contract_state(organization, role_kind)  # again, under the lock
    version = state["version"]
    if not state["needs_signature"]:
        raise ContractError("E_ALREADY_SIGNED", _("The current version of this contract is signed already."))
    signature = _record(actor=actor, organization=organization, version=version, action=SignatureAction.SIGN,
                        typed_name=typed_name, language=language, shown_sha256=shown_sha256, consent=consent,
                        meta=meta)
    log_action("tenants.contract.signed", actor, organization, signature, _evidence(signature))
    _sync_role(actor, organization, role_kind)
    _mail_evidence(signature)
    return signature


@transaction.atomic
def terminate_role(*, actor, organization, role_kind: str, typed_name: str, language: str, shown_sha256: str,
                   consent: bool, meta: dict | None = None) -> ContractSignature:
    """End a role by a signed termination of its contract (the version last signed, whose text the
    signer is shown again)."""
    _check_role_kind(role_kind)
    _require_person(actor)
    if not OrganizationRole.unscoped.filter(organization=organization, kind=role_kind).exists():
        raise ContractError("E_NOT_SIGNED", _("This role has no signed contract to terminate."))
    _lock_role(actor, organization, role_kind)
    state = role_contract_state(organization, role_kind)
    if state["signed"] is None:
        raise ContractError("E_NOT_SIGNED", _("This role has no signed contract to terminate."))
    signature = _record(actor=actor, organization=organization, version=state["signed"].contract_version,
                        action=SignatureAction.TERMINATE, typed_name=typed_name, language=language,
                        shown_sha256=shown_sha256, consent=consent, meta=meta)
    log_action("tenants.contract.terminated", actor, organization, signature, _evidence(signature))
    _sync_role(actor, organization, role_kind)
    _mail_evidence(signature)
    return signature


def _sync_role(actor, organization, role_kind: str, reason: dict | None = None) -> OrganizationRole:
    """Set the role's status from its contract state (active only with a valid signature)."""
    role, _created = OrganizationRole.unscoped.select_for_update().get_or_create(
        organization=organization, kind=role_kind
    )
    state = role_contract_state(organization, role_kind)
    last = state["last"]
    if last is not None and last.action == SignatureAction.TERMINATE:
        wanted = RoleStatus.TERMINATED
    elif state["signed"] is not None and not state["needs_signature"]:
        wanted = RoleStatus.ACTIVE
    else:
        wanted = RoleStatus.PENDING
    if role.status != wanted:
        old = role.status
        role.status = wanted
        role.activated_at = timezone.now() if wanted == RoleStatus.ACTIVE else role.activated_at
        role.save(update_fields=["status", "activated_at"])
        code = "tenants.role.activated" if wanted == RoleStatus.ACTIVE else "tenants.role.deactivated"
        log_action(code, actor, organization, role, {"role": role_kind, "old": old, "new": wanted, **(reason or {})})
    return role


@transaction.atomic
def sync_roles_after_new_version(actor, version: ContractVersion) -> int:
    """After staff publish a version that requires re-signing: set affected roles back to pending.
    Returns how many roles lost their active status."""
    role_kind = ROLE_FOR_CONTRACT[version.kind]
    changed = 0
    roles = OrganizationRole.unscoped.filter(kind=role_kind, status=RoleStatus.ACTIVE).select_related(
        "organization"
    ).order_by("pk")
    reason = {"contract": version.kind, "version": version.version}
    for role in roles:
        if _sync_role(actor, role.organization, role_kind, reason).status != RoleStatus.ACTIVE:
            changed += 1
    return changed


# --- evidence ---------------------------------------------------------------------------------


def _evidence(signature: ContractSignature) -> dict:
    return {
        "contract": signature.contract_version.kind,
        "version": signature.contract_version.version,
        "action": signature.action,
        "language": signature.language,
        "text_sha256": signature.text_sha256,
        "typed_name": signature.typed_name,
        "user": signature.user.email,
        "signed_at": signature.signed_at.isoformat(),
        "ip": signature.ip_address,
        "user_agent": signature.user_agent,
        "acting_organization": str(signature.acting_organization.public_id) if signature.acting_organization else None,
    }


def _mail_evidence(signature: ContractSignature) -> None:
    """The confirmation with the evidence, to the signer and to the organization's company address."""
    from portal.services.mail import queue_mail

    title, text = contract_text(signature.contract_version, signature.language)
    context = {
        "signature": signature, "title": title, "text": text, "organization": signature.organization,
        "acting_organization": signature.acting_organization,
    }
    recipients = [signature.user.email]
    company = (signature.organization.email or "").strip().lower()
    if company and company not in recipients:
        recipients.append(company)
    for to in recipients:
        queue_mail(
            to,
            "tenants/mail/contract_evidence_subject.txt",
            "tenants/mail/contract_evidence.txt",
            context,
            language=signature.language,
        )
