"""POS systems (Kassensysteme) of a creator: registration, versions, retirement, sharing with dealers.

A creator organization registers its POS systems with the master data that the DSFinV-K export
(``cashregister.csv``: KASSE_BRAND, KASSE_MODELL, KASSE_SW_BRAND, KASSE_SW_VERSION) and the § 146a(4) AO
notification (Art, Software, SoftwareVersion, Hersteller, Modell) need. It shares a system with dealers,
who then see it read-only and may deploy it.

Rules:

- Only an organization whose creator role is *active* (contract signed) creates or edits systems, adds
  versions and shares. Retiring and unsharing only take something away and stay possible.
- A retired system is read-only: no edits, no versions, no new shares. Retiring cannot be undone.
- A share target must hold the dealer role (pending or active, not terminated).
- Sharing by e-mail finds the dealer organization of a member with that address; if there is none, an
  invitation to register as a dealer is sent and nothing is stored.

Every change writes an audit entry. Capabilities (``configure`` to change, ``view`` to read) are
checked by the views; the services check the business rules.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import log_action, register_action_labels
from portal.services.mail import queue_mail
from tenants.models import (
    Membership,
    MembershipRole,
    Organization,
    PosSystem,
    PosSystemDealer,
    PosSystemType,
    PosSystemVersion,
    RoleKind,
    RoleStatus,
)

__all__ = [
    "EDITABLE_FIELDS",
    "MASTER_DATA_MAX_LENGTH",
    "PosSystemError",
    "ShareResult",
    "add_version",
    "create_pos_system",
    "creator_role_is_active",
    "dealer_shares",
    "deployable_pos_systems",
    "get_pos_system_for",
    "pos_master_data",
    "pos_systems_of",
    "retire_pos_system",
    "share_pos_system",
    "shared_pos_systems_of",
    "unshare_pos_system",
    "update_pos_system",
]

register_action_labels({
    "tenants.pos_system.created": gettext_lazy("POS system registered"),
    "tenants.pos_system.changed": gettext_lazy("POS system changed"),
    "tenants.pos_system.retired": gettext_lazy("POS system retired"),
    "tenants.pos_system.version_added": gettext_lazy("POS system version added"),
    "tenants.pos_system.shared": gettext_lazy("POS system shared with a dealer"),
    "tenants.pos_system.unshared": gettext_lazy("POS system no longer shared with a dealer"),
    "tenants.pos_system.dealer_invited": gettext_lazy("Dealer invited to register for a POS system"),
})

# The fields of a system its creator may change (the public id never changes).
EDITABLE_FIELDS = ("name", "brand", "model", "system_type", "description")
# DSFinV-K cashregister.csv: KASSE_BRAND, KASSE_MODELL, KASSE_SW_BRAND and KASSE_SW_VERSION are AN 50.
MASTER_DATA_MAX_LENGTH = 50
_LIMITS = {"name": 200, "brand": MASTER_DATA_MAX_LENGTH, "model": MASTER_DATA_MAX_LENGTH,
           "software_name": MASTER_DATA_MAX_LENGTH, "software_version": MASTER_DATA_MAX_LENGTH}
_REQUIRED = ("name", "brand", "model", "system_type")
# A dealer role that ended cannot receive systems any more.
_DEALER_STATUSES = (RoleStatus.PENDING, RoleStatus.ACTIVE)


class PosSystemError(Exception):
    """A broken business rule, with a stable code (``E_…``) and, for invalid input, the field."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ShareResult:
    """Outcome of ``share_pos_system``: a share (new or existing) or an invitation e-mail sent."""

    share: PosSystemDealer | None = None
    created: bool = False
    invited_email: str | None = None


# --- reading ---------------------------------------------------------------------------------


def creator_role_is_active(organization: Organization) -> bool:
    return organization.has_role(RoleKind.CREATOR, active_only=True)


def _with_related(queryset):
    return queryset.select_related("organization").prefetch_related("versions")


def _filter_retired(queryset, retired: bool | None):
    if retired is None:
        return queryset
    return queryset.filter(retired_at__isnull=not retired)


def pos_systems_of(organization: Organization, *, retired: bool | None = None):
    """The systems ``organization`` created (``retired``: None = all, True/False = only/none retired)."""
    return _with_related(_filter_retired(PosSystem.objects.filter(organization=organization), retired))


