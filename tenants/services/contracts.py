"""Role contracts: versions, typed-name signatures with evidence, role activation, termination."""

import hashlib

from django.db import transaction
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
    "ContractError",
    "contract_text",
    "current_version",
    "role_contract_state",
    "sign_contract",
    "terminate_role",
    "text_sha256",
]

register_action_labels({
    "tenants.contract.signed": _("Contract signed"),
    "tenants.contract.terminated": _("Role terminated (signed)"),
    "tenants.role.activated": _("Role activated"),
    "tenants.role.deactivated": _("Role deactivated"),
})

CONTRACT_FOR_ROLE = {
    RoleKind.CREATOR: ContractKind.CREATOR_COOPERATION,
    RoleKind.DEALER: ContractKind.DEALER_COOPERATION,
    RoleKind.OPERATOR: ContractKind.OPERATOR_USAGE,
}
ROLE_FOR_CONTRACT = {contract: role for role, contract in CONTRACT_FOR_ROLE.items()}


class ContractError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def current_version(kind: str) -> ContractVersion | None:
    """The newest published version of a contract."""
    return (
        ContractVersion.objects.filter(kind=kind, published_at__lte=timezone.now()).order_by("-version").first()
    )


def contract_text(version: ContractVersion, language: str) -> tuple[str, str]:
    """(title, text) exactly as shown to the signer in ``language`` (de or en)."""
    if language == "en":
        return version.title_en, version.text_en
    return version.title_de, version.text_de


def text_sha256(version: ContractVersion, language: str) -> str:
    title, text = contract_text(version, language)
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()


def _last_signature(organization, kind):
    return (
        ContractSignature.unscoped.filter(organization=organization, contract_version__kind=kind)
        .select_related("contract_version")
        .order_by("-signed_at", "-pk")
        .first()
    )


def role_contract_state(organization, role_kind: str) -> dict:
    """What the role's contract needs: ``{"version": current, "signed": last signature or None,
    "needs_signature": bool}``. A signature of an older version counts unless a version published
    after it requires re-signing."""
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
                requires_resign=True,
            ).exists()
        )
    )
    return {"version": version, "signed": signed, "needs_signature": needs}


def _sync_role(actor, organization, role_kind: str) -> OrganizationRole:
    """Set the role's status from its contract state (active only with a valid signature)."""
    role, _created = OrganizationRole.unscoped.select_for_update().get_or_create(
        organization=organization, kind=role_kind
    )
    state = role_contract_state(organization, role_kind)
    last = _last_signature(organization, CONTRACT_FOR_ROLE[role_kind])
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
        log_action(code, actor, organization, role, {"role": role_kind, "old": old, "new": wanted})
    return role


def _record(*, actor, organization, version, action, typed_name, language, shown_sha256, consent, meta):
    if language not in ("de", "en"):
        raise ContractError("E_INVALID_LANGUAGE", _("The contract is available in German and English."))
    if not consent:
        raise ContractError("E_CONSENT_REQUIRED", _("Please confirm that you have read and accept the contract."))
    user = getattr(actor, "user", None)
    if user is None or not user.is_authenticated:
        raise ContractError("E_USER_REQUIRED", _("Contracts are signed by a person, not by an API key."))
    if " ".join(typed_name.split()).casefold() != " ".join(user.full_name.split()).casefold():
        raise ContractError("E_NAME_MISMATCH", _("Please type your full name exactly as in your account."))
    expected = text_sha256(version, language)
    if shown_sha256 != expected:
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
        typed_name=" ".join(typed_name.split()),
        user=user,
        acting_organization_id=acting_id,
        ip_address=(meta or {}).get("ip"),
        user_agent=((meta or {}).get("user_agent") or "")[:500],
    )


@transaction.atomic
def sign_contract(*, actor, organization, role_kind: str, typed_name: str, language: str, shown_sha256: str,
                  consent: bool, meta: dict | None = None) -> ContractSignature:
    """Sign the current contract of a role; activates the role. ``shown_sha256`` is the hash of the
    text the signer saw (from the page or API), so a text changed in between is refused."""
    if role_kind not in CONTRACT_FOR_ROLE:
        raise ContractError("E_INVALID_ROLE", _("Unknown role."))
    state = role_contract_state(organization, role_kind)
    version = state["version"]
    if version is None:
        raise ContractError("E_NO_CONTRACT", _("There is no published contract for this role yet."))
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
    """End a role by a signed termination of its contract (the version last signed)."""
    if role_kind not in CONTRACT_FOR_ROLE:
        raise ContractError("E_INVALID_ROLE", _("Unknown role."))
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


def sync_roles_after_new_version(actor, version: ContractVersion) -> int:
    """After staff publish a version that requires re-signing: set affected roles back to pending."""
    role_kind = ROLE_FOR_CONTRACT[version.kind]
    changed = 0
    for role in OrganizationRole.unscoped.filter(kind=role_kind, status=RoleStatus.ACTIVE).select_related(
        "organization"
    ):
        if _sync_role(actor, role.organization, role_kind).status != RoleStatus.ACTIVE:
            changed += 1
    return changed


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
    from portal.services.mail import queue_mail

    title, _text = contract_text(signature.contract_version, signature.language)
    queue_mail(
        signature.user.email,
        "tenants/mail/contract_evidence_subject.txt",
        "tenants/mail/contract_evidence.txt",
        {"signature": signature, "title": title, "organization": signature.organization},
        language=signature.language,
    )
