"""Entitlements: a dealer's purchase, the transfer to an operator, activation, cancellation, renewal.

Lifecycle (reference/domain.md §9): ``stock`` (bought by a dealer) → ``assigned`` (transferred to an
outlet of an operator that granted the dealer the ``entitlements`` right) → ``active`` (for a
signing unit of that operator, or for the outlet for other products; billable from then on) →
``ended`` (the term ran out after a cancellation).

- **Purchase** needs the active dealer role, a product on sale with a price plan, and the dealer's
  framework contract in force (countersigned, today within its term). The discount is the contract
  tier for the dealer's units after the purchase (stock + assigned + active entitlements +
  quantity). ``commitment = quantity × base_fee × term_months × (1 − discount/100)``, rounded to
  cents (ROUND_HALF_UP). The exposure — the commitment share (``order.commitment /
  order.quantity``) of every entitlement of the dealer that has not ended, plus the new
  commitment — must not exceed the credit limit. Checked and written in one transaction with the
  dealer's organization row locked, so parallel purchases cannot pass the limit together.
- **Terms** are whole months in Europe/Berlin dates (§ 188 Abs. 2, 3 BGB): a term ends on the day
  before the same day N months later, or on the last day of that month when it has no such day.
  So a 1-month term from 15 January runs to 14 February, one from 31 January to 28 (29) February,
  a 12-month term from 1 March to the last day of February; a renewal starts the day after
  ``term_end`` with the same length.
- **Billing party**: ``activated_by_dealer`` is True when the actor acts for the entitlement's
  dealer (a member of it, or the dealer acting in the operator's account); an operator activating
  an entitlement assigned to it itself is billed itself (False).
- **Cancellation** (by the billed party) takes effect at ``term_end``: the entitlement stays active
  and billable until then; irreversible. ``renew_subscriptions`` (daily) renews what is not
  cancelled and ends the rest at the start of the day after ``term_end`` (Berlin).

``actor`` is a ``portal.tenancy.Actor``; ``None`` is the system (acts for the dealer). Every action
writes audit entries in the dealer's and, once assigned, the operator's log.
"""

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.services.audit import log_action, register_action_labels
from tenants.models import (
    AccessGrant,
    AccessRight,
    Entitlement,
    EntitlementOrder,
    EntitlementState,
    Organization,
    OrganizationRole,
    Outlet,
    PricePlan,
    Product,
    ProductKind,
    RoleKind,
    RoleStatus,
)
from tenants.services.billing.pricing import discount_percent, line_net, plan_for
from tenants.services.configuration.versions import record_configuration_version
from tenants.services.framework_contracts import credit_limit, framework_terms

__all__ = [
    "EXPIRING_DAYS",
    "MAX_QUANTITY",
    "EntitlementError",
    "activate",
    "active_entitlement",
    "add_months",
    "assign",
    "cancel",
    "catalogue",
    "expiring",
    "exposure",
    "may_activate",
    "may_cancel",
    "operators_granting",
    "purchase",
    "renew_subscriptions",
    "term_end_for",
    "units_of",
]

register_action_labels({
    "tenants.entitlements.purchased": gettext_lazy("Entitlements purchased"),
    "tenants.entitlements.assigned": gettext_lazy("Entitlement transferred to an operator"),
    "tenants.entitlements.activated": gettext_lazy("Entitlement activated"),
    "tenants.entitlements.cancelled": gettext_lazy("Subscription cancelled"),
    "tenants.entitlements.renewed": gettext_lazy("Subscription renewed"),
    "tenants.entitlements.ended": gettext_lazy("Subscription ended"),
})

BERLIN = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
MAX_QUANTITY = 1000
EXPIRING_DAYS = 60
OPEN_STATES = (EntitlementState.STOCK, EntitlementState.ASSIGNED, EntitlementState.ACTIVE)


class EntitlementError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = str(message)


# --- helpers ------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, the day of the month clamped to the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def term_end_for(term_start: dt.date, months: int) -> dt.date:
    """The last day of a term of ``months`` months (§ 188 Abs. 2, 3 BGB).

    The term ends on the day before the same day ``months`` later; when that month has no such day
    (31 January + 1 month), it ends on that month's last day (28/29 February).
    """
    target = add_months(term_start, months)
    if target.day < term_start.day:  # clamped: the month has no such day
        return target
    return target - dt.timedelta(days=1)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _plan_for(product: Product, day: dt.date) -> PricePlan | None:
    try:
        return plan_for(product, day)
    except PricePlan.DoesNotExist:
        return None


