"""Pages of the entitlements feature.

- **Shop** (``entitlements_shop``, dealers, members only — partners: 404; without an active dealer
  role: 403 page): catalogue with the dealer's discount, buying within the credit limit, the stock,
  assigned, active and expiring entitlements, and the two-step transfer: choose an operator that
  granted ``entitlements`` (GET ``?operator=``), then entitlement, outlet, signing unit — transfer
  only, or transfer and activate (the dealer is billed).
- **Operator page** (``entitlements``, ``view``: members and partners with a right): the operator's
  entitlements; activation of assigned ones (the operator itself, then billed; or a partner with
  ``entitlements``) and cancellation by the billed party (``manage_entitlements``).
"""

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms.entitlements import ActivateForm, AssignForm, BuyForm, OperatorForm
from tenants.models import Entitlement, EntitlementState, ProductKind
from tenants.services import entitlements as svc
from tenants.services.framework_contracts import credit_limit, framework_terms
from tenants.services.partners.common import has_active_role

__all__ = [
    "entitlement_activate_view",
    "entitlement_cancel_view",
    "entitlements_view",
    "shop_assign_view",
    "shop_buy_view",
    "shop_view",
]

RELATED = ("product", "dealer", "operator", "outlet", "signing_unit", "order")


def _require_member(request, organization) -> None:
    if organization.pk not in request.actor.member_roles:
        raise Http404  # the shop exists for the dealer's members only


def _role_inactive(request, organization):
    return render(request, "tenants/partners/role_inactive.html", {
        "organization": organization, "message": _("The shop needs an active dealer role."),
    }, status=403)


def _rows(queryset, actor):
    rows = list(queryset.select_related(*RELATED).order_by("term_end", "created_at", "pk"))
    for row in rows:
        row.can_cancel = svc.may_cancel(actor, row)
        row.can_activate = svc.may_activate(actor, row)
        row.is_signing_unit = row.product.kind == ProductKind.SIGNING_UNIT
    return rows


def _selected_operator(request, organization, value):
    operators = svc.operators_granting(organization)
    return operators, next((o for o in operators if str(o.public_id) == (value or "")), None)


def _render_shop(request, organization, *, buy_form=None, assign_form=None, operator_value=None, status=200):
    today = timezone.localdate()
    operators, operator = _selected_operator(request, organization, operator_value or request.GET.get("operator"))
    if operator is not None and assign_form is None:
        assign_form = AssignForm(dealer=organization, operator=operator)
    mine = Entitlement.objects.filter(dealer=organization)
    can_manage = request.actor.can(organization.pk, "manage_entitlements")
    return render(request, "tenants/entitlements/shop.html", {
        "organization": organization,
        "catalogue": svc.catalogue(organization, today),
        "contract": framework_terms(organization, today),
        "credit_limit": credit_limit(organization, today),
        "exposure": svc.exposure(organization),
        "can_manage": can_manage,
        "buy_form": (buy_form or BuyForm()) if can_manage else None,
        "operator_form": OperatorForm(initial={"operator": str(operator.public_id) if operator else ""},
                                      operators=operators) if can_manage else None,
        "operators": operators,
        "operator": operator,
        "assign_form": assign_form if can_manage else None,
        "stock": _rows(mine.filter(state=EntitlementState.STOCK), request.actor),
        "assigned": _rows(mine.filter(state=EntitlementState.ASSIGNED), request.actor),
        "active": _rows(mine.filter(state=EntitlementState.ACTIVE), request.actor),
        "expiring": _rows(svc.expiring(organization, today), request.actor),
        "expiring_days": svc.EXPIRING_DAYS,
    }, status=status)


def _shop_access(request, organization):
    _require_member(request, organization)
    return None if has_active_role(organization, "dealer") else _role_inactive(request, organization)


@organization_page("view_members")
def shop_view(request, organization):
    return _shop_access(request, organization) or _render_shop(request, organization)


