"""Dealer framework contracts (Rahmenvertrag): countersignature, and the terms billing reads.

Portal staff create a contract for a dealer (planned volume over a term, volume discount tiers,
credit limit); the dealer countersigns it in the portal with a typed-name signature over the exact
document shown (title, text and terms). Only a countersigned contract whose term covers a date is
*in force* on that date; billing asks ``framework_terms``, ``discount_percent`` and ``credit_limit``.
"""

import hashlib
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.services.audit import log_action, register_action_labels
from tenants.models import DiscountTier, FrameworkContract, OrganizationRole, RoleKind
from tenants.services.contracts import ContractError, check_signer, normalize_name

__all__ = [
    "FRAMEWORK_STATES",
    "ZERO",
    "countersign_framework_contract",
    "credit_limit",
    "discount_percent",
    "framework_document",
    "framework_state",
    "framework_terms",
    "framework_terms_text",
    "framework_text_sha256",
    "is_dealer",
    "record_framework_contract_saved",
    "tiers_of",
]

register_action_labels({
    "tenants.framework_contract.created": _("Framework contract created"),
    "tenants.framework_contract.changed": _("Framework contract changed"),
    "tenants.framework_contract.countersigned": _("Framework contract countersigned"),
})

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def tiers_of(contract: FrameworkContract) -> list[DiscountTier]:
    return list(DiscountTier.unscoped.filter(contract=contract).order_by("min_units", "pk"))


def framework_terms_text(contract: FrameworkContract) -> str:
    """The commercial terms as one fixed, language-neutral block (part of the signed document)."""
    lines = [
        f"planned_volume_signing_units: {contract.planned_volume}",
        f"starts_on: {contract.starts_on.isoformat()}",
        f"ends_on: {contract.ends_on.isoformat()}",
        f"credit_limit_eur: {_money(contract.credit_limit)}",
    ]
    lines += [f"discount_tier: from {tier.min_units} units {_money(tier.percent)} %" for tier in tiers_of(contract)]
    return "\n".join(lines)


def framework_document(contract: FrameworkContract) -> str:
    """Exactly what the dealer is shown and countersigns: ``title, text, terms`` joined by blank lines."""
    return f"{contract.title}\n\n{contract.text}\n\n{framework_terms_text(contract)}"


def framework_text_sha256(contract: FrameworkContract) -> str:
    return hashlib.sha256(framework_document(contract).encode()).hexdigest()


FRAMEWORK_STATES = ["awaiting", "signed", "in_force", "ended", "expired"]


def framework_state(contract: FrameworkContract, on_date: date | None = None) -> str:
    """awaiting (the countersignature), signed (starts later), in_force, ended, expired (never countersigned)."""
    today = on_date or timezone.localdate()
    if contract.countersigned_at is None:
        return "expired" if contract.ends_on < today else "awaiting"
    if contract.ends_on < today:
        return "ended"
    return "in_force" if contract.starts_on <= today else "signed"


def is_dealer(organization) -> bool:
    return OrganizationRole.unscoped.filter(organization=organization, kind=RoleKind.DEALER).exists()


# --- countersignature -------------------------------------------------------------------------


@transaction.atomic
def countersign_framework_contract(*, actor, contract: FrameworkContract, typed_name: str, shown_sha256: str,
                                   consent: bool, meta: dict | None = None) -> FrameworkContract:
    """The dealer's typed-name countersignature over the document shown (``shown_sha256``)."""
    user = getattr(actor, "user", None)
    if user is None or not user.is_authenticated or getattr(actor, "api_key", None) is not None:
        raise ContractError("E_USER_REQUIRED", _("Contracts are signed by a person, not by an API key."))
    contract = FrameworkContract.unscoped.select_for_update().get(pk=contract.pk)
    if contract.countersigned_at is not None:
        raise ContractError("E_ALREADY_SIGNED", _("This framework contract is countersigned already."))
    if contract.ends_on < timezone.localdate():
        raise ContractError("E_CONTRACT_EXPIRED", _("The term of this framework contract is over."))
    user = check_signer(actor, typed_name, consent)
    expected = framework_text_sha256(contract)
    if (shown_sha256 or "").strip().lower() != expected:
        raise ContractError(
            "E_TEXT_CHANGED", _("The contract text has changed since it was shown. Please read it again.")
        )
    contract.countersigned_at = timezone.now()
    contract.countersigned_by = user
    contract.countersign_name = normalize_name(typed_name)
    contract.countersign_sha256 = expected
    contract.countersign_ip = (meta or {}).get("ip") or None
    contract.countersign_user_agent = ((meta or {}).get("user_agent") or "")[:500]
    contract.save(update_fields=[
        "countersigned_at", "countersigned_by", "countersign_name", "countersign_sha256", "countersign_ip",
        "countersign_user_agent",
    ])
    log_action("tenants.framework_contract.countersigned", actor, contract.organization, contract, _evidence(contract))
    _mail_evidence(contract)
    return contract