def _is_member(actor, organization_id) -> bool:
    return actor is None or organization_id in actor.member_roles


def _can_manage(actor, organization_id) -> bool:
    return actor is None or actor.can(organization_id, "manage_entitlements")


def _acts_for_dealer(actor, entitlement: Entitlement) -> bool:
    """A member of the dealer allowed to manage entitlements, or the dealer acting in the operator's account."""
    if actor is None:
        return True
    if entitlement.dealer_id in actor.member_roles:
        return actor.can(entitlement.dealer_id, "manage_entitlements")
    return (entitlement.operator_id is not None
            and actor.acting_organization_id(entitlement.operator_id) == entitlement.dealer_id
            and actor.can(entitlement.operator_id, "manage_entitlements"))


def _grant_exists(operator_id: int, dealer_id: int) -> bool:
    return AccessGrant.unscoped.filter(organization_id=operator_id, dealer_id=dealer_id,
                                       right=AccessRight.ENTITLEMENTS, revoked_at__isnull=True).exists()


def _require_right(operator_id: int, dealer_id: int) -> None:
    if not _grant_exists(operator_id, dealer_id):
        raise EntitlementError(403, "E_RIGHT_MISSING", _(
            "The operator has not granted your organization the right to manage entitlements."))


def _require_manager(actor, organization_id: int) -> None:
    if not (_is_member(actor, organization_id) and _can_manage(actor, organization_id)):
        raise EntitlementError(403, "E_PERMISSION_DENIED", _("You may not manage entitlements of this organization."))


def _lock(entitlement: Entitlement) -> Entitlement:
    return (Entitlement.unscoped.select_for_update(of=("self",)).select_related("product", "order__plan")
            .get(pk=entitlement.pk))


def _state_error(message=None) -> EntitlementError:
    return EntitlementError(409, "E_ENTITLEMENT_STATE", message or _("The entitlement is not in a state that allows "
                                                                     "this."))


def _open_outlet(operator_id: int, outlet) -> Outlet:
    if outlet is None:
        raise EntitlementError(400, "E_OUTLET_REQUIRED", _("Choose an outlet of the operator."))
    if outlet.organization_id != operator_id:
        raise EntitlementError(404, "E_OUTLET_NOT_FOUND", _("The outlet does not exist at this operator."))
    if outlet.closed_on is not None and outlet.closed_on <= timezone.localdate():
        raise EntitlementError(409, "E_OUTLET_CLOSED", _("The outlet is closed."))
    return outlet


def _data(entitlement: Entitlement, **extra) -> dict:
    data = {"entitlement": str(entitlement.public_id), "product": entitlement.product.code,
            "state": entitlement.state}
    data.update(extra)
    return data


def _log(code: str, actor, entitlement: Entitlement, data: dict) -> None:
    """The entry in the dealer's log and, once the entitlement is with an operator, in the operator's
    (``log_action`` names the dealer as acting organization when it acts in the operator's account)."""
    dealer = Organization.unscoped.get(pk=entitlement.dealer_id)
    log_action(code, actor, dealer, entitlement, data)
    if entitlement.operator_id is not None:
        acting = None
        if actor is not None and entitlement.operator_id not in actor.member_roles and (
                entitlement.dealer_id in actor.member_roles):
            acting = dealer
        log_action(code, actor, Organization.unscoped.get(pk=entitlement.operator_id), entitlement, data,
                   acting_organization=acting)


# --- reading ------------------------------------------------------------------------------------


def units_of(dealer) -> int:
    """The dealer's entitlements in stock, assigned or active."""
    return Entitlement.unscoped.filter(dealer=dealer, state__in=OPEN_STATES).count()


def exposure(dealer) -> Decimal:
    """Σ commitment share (``order.commitment / order.quantity``) of the dealer's entitlements not ended."""
    rows = (Entitlement.unscoped.filter(dealer=dealer).exclude(state=EntitlementState.ENDED)
            .values("order_id", "order__commitment", "order__quantity").annotate(n=Count("pk")).order_by())
    total = sum((row["order__commitment"] * row["n"] / row["order__quantity"] for row in rows), Decimal(0))
    return _money(total)