@require_POST
@organization_page("manage_entitlements")
def shop_buy_view(request, organization):
    refused = _shop_access(request, organization)
    if refused:
        return refused
    form = BuyForm(request.POST)
    if not form.is_valid():
        return _render_shop(request, organization, buy_form=form, status=400)
    try:
        order = svc.purchase(actor=request.actor, dealer=organization, product=form.cleaned_data["product"],
                             quantity=form.cleaned_data["quantity"])
    except svc.EntitlementError as exc:
        form.add_error(None, exc.message)
        return _render_shop(request, organization, buy_form=form, status=exc.status)
    messages.success(request, _("You bought {quantity} × {product} ({amount} EUR committed).").format(
        quantity=order.quantity, product=order.product.name, amount=order.commitment))
    return redirect("entitlements_shop", org_id=organization.public_id)


@require_POST
@organization_page("manage_entitlements")
def shop_assign_view(request, organization):
    refused = _shop_access(request, organization)
    if refused:
        return refused
    _operators, operator = _selected_operator(request, organization, request.POST.get("operator"))
    if operator is None:
        messages.error(request, _("Choose an operator that granted you the right to manage entitlements."))
        return redirect("entitlements_shop", org_id=organization.public_id)
    form = AssignForm(request.POST, dealer=organization, operator=operator)
    operator_value = str(operator.public_id)
    if not form.is_valid():
        return _render_shop(request, organization, assign_form=form, operator_value=operator_value, status=400)
    data = form.cleaned_data
    try:
        if data["activate"]:
            svc.activate(actor=request.actor, entitlement=data["entitlement"], signing_unit=data["signing_unit"],
                         outlet=data["outlet"])
            messages.success(request, _("The entitlement was transferred to {operator} and activated.").format(
                operator=operator.name))
        else:
            svc.assign(actor=request.actor, entitlement=data["entitlement"], operator=operator, outlet=data["outlet"])
            messages.success(request, _("The entitlement was transferred to {operator}.").format(
                operator=operator.name))
    except svc.EntitlementError as exc:
        form.add_error(None, exc.message)
        return _render_shop(request, organization, assign_form=form, operator_value=operator_value,
                            status=exc.status)
    return redirect("entitlements_shop", org_id=organization.public_id)


# --- the operator's page ------------------------------------------------------------------------


@organization_page("view")
def entitlements_view(request, organization):
    rows = _rows(Entitlement.objects.filter(operator=organization).exclude(state=EntitlementState.ENDED),
                 request.actor)
    activate_form = None
    if any(row.can_activate for row in rows):
        activate_form = ActivateForm(operator=organization)
    return render(request, "tenants/entitlements/operator.html", {
        "organization": organization,
        "rows": rows,
        "ended": _rows(Entitlement.objects.filter(operator=organization, state=EntitlementState.ENDED),
                       request.actor),
        "activate_form": activate_form,
        "is_member": organization.pk in request.actor.member_roles,
    })


@require_POST
@organization_page("manage_entitlements")
def entitlement_activate_view(request, organization, entitlement_id):
    entitlement = get_object_or_404(Entitlement.objects.filter(operator=organization), public_id=entitlement_id)
    form = ActivateForm(request.POST, operator=organization)
    if not form.is_valid():
        messages.error(request, _("Choose a signing unit or outlet of this organization."))
    else:
        try:
            svc.activate(actor=request.actor, entitlement=entitlement, signing_unit=form.cleaned_data["signing_unit"],
                         outlet=form.cleaned_data["outlet"])
        except svc.EntitlementError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The entitlement is active."))
    return redirect("entitlements", org_id=organization.public_id)


@require_POST
@organization_page("manage_entitlements")
def entitlement_cancel_view(request, organization, entitlement_id):
    entitlement = get_object_or_404(
        Entitlement.objects.filter(Q(dealer=organization) | Q(operator=organization)), public_id=entitlement_id)
    try:
        cancelled = svc.cancel(actor=request.actor, entitlement=entitlement)
    except svc.EntitlementError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The subscription is cancelled; it ends on {date}.").format(
            date=cancelled.term_end.strftime("%d.%m.%Y")))
    back = "entitlements_shop" if entitlement.dealer_id == organization.pk else "entitlements"
    return redirect(back, org_id=organization.public_id)