def _evidence(contract: FrameworkContract) -> dict:
    return {
        "framework_contract": str(contract.public_id),
        "title": contract.title,
        "text_sha256": contract.countersign_sha256,
        "typed_name": contract.countersign_name,
        "user": contract.countersigned_by.email,
        "signed_at": contract.countersigned_at.isoformat(),
        "ip": contract.countersign_ip,
        "user_agent": contract.countersign_user_agent,
        "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(),
        "credit_limit": str(_money(contract.credit_limit)),
        "tiers": [[tier.min_units, str(_money(tier.percent))] for tier in tiers_of(contract)],
    }


def _mail_evidence(contract: FrameworkContract) -> None:
    from portal.services.mail import queue_mail

    user = contract.countersigned_by
    language = user.language if user.language in ("de", "en") else "de"
    context = {"contract": contract, "organization": contract.organization, "document": framework_document(contract)}
    recipients = [user.email]
    company = (contract.organization.email or "").strip().lower()
    if company and company not in recipients:
        recipients.append(company)
    for to in recipients:
        queue_mail(to, "tenants/mail/framework_contract_evidence_subject.txt",
                   "tenants/mail/framework_contract_evidence.txt", context, language=language)


def record_framework_contract_saved(actor, contract: FrameworkContract, *, created: bool) -> None:
    """Audit a contract created or changed by portal staff (admin)."""
    data = {
        "title": contract.title,
        "planned_volume": contract.planned_volume,
        "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(),
        "credit_limit": str(_money(contract.credit_limit)),
        "tiers": [[tier.min_units, str(_money(tier.percent))] for tier in tiers_of(contract)],
    }
    code = "tenants.framework_contract.created" if created else "tenants.framework_contract.changed"
    log_action(code, actor, contract.organization, contract, data)


# --- what billing reads -----------------------------------------------------------------------


def _organization_id(dealer) -> int:
    return getattr(dealer, "pk", dealer)


def framework_terms(dealer, on_date: date | None = None) -> FrameworkContract | None:
    """The countersigned framework contract of ``dealer`` (organization or pk) in force on
    ``on_date`` (default: today in Europe/Berlin), i.e. ``starts_on <= on_date <= ends_on``; if
    several are, the one that started last. None without one."""
    on_date = on_date or timezone.localdate()
    return (
        FrameworkContract.unscoped.filter(
            organization_id=_organization_id(dealer), countersigned_at__isnull=False,
            starts_on__lte=on_date, ends_on__gte=on_date,
        )
        .order_by("-starts_on", "-countersigned_at", "-pk")
        .first()
    )


def discount_percent(dealer, units: int, on_date: date | None = None) -> Decimal:
    """The discount (percent, e.g. ``Decimal("7.50")``) for ``units`` signing units: the tier with
    the highest ``min_units <= units`` of the contract in force; ``0.00`` without one."""
    contract = framework_terms(dealer, on_date)
    if contract is None:
        return ZERO
    tier = DiscountTier.unscoped.filter(contract=contract, min_units__lte=units).order_by("-min_units").first()
    return _money(tier.percent) if tier is not None else ZERO


def credit_limit(dealer, on_date: date | None = None) -> Decimal:
    """The credit limit (EUR) of the contract in force; ``0.00`` without one."""
    contract = framework_terms(dealer, on_date)
    return _money(contract.credit_limit) if contract is not None else ZERO