def shared_pos_systems_of(dealer: Organization, *, retired: bool | None = None):
    """The systems shared with ``dealer``, retired ones included unless ``retired=False``."""
    # (pos_system, dealer) is unique, so the join yields each system once.
    return _with_related(_filter_retired(PosSystem.objects.filter(dealer_links__dealer=dealer), retired))


def deployable_pos_systems(dealer_organization: Organization):
    """The systems ``dealer_organization`` may deploy: shared with it and not retired."""
    return shared_pos_systems_of(dealer_organization, retired=False)


def get_pos_system_for(organization: Organization, public_id) -> tuple[PosSystem, str]:
    """The system with ``public_id`` as seen from ``organization``: ``(system, "creator" | "dealer")``.

    Raises ``PosSystem.DoesNotExist`` unless ``organization`` created it or it is shared with it.
    """
    system = _with_related(PosSystem.objects.filter(
        Q(organization=organization) | Q(dealer_links__dealer=organization), public_id=public_id
    )).distinct().get()
    return system, "creator" if system.organization_id == organization.pk else "dealer"


def dealer_shares(pos_system: PosSystem):
    """The dealers ``pos_system`` is shared with, by dealer name."""
    return PosSystemDealer.objects.filter(pos_system=pos_system).select_related("dealer", "created_by").order_by(
        "dealer__name", "pk"
    )


def pos_master_data(version: PosSystemVersion) -> dict:
    """The master data of a deployed version for DSFinV-K (cashregister.csv) and the § 146a(4) notification.

    ``brand`` = KASSE_BRAND / Hersteller, ``model`` = KASSE_MODELL / Modell, ``software_brand`` =
    KASSE_SW_BRAND / Software, ``software_version`` = KASSE_SW_VERSION / SoftwareVersion, ``system_type`` =
    Art des eAs (a ``PosSystemType`` value).
    """
    system = version.pos_system
    return {
        "brand": system.brand,
        "model": system.model,
        "software_brand": version.software_name,
        "software_version": version.software_version,
        "system_type": system.system_type,
    }


# --- rules -----------------------------------------------------------------------------------


def _require_active_creator(organization: Organization) -> None:
    if not creator_role_is_active(organization):
        raise PosSystemError(
            "E_ROLE_INACTIVE",
            _("The POS creator role of {name} is not active. Sign the cooperation contract for POS creators "
              "first.").format(name=organization.name),
        )


def _require_not_retired(system: PosSystem) -> None:
    if system.retired_at is not None:
        raise PosSystemError("E_POS_SYSTEM_RETIRED", _("This POS system is retired and can no longer be changed."))


def _clean(data: dict, fields) -> dict:
    cleaned = {}
    for name in fields:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, str):
            value = value.strip()
        if name in _REQUIRED + ("software_name", "software_version") and not value:
            raise PosSystemError("E_VALIDATION", _("This field is required."), name)
        if name in _LIMITS and len(value) > _LIMITS[name]:
            raise PosSystemError(
                "E_VALIDATION", _("At most {limit} characters.").format(limit=_LIMITS[name]), name
            )
        if name == "system_type" and value not in PosSystemType.values:
            raise PosSystemError("E_VALIDATION", _("Unknown type of POS system."), name)
        cleaned[name] = value if value is not None else ""
    return cleaned


def _lock(system: PosSystem) -> PosSystem:
    return PosSystem.unscoped.select_for_update().select_related("organization").get(pk=system.pk)


def _audit_system(system: PosSystem) -> dict:
    return {"pos_system": str(system.public_id), "name": system.name}


def _user(actor):
    user = getattr(actor, "user", actor)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- writing ---------------------------------------------------------------------------------


@transaction.atomic
def create_pos_system(*, actor, organization: Organization, data: dict) -> PosSystem:
    """Register a system of ``organization`` with its first software version.

    ``data``: name, brand, model, system_type, description (optional), software_name, software_version,
    released_on (optional).
    """
    _require_active_creator(organization)
    for name in (*_REQUIRED, "software_name", "software_version"):
        if name not in data:
            raise PosSystemError("E_VALIDATION", _("This field is required."), name)
    fields = _clean(data, EDITABLE_FIELDS)
    version_fields = _clean(data, ("software_name", "software_version"))
    system = PosSystem.unscoped.create(organization=organization, **fields)
    version = PosSystemVersion.unscoped.create(
        pos_system=system, organization=organization, released_on=data.get("released_on"), **version_fields
    )
    log_action("tenants.pos_system.created", actor, organization, system, {
        **{name: getattr(system, name) for name in EDITABLE_FIELDS},
        "version": {"id": str(version.public_id), "software_name": version.software_name,
                    "software_version": version.software_version},
    })
    return system


