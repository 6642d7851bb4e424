"""Kassen-Nachschau pages: one form (Betriebsstätte + period, one button), the bundle with its progress, download.

Reading (page, bundle, progress, download) needs ``view``; starting a bundle needs ``configure``
(operator members with role member/admin/owner, a dealer granted ``configure``: others 403).
Organizations the caller does not see answer 404.
"""

from datetime import date

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from compliance.forms.nachschau import NachschauForm, period_shortcuts
from compliance.models import BundleState
from compliance.services.nachschau import (
    NachschauError,
    berlin_today,
    bundle_file_name,
    open_bundle_file,
    organization_bundles,
    record_download,
    request_bundle,
)
from portal.views.base import organization_page

__all__ = ["bundle_download_view", "bundle_progress_view", "bundle_view", "nachschau_view"]

SHA256_HEADER = "X-Content-SHA256"
LIST_SIZE = 50


def _initial_period(request, today: date) -> dict:
    initial = {}
    for name in ("date_from", "date_to"):
        try:
            initial[name] = date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            continue
    return initial


def _page(request, organization, form, status=200):
    today = berlin_today()
    return render(request, "compliance/nachschau/page.html", {
        "organization": organization, "form": form, "can_start": "configure" in request.capabilities,
        "shortcuts": period_shortcuts(today), "bundles": organization_bundles(organization)[:LIST_SIZE],
        "states": BundleState,
    }, status=status)


@organization_page("view")
def _show(request, organization):
    form = None
    if "configure" in request.capabilities:
        today = berlin_today()
        form = NachschauForm(organization=organization, today=today, initial=_initial_period(request, today))
    return _page(request, organization, form)


@organization_page("configure")
def _start(request, organization):
    form = NachschauForm(request.POST, organization=organization, today=berlin_today())
    if form.is_valid():
        data = form.cleaned_data
        try:
            bundle = request_bundle(request.actor, data["betriebsstaette"], data["date_from"], data["date_to"])
        except NachschauError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The Kassen-Nachschau bundle is being prepared."))
            return redirect("compliance_nachschau_bundle", org_id=organization.public_id, bundle_id=bundle.public_id)
    return _page(request, organization, form, status=400)


@require_http_methods(["GET", "POST"])
def nachschau_view(request, org_id):
    """The page: the form (for those who may start a bundle) and the earlier bundles."""
    if request.method == "POST":
        return _start(request, org_id)
    return _show(request, org_id)


def _bundle(organization, bundle_id):
    return get_object_or_404(organization_bundles(organization), public_id=bundle_id)


@require_GET
@organization_page("view")
def bundle_view(request, organization, bundle_id):
    """One bundle: period, state with the progress bar (polled while it works), contents, download."""
    return render(request, "compliance/nachschau/bundle.html", {
        "organization": organization, "bundle": _bundle(organization, bundle_id), "states": BundleState})


@require_GET
@organization_page("view")
def bundle_progress_view(request, organization, bundle_id):
    """The progress partial (htmx); it stops polling once the bundle is completed or failed."""
    return render(request, "compliance/nachschau/partials/progress.html", {
        "organization": organization, "bundle": _bundle(organization, bundle_id), "states": BundleState})


@require_GET
@organization_page("view")
def bundle_download_view(request, organization, bundle_id):
    """The stored ZIP as an attachment with ``X-Content-SHA256``; every download is audited."""
    bundle = _bundle(organization, bundle_id)
    try:
        fileobj = open_bundle_file(bundle)
    except NachschauError:
        raise Http404 from None
    record_download(request.actor, bundle)
    response = FileResponse(fileobj, as_attachment=True, filename=bundle_file_name(bundle),
                            content_type="application/zip")
    response[SHA256_HEADER] = bundle.sha256
    response["Content-Length"] = str(bundle.size)
    return response