def catalogue(dealer=None, day: dt.date | None = None) -> list[dict]:
    """Products on sale with their current plan; for a dealer its discount now and the price after it."""
    day = day or timezone.localdate()
    discount = None
    if dealer is not None:
        discount = discount_percent(dealer, units_of(dealer) + 1, day) if framework_terms(dealer, day) else None
    rows = []
    for product in Product.objects.filter(active=True).order_by("name", "pk"):
        plan = _plan_for(product, day)
        if plan is None:
            continue
        row = {"product": product, "plan": plan, "list_price": plan.base_fee, "discount_percent": discount,
               "price": None}
        if discount is not None:
            row["price"] = line_net(plan.base_fee, discount)
        rows.append(row)
    return rows


def expiring(dealer, today: dt.date | None = None):
    """The dealer's active subscriptions that end within ``EXPIRING_DAYS`` and do not renew."""
    today = today or timezone.localdate()
    return (Entitlement.unscoped.filter(dealer=dealer, state=EntitlementState.ACTIVE,
                                        term_end__lte=today + dt.timedelta(days=EXPIRING_DAYS))
            .filter(Q(auto_renew=False) | Q(cancelled_at__isnull=False)).order_by("term_end", "pk"))


def operators_granting(dealer) -> list[Organization]:
    """Operators that granted ``dealer`` the ``entitlements`` right (active grants)."""
    from tenants.services.grants import operators_granting as granting

    return granting(dealer, AccessRight.ENTITLEMENTS)


def active_entitlement(signing_unit, when: dt.datetime | None = None) -> Entitlement | None:
    """The signing-unit entitlement active for ``signing_unit`` now, or at ``when``."""
    rows = Entitlement.unscoped.filter(signing_unit=signing_unit, product__kind=ProductKind.SIGNING_UNIT)
    if when is None:
        return rows.filter(state=EntitlementState.ACTIVE).order_by("-activated_at", "-pk").first()
    return (rows.filter(state__in=(EntitlementState.ACTIVE, EntitlementState.ENDED), activated_at__lte=when)
            .exclude(ended_at__lte=when).order_by("-activated_at", "-pk").first())


# --- purchase -----------------------------------------------------------------------------------


def purchase(*, actor, dealer: Organization, product: Product, quantity: int) -> EntitlementOrder:
    _require_manager(actor, dealer.pk)
    if not OrganizationRole.unscoped.filter(organization=dealer, kind=RoleKind.DEALER,
                                            status=RoleStatus.ACTIVE).exists():
        raise EntitlementError(403, "E_ROLE_INACTIVE", _("Buying entitlements needs an active dealer role."))
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise EntitlementError(400, "E_VALIDATION", _("The quantity must be between 1 and %(max)d.") % {
            "max": MAX_QUANTITY})
    if not product.active:
        raise EntitlementError(409, "E_PRODUCT_NOT_ON_SALE", _("This product is not on sale."))
    today = timezone.localdate()
    plan = _plan_for(product, today)
    if plan is None:
        raise EntitlementError(409, "E_NO_PRICE_PLAN", _("This product has no price plan yet."))
    with transaction.atomic():
        Organization.unscoped.select_for_update().filter(pk=dealer.pk).first()  # one purchase per dealer at a time
        if framework_terms(dealer, today) is None:
            raise EntitlementError(409, "E_NO_FRAMEWORK_CONTRACT", _(
                "Buying entitlements needs a countersigned framework contract in force."))
        units = units_of(dealer) + quantity
        discount = discount_percent(dealer, units, today)
        commitment = _money(quantity * plan.base_fee * plan.term_months * (Decimal(100) - discount) / Decimal(100))
        limit = credit_limit(dealer, today)
        current = exposure(dealer)
        if current + commitment > limit:
            raise EntitlementError(409, "E_CREDIT_LIMIT_EXCEEDED", _(
                "The purchase (%(amount)s EUR) exceeds the credit limit: %(current)s EUR of %(limit)s EUR are "
                "committed already.") % {"amount": commitment, "current": current, "limit": limit})
        order = EntitlementOrder.unscoped.create(
            dealer=dealer, product=product, plan=plan, quantity=quantity, list_unit_price=plan.base_fee,
            discount_percent=discount, commitment=commitment, created_by=_user(actor))
        Entitlement.unscoped.bulk_create([Entitlement(dealer=dealer, order=order, product=product)
                                          for _i in range(quantity)])
        log_action("tenants.entitlements.purchased", actor, dealer, order, {
            "order": str(order.public_id), "product": product.code, "plan": str(plan.public_id),
            "quantity": quantity, "list_unit_price": str(plan.base_fee), "discount_percent": str(discount),
            "commitment": str(commitment), "exposure_after": str(current + commitment), "credit_limit": str(limit),
        })
    return order


