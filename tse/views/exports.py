"""TAR export jobs on the TSE detail page: start one, poll a running row (htmx), download the archive.

Exporting changes nothing in the fiscal data, so ``view`` suffices (as for a Kassen-Nachschau);
other organizations' units and exports do not exist (404).
"""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.views.base import organization_page
from tse.backends.base import TseError
from tse.forms import ExportForm
from tse.models import ExportState, TarExport
from tse.services.protocol import export_file_name
from tse.services.tar_jobs import open_export_file, request_export
from tse.views import signing_units

__all__ = ["SHA256_HEADER", "export_download_view", "export_row_view", "export_start_view"]

SHA256_HEADER = "X-Content-SHA256"


def _export(organization, signing_unit_id, export_id) -> TarExport:
    unit = signing_units._unit(organization, signing_unit_id)
    return get_object_or_404(TarExport.objects.filter(organization=organization, signing_unit=unit)
                             .select_related("requested_by", "signing_unit"), public_id=export_id)


@require_POST
@organization_page("view")
def export_start_view(request, organization, signing_unit_id):
    """Start a TAR export job with the form's filters; back to the detail page where it shows up."""
    signing_units.require_operator(organization)
    unit = signing_units._unit(organization, signing_unit_id)
    form = ExportForm(request.POST, signing_unit=unit)
    if form.is_valid():
        try:
            request_export(actor=request.actor, signing_unit=unit, **form.export_filters())
        except TseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The export was started. It can be downloaded below once it is completed."))
            return signing_units._to_detail(organization, unit)
    return signing_units._render_detail(request, organization, unit, export_form=form, status=400)


@require_GET
@organization_page("view")
def export_row_view(request, organization, signing_unit_id, export_id):
    """One row of the export list (polled by htmx while the export is unfinished)."""
    signing_units.require_operator(organization)
    export = _export(organization, signing_unit_id, export_id)
    return render(request, "tse/partials/exports.html", {
        "organization": organization, "unit": export.signing_unit, "export": export, "row_only": True,
        "states": ExportState,
    })


@require_GET
@organization_page("view")
def export_download_view(request, organization, signing_unit_id, export_id):
    """The stored archive as an attachment, with its SHA-256 in ``X-Content-SHA256``."""
    signing_units.require_operator(organization)
    export = _export(organization, signing_unit_id, export_id)
    try:
        fileobj = open_export_file(export)
    except TseError:
        raise Http404 from None
    when = export.started_at or export.created_at
    response = FileResponse(fileobj, as_attachment=True, filename=export_file_name(export.signing_unit, when),
                            content_type="application/x-tar")
    response[SHA256_HEADER] = export.sha256
    response["Content-Length"] = str(export.size)
    return response