@transaction.atomic
def update_pos_system(*, actor, pos_system: PosSystem, changes: dict) -> PosSystem:
    for name in changes:
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name} cannot be changed")
    system = _lock(pos_system)
    _require_not_retired(system)
    _require_active_creator(system.organization)
    diff = {}
    for name, value in _clean(changes, EDITABLE_FIELDS).items():
        old = getattr(system, name)
        if old != value:
            diff[name] = {"old": old, "new": value}
            setattr(system, name, value)
    if diff:
        system.save(update_fields=list(diff))
        log_action("tenants.pos_system.changed", actor, system.organization, system, {"changes": diff})
    return system


@transaction.atomic
def retire_pos_system(*, actor, pos_system: PosSystem) -> PosSystem:
    """Retire a system for good: it stays readable, but gets no versions, shares or edits any more."""
    now = timezone.now()
    if not PosSystem.unscoped.filter(pk=pos_system.pk, retired_at__isnull=True).update(retired_at=now):
        raise PosSystemError("E_POS_SYSTEM_RETIRED", _("This POS system is already retired."))
    system = PosSystem.unscoped.select_related("organization").get(pk=pos_system.pk)
    dealers = PosSystemDealer.unscoped.filter(pos_system=system).values_list("dealer__public_id", flat=True)
    log_action("tenants.pos_system.retired", actor, system.organization, system, {
        **_audit_system(system), "retired_at": now.isoformat(), "dealers": sorted(str(d) for d in dealers),
    })
    return system


@transaction.atomic
def add_version(
    *, actor, pos_system: PosSystem, software_version: str, software_name: str | None = None, released_on=None
) -> PosSystemVersion:
    """Add a software version; ``software_name`` defaults to that of the latest version."""
    system = _lock(pos_system)
    _require_not_retired(system)
    _require_active_creator(system.organization)
    if not (software_name or "").strip():
        latest = PosSystemVersion.unscoped.filter(pos_system=system).order_by("-created_at", "-pk").first()
        software_name = latest.software_name if latest else system.name
    fields = _clean({"software_name": software_name, "software_version": software_version},
                    ("software_name", "software_version"))
    exists_message = _("Version {version} of this POS system already exists.").format(
        version=fields["software_version"])
    if PosSystemVersion.unscoped.filter(pos_system=system, software_version=fields["software_version"]).exists():
        raise PosSystemError("E_VERSION_EXISTS", exists_message, "software_version")
    try:
        with transaction.atomic():
            version = PosSystemVersion.unscoped.create(
                pos_system=system, organization=system.organization, released_on=released_on, **fields
            )
    except IntegrityError:  # a concurrent request added the same version (the row lock makes this rare)
        raise PosSystemError("E_VERSION_EXISTS", exists_message, "software_version") from None
    log_action("tenants.pos_system.version_added", actor, system.organization, system, {
        "version": str(version.public_id), "software_name": version.software_name,
        "software_version": version.software_version,
        "released_on": version.released_on.isoformat() if version.released_on else None,
    })
    return version


def _dealer_organizations():
    return Organization.unscoped.filter(roles__kind=RoleKind.DEALER, roles__status__in=_DEALER_STATUSES)


def _find_dealer_by_email(email: str) -> Organization | None:
    # The creator cannot see other organizations: finding a share target is a deliberate lookup across
    # tenants that reveals nothing but whether a dealer with this member exists.
    dealers = list(_dealer_organizations().filter(memberships__user__email__iexact=email).distinct()[:2])
    if len(dealers) > 1:
        raise PosSystemError(
            "E_DEALER_AMBIGUOUS",
            _("This address belongs to members of several dealer organizations. Share by the dealer's id instead."),
            "email",
        )
    return dealers[0] if dealers else None