def _user(actor):
    user = getattr(actor, "user", None)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- assign, activate ---------------------------------------------------------------------------


def _assign_locked(actor, entitlement: Entitlement, operator: Organization, outlet) -> None:
    if not (_is_member(actor, entitlement.dealer_id) and _can_manage(actor, entitlement.dealer_id)):
        raise EntitlementError(403, "E_PERMISSION_DENIED", _("Only the dealer that bought it can transfer it."))
    if entitlement.state != EntitlementState.STOCK:
        raise _state_error(_("Only entitlements in stock can be transferred."))
    _require_right(operator.pk, entitlement.dealer_id)
    _open_outlet(operator.pk, outlet)
    entitlement.state = EntitlementState.ASSIGNED
    entitlement.operator = operator
    entitlement.outlet = outlet
    entitlement.assigned_at = timezone.now()
    entitlement.save(update_fields=["state", "operator", "outlet", "assigned_at"])
    _log("tenants.entitlements.assigned", actor, entitlement, _data(
        entitlement, operator=str(operator.public_id), outlet=str(outlet.public_id)))


def assign(*, actor, entitlement: Entitlement, operator: Organization, outlet) -> Entitlement:
    """Transfer a stock entitlement to an open outlet of an operator that granted the dealer ``entitlements``."""
    with transaction.atomic():
        locked = _lock(entitlement)
        _assign_locked(actor, locked, operator, outlet)
    return locked


def _billed_to_dealer(actor, entitlement: Entitlement) -> bool:
    """True when the actor acts for the dealer, False for the operator; refuses everyone else."""
    if _acts_for_dealer(actor, entitlement):
        _require_right(entitlement.operator_id, entitlement.dealer_id)
        return True
    if actor is not None and actor.can(entitlement.operator_id, "manage_entitlements"):
        return False
    if actor is not None and actor.is_partner_of(entitlement.operator_id):
        raise EntitlementError(403, "E_RIGHT_MISSING", _(
            "The operator has not granted your organization the right to manage entitlements."))
    raise EntitlementError(403, "E_PERMISSION_DENIED", _("You may not activate this entitlement."))


def activate(*, actor, entitlement: Entitlement, signing_unit=None, outlet=None) -> Entitlement:
    """Activate an assigned entitlement (a stock one is transferred first, in the same step) for a signing
    unit of the operator (signing-unit products) or for its outlet (other products)."""
    from tse.models import SigningUnit, SigningUnitState

    with transaction.atomic():
        locked = _lock(entitlement)
        if locked.state == EntitlementState.STOCK:
            operator_id = signing_unit.organization_id if signing_unit is not None else getattr(
                outlet, "organization_id", None)
            if operator_id is None:
                raise EntitlementError(400, "E_OUTLET_REQUIRED", _("Choose an outlet of the operator."))
            target_outlet = outlet or (signing_unit.outlet if signing_unit is not None else None)
            _assign_locked(actor, locked, Organization.unscoped.get(pk=operator_id), target_outlet)
        elif locked.state != EntitlementState.ASSIGNED:
            raise _state_error(_("Only transferred entitlements can be activated."))
        by_dealer = _billed_to_dealer(actor, locked)
        target = {}
        if locked.product.kind == ProductKind.SIGNING_UNIT:
            if signing_unit is None:
                raise EntitlementError(400, "E_SIGNING_UNIT_REQUIRED", _("Choose a signing unit of the operator."))
            unit = SigningUnit.unscoped.select_for_update().filter(pk=signing_unit.pk).first()
            if unit is None or unit.organization_id != locked.operator_id:
                raise EntitlementError(404, "E_SIGNING_UNIT_NOT_FOUND", _(
                    "The signing unit does not exist at this operator."))
            if unit.state == SigningUnitState.DISABLED:
                raise EntitlementError(409, "E_SIGNING_UNIT_DISABLED", _("The signing unit is disabled."))
            if active_entitlement(unit) is not None:
                raise EntitlementError(409, "E_SIGNING_UNIT_LICENSED", _(
                    "The signing unit has an active entitlement already."))
            locked.signing_unit = unit
            target["signing_unit"] = str(unit.public_id)
        else:
            locked.outlet = _open_outlet(locked.operator_id, outlet or locked.outlet)
            target["outlet"] = str(locked.outlet.public_id)
        now = timezone.now()
        locked.state = EntitlementState.ACTIVE
        locked.activated_at = now
        locked.activated_by_dealer = by_dealer
        locked.term_start = timezone.localdate(now)
        locked.term_end = term_end_for(locked.term_start, locked.order.plan.term_months)
        try:
            with transaction.atomic():
                locked.save(update_fields=["state", "signing_unit", "outlet", "activated_at", "activated_by_dealer",
                                           "term_start", "term_end"])
        except IntegrityError:  # the one-active-per-unit constraint: another activation won
            raise EntitlementError(409, "E_SIGNING_UNIT_LICENSED", _(
                "The signing unit has an active entitlement already.")) from None
        _log("tenants.entitlements.activated", actor, locked, _data(
            locked, billed_to="dealer" if by_dealer else "operator", term_start=locked.term_start.isoformat(),
            term_end=locked.term_end.isoformat(), **target))
        if locked.signing_unit_id is not None:  # a unit's entitlement is part of the operator's configuration
            record_configuration_version(actor, locked.operator)
    return locked


