"""Pages of the premises feature: Betriebsstätten and outlets of an organization, the data check.

Reading needs ``view_master_data`` (members, dealers with ``read`` or ``configure``); every change
needs ``configure`` (403 for a viewer or a dealer with ``read`` only). Other organizations' pages
do not exist (404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms.premises import BetriebsstaetteForm, CloseForm, OutletForm, add_service_errors
from tenants.models import Betriebsstaette, Outlet
from tenants.services.premises import (
    BETRIEBSSTAETTE_FIELDS,
    PremisesError,
    check_master_data,
    close_betriebsstaette,
    close_outlet,
    create_betriebsstaette,
    create_outlet,
    update_betriebsstaette,
    update_outlet,
)

__all__ = [
    "betriebsstaette_close_view",
    "betriebsstaette_view",
    "data_check_view",
    "outlet_close_view",
    "outlet_view",
    "premises_view",
]

OUTLET_FORM_FIELDS = ("name", "betriebsstaette", "street", "house_number", "postal_code", "city", "country")


def _can_configure(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure")


def _require_configure(request, organization) -> None:
    if not _can_configure(request, organization):
        raise PermissionDenied


def _run(form, call):
    """Run a service call; its refusals become form errors. Returns the result or None."""
    try:
        return call()
    except PremisesError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    except ValidationError as exc:
        add_service_errors(form, exc)
    return None


# --- overview -------------------------------------------------------------------------------


@organization_page("view_master_data")
def premises_view(request, organization):
    can_configure = _can_configure(request, organization)
    betriebsstaette_form = outlet_form = None
    if can_configure:
        betriebsstaette_form = BetriebsstaetteForm(prefix="betriebsstaette")
        outlet_form = OutletForm(prefix="outlet", organization=organization)
    if request.method == "POST":
        _require_configure(request, organization)
        kind = request.POST.get("create")
        if kind == "betriebsstaette":
            betriebsstaette_form = BetriebsstaetteForm(request.POST, prefix="betriebsstaette")
            if betriebsstaette_form.is_valid():
                data = {k: betriebsstaette_form.cleaned_data[k] for k in BETRIEBSSTAETTE_FIELDS}
                created = _run(betriebsstaette_form, lambda: create_betriebsstaette(
                    actor=request.actor, organization=organization, data=data))
                if created is not None:
                    messages.success(request, _("The Betriebsstätte {name} was created.").format(name=created.name))
                    return redirect("premises", org_id=organization.public_id)
        elif kind == "outlet":
            outlet_form = OutletForm(request.POST, prefix="outlet", organization=organization)
            if outlet_form.is_valid():
                data = {k: outlet_form.cleaned_data[k] for k in ("number", *OUTLET_FORM_FIELDS)}
                created = _run(outlet_form, lambda: create_outlet(
                    actor=request.actor, organization=organization, data=data))
                if created is not None:
                    messages.success(request, _("Outlet {number} ({name}) was created.").format(
                        number=created.number, name=created.name))
                    return redirect("premises", org_id=organization.public_id)
        else:
            messages.error(request, _("Unknown action."))
    outlets = Outlet.objects.filter(organization=organization).order_by("number", "pk")
    premises = Betriebsstaette.objects.filter(organization=organization).order_by(
        F("closed_on").asc(nulls_first=True), "name", "pk"
    ).prefetch_related(Prefetch("outlets", queryset=outlets))
    return render(request, "tenants/premises/premises.html", {
        "organization": organization,
        "premises": premises,
        "unassigned_outlets": outlets.filter(betriebsstaette__isnull=True),
        "check": check_master_data(organization),
        "can_configure": can_configure,
        "betriebsstaette_form": betriebsstaette_form,
        "outlet_form": outlet_form,
    })


@organization_page("view_master_data")
def data_check_view(request, organization):
    return render(request, "tenants/premises/data_check.html", {
        "organization": organization,
        "check": check_master_data(organization),
    })


# --- one Betriebsstätte ---------------------------------------------------------------------


def _betriebsstaette(organization, betriebsstaette_id):
    return get_object_or_404(Betriebsstaette.objects.filter(organization=organization), public_id=betriebsstaette_id)


def _render_betriebsstaette(request, organization, betriebsstaette, *, form=None, close_form=None):
    can_configure = _can_configure(request, organization)
    if can_configure:
        form = form or BetriebsstaetteForm(instance=betriebsstaette)
        if betriebsstaette.closed_on is None:
            close_form = close_form or CloseForm()
    return render(request, "tenants/premises/betriebsstaette.html", {
        "organization": organization,
        "betriebsstaette": betriebsstaette,
        "outlets": Outlet.objects.filter(organization=organization, betriebsstaette=betriebsstaette),
        "form": form if can_configure else None,
        "close_form": close_form if can_configure else None,
        "can_configure": can_configure,
    })


@organization_page("view_master_data")
def betriebsstaette_view(request, organization, betriebsstaette_id):
    betriebsstaette = _betriebsstaette(organization, betriebsstaette_id)
    if request.method != "POST":
        return _render_betriebsstaette(request, organization, betriebsstaette)
    _require_configure(request, organization)
    form = BetriebsstaetteForm(request.POST, instance=Betriebsstaette.unscoped.get(pk=betriebsstaette.pk))
    if form.is_valid():
        changes = {k: form.cleaned_data[k] for k in BETRIEBSSTAETTE_FIELDS}
        updated = _run(form, lambda: update_betriebsstaette(
            actor=request.actor, betriebsstaette=betriebsstaette, changes=changes))
        if updated is not None:
            messages.success(request, _("The Betriebsstätte {name} was saved.").format(name=updated.name))
            return redirect("premises_betriebsstaette", org_id=organization.public_id,
                            betriebsstaette_id=updated.public_id)
    return _render_betriebsstaette(request, organization, betriebsstaette, form=form)


@require_POST
@organization_page("configure")
def betriebsstaette_close_view(request, organization, betriebsstaette_id):
    betriebsstaette = _betriebsstaette(organization, betriebsstaette_id)
    form = CloseForm(request.POST)
    if form.is_valid():
        closed = _run(form, lambda: close_betriebsstaette(
            actor=request.actor, betriebsstaette=betriebsstaette, closed_on=form.cleaned_data["closed_on"]))
        if closed is not None:
            messages.success(request, _("The Betriebsstätte {name} is closed.").format(name=closed.name))
            return redirect("premises", org_id=organization.public_id)
    return _render_betriebsstaette(request, organization, betriebsstaette, close_form=form)


# --- one outlet -----------------------------------------------------------------------------


def _outlet(organization, outlet_id):
    return get_object_or_404(Outlet.objects.filter(organization=organization).select_related("betriebsstaette"),
                             public_id=outlet_id)


def _render_outlet(request, organization, outlet, *, form=None, close_form=None):
    can_configure = _can_configure(request, organization)
    if can_configure:
        form = form or OutletForm(instance=outlet, organization=organization)
        if outlet.closed_on is None:
            close_form = close_form or CloseForm()
    return render(request, "tenants/premises/outlet.html", {
        "organization": organization,
        "outlet": outlet,
        "form": form if can_configure else None,
        "close_form": close_form if can_configure else None,
        "can_configure": can_configure,
    })


@organization_page("view_master_data")
def outlet_view(request, organization, outlet_id):
    outlet = _outlet(organization, outlet_id)
    if request.method != "POST":
        return _render_outlet(request, organization, outlet)
    _require_configure(request, organization)
    form = OutletForm(request.POST, instance=Outlet.unscoped.get(pk=outlet.pk), organization=organization)
    if form.is_valid():
        changes = {k: form.cleaned_data[k] for k in OUTLET_FORM_FIELDS}
        updated = _run(form, lambda: update_outlet(actor=request.actor, outlet=outlet, changes=changes))
        if updated is not None:
            messages.success(request, _("Outlet {number} was saved.").format(number=updated.number))
            return redirect("premises_outlet", org_id=organization.public_id, outlet_id=updated.public_id)
    return _render_outlet(request, organization, outlet, form=form)


@require_POST
@organization_page("configure")
def outlet_close_view(request, organization, outlet_id):
    outlet = _outlet(organization, outlet_id)
    form = CloseForm(request.POST)
    if form.is_valid():
        closed = _run(form, lambda: close_outlet(actor=request.actor, outlet=outlet,
                                                 closed_on=form.cleaned_data["closed_on"]))
        if closed is not None:
            messages.success(request, _("Outlet {number} is closed.").format(number=closed.number))
            return redirect("premises", org_id=organization.public_id)
    return _render_outlet(request, organization, outlet, close_form=form)
