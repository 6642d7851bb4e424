"""Signing units (TSE) of an operator: overview, create a software TSE, detail with POS clients,
initialize, disable, TAR export download.

Reading (and exporting, which changes nothing) needs ``view``; every change needs ``configure``
(403 for a viewer or a dealer with ``read`` only). Other organizations' units do not exist (404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.models import RoleKind
from tse.backends.base import TseError
from tse.forms import ClientForm, DisableForm, ExportForm, SoftwareTseForm
from tse.models import BackendType, SigningUnit, SigningUnitState, TseClient
from tse.services.protocol import export_file_name, export_tar_to_file, register_client, signing_units_overview
from tse.services.signing_units import create_signing_unit, disable_signing_unit, initialize_signing_unit

__all__ = [
    "signing_unit_client_view",
    "signing_unit_disable_view",
    "signing_unit_export_view",
    "signing_unit_initialize_view",
    "signing_unit_view",
    "signing_units_view",
]

SHA256_HEADER = "X-Content-SHA256"


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
    form = SoftwareTseForm() if can_configure else None
    if request.method == "POST":
        if not can_configure:
            raise PermissionDenied
        form = SoftwareTseForm(request.POST)
        if form.is_valid():
            try:
                unit = create_signing_unit(actor=request.actor, organization=organization,
                                           backend=BackendType.SOFTWARE, curve=form.cleaned_data["curve"],
                                           description=form.cleaned_data["description"])
            except TseError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The software TSE was created. Initialize it to start signing."))
                return _to_detail(organization, unit)
    return render(request, "tse/signing_units.html", {
        "organization": organization,
        "units": signing_units_overview(organization),
        "can_configure": can_configure,
        "form": form,
        "backend_types": BackendType,
        "states": SigningUnitState,
    })


def _render_detail(request, organization, unit, *, client_form=None, disable_form=None, export_form=None,
                   status=200):
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
        "export_form": export_form or ExportForm(),
        "backend_types": BackendType,
        "states": SigningUnitState,
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


@require_POST
@organization_page("view")
def signing_unit_export_view(request, organization, signing_unit_id):
    """Export now: the TAR export as a download (read-only, so ``view`` suffices — as in a Kassen-Nachschau)."""
    require_operator(organization)
    unit = _unit(organization, signing_unit_id)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, organization, unit, export_form=form, status=400)
    fileobj, result, export_time = export_tar_to_file(unit, time_from=form.cleaned_data["time_from"],
                                                      time_to=form.cleaned_data["time_to"])
    response = FileResponse(fileobj, as_attachment=True, filename=export_file_name(unit, export_time),
                            content_type="application/x-tar")
    response[SHA256_HEADER] = result.sha256
    response["Content-Length"] = str(result.size)
    return response