# --- cancel, renew ------------------------------------------------------------------------------


def may_activate(actor, entitlement: Entitlement) -> bool:
    """Whether ``actor`` may activate the (assigned) entitlement: the dealer or the operator itself."""
    if entitlement.state != EntitlementState.ASSIGNED:
        return False
    if _acts_for_dealer(actor, entitlement):
        return _grant_exists(entitlement.operator_id, entitlement.dealer_id)
    return actor is None or actor.can(entitlement.operator_id, "manage_entitlements")


def may_cancel(actor, entitlement: Entitlement) -> bool:
    """Whether ``actor`` may cancel: an active, not cancelled subscription, and the actor acts for the billed party."""
    if entitlement.state != EntitlementState.ACTIVE or entitlement.cancelled_at is not None:
        return False
    if entitlement.activated_by_dealer:
        return _acts_for_dealer(actor, entitlement)
    return actor is None or actor.can(entitlement.operator_id, "manage_entitlements")


def cancel(*, actor, entitlement: Entitlement) -> Entitlement:
    """Cancel the subscription at the end of its term (irreversible); only the billed party may."""
    with transaction.atomic():
        locked = _lock(entitlement)
        if locked.state != EntitlementState.ACTIVE or locked.cancelled_at is not None:
            raise _state_error(_("Only active subscriptions that are not cancelled yet can be cancelled."))
        if not may_cancel(actor, locked):
            raise EntitlementError(403, "E_NOT_BILLED_PARTY", _(
                "Only the party that pays for the subscription can cancel it."))
        locked.cancelled_at = timezone.now()
        locked.auto_renew = False
        locked.save(update_fields=["cancelled_at", "auto_renew"])
        _log("tenants.entitlements.cancelled", actor, locked, _data(locked, effective=locked.term_end.isoformat()))
    return locked


def _start_of_day_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=BERLIN).astimezone(dt.UTC)


def renew_subscriptions(today: dt.date | None = None) -> int:
    """Renew (or end) every active subscription whose term ended before ``today`` (Berlin); the count."""
    today = today or timezone.localdate()
    changed = 0
    due = Entitlement.unscoped.filter(state=EntitlementState.ACTIVE, term_end__lt=today).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            entitlement = _lock(Entitlement(pk=pk))
            if entitlement.state != EntitlementState.ACTIVE or entitlement.term_end >= today:
                continue
            if entitlement.auto_renew and entitlement.cancelled_at is None:
                months = entitlement.order.plan.term_months
                while entitlement.term_end < today:
                    entitlement.term_start = entitlement.term_end + dt.timedelta(days=1)
                    entitlement.term_end = term_end_for(entitlement.term_start, months)
                entitlement.save(update_fields=["term_start", "term_end"])
                _log("tenants.entitlements.renewed", None, entitlement, _data(
                    entitlement, term_start=entitlement.term_start.isoformat(),
                    term_end=entitlement.term_end.isoformat()))
            else:
                entitlement.state = EntitlementState.ENDED
                entitlement.ended_at = _start_of_day_utc(entitlement.term_end + dt.timedelta(days=1))
                entitlement.save(update_fields=["state", "ended_at"])
                _log("tenants.entitlements.ended", None, entitlement, _data(
                    entitlement, ended_at=entitlement.ended_at.isoformat()))
            changed += 1
    return changed
