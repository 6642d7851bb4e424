"""Signing units (TSE) of an operator: overview, create a software TSE, detail with POS clients,
initialize, disable (TAR export jobs: ``tse.views.exports``).

Reading (and exporting, which changes nothing) needs ``view``; every change needs ``configure``
(403 for a viewer or a dealer with ``read`` only). Other organizations' units do not exist (404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.models import RoleKind
from tse.backends.base import TseError
from tse.forms import ClientForm, DisableForm, ExportForm
from tse.models import BackendType, Outage, SigningUnit, SigningUnitState, TseClient
from tse.services.monitoring import signing_unit_notices
from tse.services.protocol import register_client, signing_units_overview
from tse.services.signing_units import disable_signing_unit, initialize_signing_unit
from tse.services.tar_jobs import unit_exports

OUTAGES_SHOWN = 10

__all__ = [
    "signing_unit_client_view",
    "signing_unit_disable_view",
    "signing_unit_initialize_view",
    "signing_unit_view",
    "signing_units_view",
]

def _can_configure(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure")


def require_operator(organization) -> None:
    """TSE pages exist only for organizations with the operator role."""
    if not any(role.kind == RoleKind.OPERATOR for role in organization.roles.all()):
        raise Http404


def _unit(organization, signing_unit_id) -> SigningUnit:
    return get_object_or_404(SigningUnit.objects.filter(organization=organization), public_id=signing_unit_id)


def _to_detail(organization, unit):
    return redirect("tse_detail", org_id=organization.public_id, signing_unit_id=unit.public_id)


@organization_page("view")
def signing_units_view(request, organization):
    require_operator(organization)
    can_configure = _can_configure(request, organization)
    if request.method == "POST" and not can_configure:
        raise PermissionDenied
    create_forms = {}
    if can_configure:  # create forms per backend (software, fiskaly, LAN): tse.views.connections
        from tse.views.connections import create_unit_forms  # that module imports this one

        create_forms, created = create_unit_forms(request, organization)
        if created is not None:
            return created
    return render(request, "tse/signing_units.html", {
        "organization": organization,
        "units": signing_units_overview(organization),
        "can_configure": can_configure,
        "create_forms": create_forms,
        "backend_types": BackendType,
        "states": SigningUnitState,
    })


def _render_detail(request, organization, unit, *, client_form=None, disable_form=None, export_form=None,
                   lan_form=None, status=200):
    from tse.views.connections import lan_connection_context  # that module imports this one

    can_configure = _can_configure(request, organization)
    unit = signing_units_overview(organization).get(pk=unit.pk)
    active = unit.state == SigningUnitState.INITIALIZED
    return render(request, "tse/signing_unit.html", {
        "organization": organization,
        "unit": unit,
        "clients": TseClient.objects.filter(signing_unit=unit).order_by("client_id"),
        "can_configure": can_configure,
        "client_form": (client_form or ClientForm()) if can_configure and active else None,
        "disable_form": (disable_form or DisableForm()) if can_configure and active else None,
        "export_form": export_form or ExportForm(signing_unit=unit),
        "exports": unit_exports(unit),
        "notices": signing_unit_notices(unit),
        "outages": Outage.objects.filter(signing_unit=unit).order_by("-started_at", "-pk")[:OUTAGES_SHOWN],
        "backend_types": BackendType,
        "states": SigningUnitState,
        **lan_connection_context(request, organization, unit, lan_form),
    }, status=status)


@organization_page("view")
def signing_unit_view(request, organization, signing_unit_id):
    require_operator(organization)
    return _render_detail(request, organization, _unit(organization, signing_unit_id))


@require_POST
@organization_page("configure")
def signing_unit_initialize_view(request, organization, signing_unit_id):
    require_operator(organization)
    unit = _unit(organization, signing_unit_id)
    try:
        initialize_signing_unit(actor=request.actor, signing_unit=unit)
    except TseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The TSE is initialized and its time is set."))
    return _to_detail(organization, unit)


@require_POST
@organization_page("configure")
def signing_unit_disable_view(request, organization, signing_unit_id):
    require_operator(organization)
    unit = _unit(organization, signing_unit_id)
    form = DisableForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, organization, unit, disable_form=form, status=400)
    try:
        disable_signing_unit(actor=request.actor, signing_unit=unit)
    except TseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The TSE is disabled for good. Its exports remain available."))
    return _to_detail(organization, unit)


@require_POST
@organization_page("configure")
def signing_unit_client_view(request, organization, signing_unit_id):
    require_operator(organization)
    unit = _unit(organization, signing_unit_id)
    form = ClientForm(request.POST)
    if form.is_valid():
        client_id = form.cleaned_data["client_id"]
        try:
            register_client(actor=request.actor, signing_unit=unit, client_id=client_id)
        except TseError as exc:
            form.add_error("client_id", exc.message)
        else:
            messages.success(request, _("The POS {client_id} is registered.").format(client_id=client_id))
            return _to_detail(organization, unit)
    return _render_detail(request, organization, unit, client_form=form, status=400)