def _notify_dealer(system: PosSystem, dealer: Organization, actor, extra_email: str | None) -> None:
    recipients = {}
    for membership in Membership.unscoped.filter(
        organization=dealer, role__in=[MembershipRole.OWNER, MembershipRole.ADMIN]
    ).select_related("user").order_by("pk"):
        recipients.setdefault(membership.user.email.lower(), membership.user.language)
    if extra_email:
        member = Membership.unscoped.filter(organization=dealer, user__email__iexact=extra_email).select_related(
            "user").first()
        recipients.setdefault(extra_email, member.user.language if member else "de")
    link = settings.SITE_URL + reverse(
        "shared_pos_system_detail", kwargs={"org_id": dealer.public_id, "pos_system_id": system.public_id}
    )
    context = {"pos_system": system, "creator": system.organization, "dealer": dealer, "link": link,
               "sharer": _user(actor)}
    for email, language in recipients.items():
        queue_mail(email, "tenants/pos_systems/mail/shared_subject.txt", "tenants/pos_systems/mail/shared.txt",
                   context, language=language)


def _invite_dealer(system: PosSystem, email: str, actor) -> None:
    link = settings.SITE_URL + reverse("accounts:register")
    user = _user(actor)
    queue_mail(
        email, "tenants/pos_systems/mail/dealer_invitation_subject.txt",
        "tenants/pos_systems/mail/dealer_invitation.txt",
        {"pos_system": system, "creator": system.organization, "link": link, "inviter": user},
        language=getattr(user, "language", "de"),
    )
    log_action("tenants.pos_system.dealer_invited", actor, system.organization, system,
               {**_audit_system(system), "email": email})


@transaction.atomic
def share_pos_system(*, actor, pos_system: PosSystem, dealer_id=None, email: str | None = None) -> ShareResult:
    """Share ``pos_system`` with a dealer given by its public id or by the e-mail address of a member.

    Sharing again with the same dealer returns the existing share. An address without a dealer
    organization gets an invitation to register as a dealer; then nothing is stored.
    """
    if (dealer_id is None) == (not email):
        raise ValueError("give either dealer_id or email")
    system = _lock(pos_system)
    _require_not_retired(system)
    _require_active_creator(system.organization)
    if email:
        email = email.strip().lower()
        dealer = _find_dealer_by_email(email)
        if dealer is None:
            _invite_dealer(system, email, actor)
            return ShareResult(invited_email=email)
    else:
        dealer = _dealer_organizations().filter(public_id=dealer_id).first()
        if dealer is None:
            raise PosSystemError("E_DEALER_NOT_FOUND", _("There is no dealer organization with this id."),
                                 "dealer_id")
    existing = PosSystemDealer.unscoped.filter(pos_system=system, dealer=dealer).first()
    if existing is not None:
        return ShareResult(share=existing, created=False)
    try:
        with transaction.atomic():
            share = PosSystemDealer.unscoped.create(
                pos_system=system, organization=system.organization, dealer=dealer, created_by=_user(actor)
            )
    except IntegrityError:  # shared concurrently
        return ShareResult(share=PosSystemDealer.unscoped.get(pos_system=system, dealer=dealer), created=False)
    data = {**_audit_system(system), "dealer": str(dealer.public_id), "dealer_name": dealer.name}
    if email:
        data["email"] = email
    log_action("tenants.pos_system.shared", actor, system.organization, system, data)
    log_action("tenants.pos_system.shared", actor, dealer, system, data, acting_organization=system.organization)
    _notify_dealer(system, dealer, actor, email)
    return ShareResult(share=share, created=True)


@transaction.atomic
def unshare_pos_system(*, actor, share: PosSystemDealer) -> bool:
    """Stop sharing: the dealer loses access with its next request. Possible for retired systems too."""
    system = _lock(share.pos_system)
    dealer = share.dealer
    deleted, _rows = PosSystemDealer.unscoped.filter(pk=share.pk).delete()
    if deleted:
        data = {**_audit_system(system), "dealer": str(dealer.public_id), "dealer_name": dealer.name}
        log_action("tenants.pos_system.unshared", actor, system.organization, system, data)
        log_action("tenants.pos_system.unshared", actor, dealer, system, data,
                   acting_organization=system.organization)
    return bool(deleted)
