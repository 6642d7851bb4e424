"""The DSFinV-K export page of an operator: request an export or a Kassen-Nachschau, follow it, download it.

Reading and downloading needs ``view_master_data`` (members, partners with ``read``); requesting
needs ``view`` for members and the ``configure`` right for partners (a dealer with ``read`` only
may download but not request: 403). Organizations the caller does not see answer 404.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exports.models import CashRegister, DsfinvkExport, DsfinvkExportKind, DsfinvkExportState
from exports.services.export_jobs import (
    ExportRequestError,
    export_file_name,
    nachschau_range,
    open_export_file,
    organization_exports,
    request_export,
    validation_summary,
)
from portal.form_styling import BootstrapFormMixin
from portal.views.base import organization_page
from tenants.models import RoleKind

__all__ = ["DsfinvkExportForm", "export_download_view", "export_row_view", "exports_view", "nachschau_view",
           "organization_urlpatterns"]

READ = "view_master_data"
PAGE_SIZE = 25
SHA256_HEADER = "X-Content-SHA256"
VALIDATION_HEADER = "X-Validation-Passed"


class _RegisterChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.kasse_id} · {obj.outlet.name}"


class DsfinvkExportForm(BootstrapFormMixin, forms.Form):
    """Filters of an export: cash registers (none = all), Berlin days or a Z_NR range of one register."""

    cash_registers = _RegisterChoice(label=gettext_lazy("Cash registers (none chosen: all)"), required=False,
                                     queryset=CashRegister.objects.none())
    date_from = forms.DateField(label=gettext_lazy("From (day)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("Until (day, inclusive)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    z_nr_from = forms.IntegerField(label=gettext_lazy("From closing number (Z_NR)"), min_value=0, required=False)
    z_nr_to = forms.IntegerField(label=gettext_lazy("To closing number (Z_NR)"), min_value=0, required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cash_registers"].queryset = (CashRegister.objects.filter(organization=organization)
                                                  .select_related("client", "outlet")
                                                  .order_by("client__client_id", "pk"))

    def export_filters(self) -> dict:
        data = self.cleaned_data
        return {"cash_registers": list(data["cash_registers"]), "date_from": data["date_from"],
                "date_to": data["date_to"], "z_nr_from": data["z_nr_from"], "z_nr_to": data["z_nr_to"]}


def _require_operator(organization) -> None:
    if not any(role.kind == RoleKind.OPERATOR for role in organization.roles.all()):
        raise Http404


def _can_request(request, organization) -> bool:
    actor = request.actor
    if actor.is_partner_of(organization.pk):
        return actor.has_right(organization.pk, "configure")
    return actor.can(organization.pk, "view")


def _decorated(export: DsfinvkExport) -> DsfinvkExport:
    export.validation = validation_summary(export)
    return export


def _export(organization, export_id) -> DsfinvkExport:
    return _decorated(get_object_or_404(organization_exports(organization), public_id=export_id))


def _to_list(organization):
    return redirect("dsfinvk_exports", org_id=organization.public_id)


@require_http_methods(["GET", "POST"])
@organization_page(READ)
def exports_view(request, organization):
    """The export page: the request form, the Kassen-Nachschau button and the list of exports."""
    _require_operator(organization)
    can_request = _can_request(request, organization)
    form, status = None, 200
    if request.method == "POST":
        if not can_request:
            raise PermissionDenied
        form = DsfinvkExportForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                request_export(actor=request.actor, organization=organization, **form.export_filters())
            except ExportRequestError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The export was requested. It can be downloaded below once it is "
                                            "completed."))
                return _to_list(organization)
        status = 400
    if can_request and form is None:
        form = DsfinvkExportForm(organization=organization)
    page = Paginator(organization_exports(organization), PAGE_SIZE).get_page(request.GET.get("page"))
    nachschau_from, nachschau_to = nachschau_range()
    return render(request, "exports/exports.html", {
        "organization": organization, "form": form, "can_request": can_request, "page": page,
        "exports": [_decorated(export) for export in page], "states": DsfinvkExportState,
        "kinds": DsfinvkExportKind, "nachschau_from": nachschau_from, "nachschau_to": nachschau_to,
    }, status=status)


@require_POST
@organization_page(READ)
def nachschau_view(request, organization):
    """Kassen-Nachschau: export every cash register's closings of this and last calendar year, first in line."""
    _require_operator(organization)
    if not _can_request(request, organization):
        raise PermissionDenied
    try:
        request_export(actor=request.actor, organization=organization, kind=DsfinvkExportKind.NACHSCHAU)
    except ExportRequestError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The Kassen-Nachschau export was started before all other exports. It can be "
                                    "downloaded below in a moment."))
    return _to_list(organization)


@require_GET
@organization_page(READ)
def export_row_view(request, organization, export_id):
    """One export of the list (polled by htmx while it is PENDING or WORKING)."""
    _require_operator(organization)
    return render(request, "exports/partials/export_row.html", {
        "organization": organization, "export": _export(organization, export_id), "states": DsfinvkExportState,
        "kinds": DsfinvkExportKind,
    })


@require_GET
@organization_page(READ)
def export_download_view(request, organization, export_id):
    """The stored ZIP as an attachment, with ``X-Content-SHA256`` and ``X-Validation-Passed``."""
    _require_operator(organization)
    export = _export(organization, export_id)
    try:
        fileobj = open_export_file(export)
    except ExportRequestError:
        raise Http404 from None
    response = FileResponse(fileobj, as_attachment=True, filename=export_file_name(export),
                            content_type="application/zip")
    response[SHA256_HEADER] = export.sha256
    response[VALIDATION_HEADER] = "true" if export.validation_passed else "false"
    response["Content-Length"] = str(export.size)
    return response


organization_urlpatterns = [
    path("dsfinvk/exports/", exports_view, name="dsfinvk_exports"),
    path("dsfinvk/exports/nachschau/", nachschau_view, name="dsfinvk_export_nachschau"),
    path("dsfinvk/exports/<uuid:export_id>/", export_row_view, name="dsfinvk_export_row"),
    path("dsfinvk/exports/<uuid:export_id>/file/", export_download_view, name="dsfinvk_export_download"),
]
