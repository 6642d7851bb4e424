"""Pages of the configuration feature: an operator's fiscal set-up as one tree, its versions and JSON import/export.

- **Tree** (``configuration``, ``view``: members and partners the operator granted a right):
  Betriebsstätten → outlets → signing units (backend, state, health, serial number, entitlement) →
  POS clients → cash registers (POS system and version, currency); outlets without Betriebsstätte
  and units without outlet in groups of their own. Edit links to the pages of each object and the
  import button for callers with ``configure``. A constant number of queries, whatever the size.
- **History** (``configuration_history``) and one **version** (``configuration_version``): who
  (user or API key, and the dealer acting for the operator), when (Berlin time), how (by hand,
  rollout job, import, API) and the changes against the previous version, or ``?against=<n>``
  against any other one.
- **Export** (``configuration_export``, ``?version=<n>``): the document as a JSON download.
- **Import** (``configuration_import``, ``configure``): upload → plan (dry run) with the errors by
  path → confirmation → applied as one transaction (source ``import``) → the new version. The plan
  is made again when the configuration changed between preview and confirmation.
"""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portal.views.base import organization_page
from tenants.forms.configuration import ConfirmImportForm, ImportForm
from tenants.models import (
    Betriebsstaette,
    ConfigurationSource,
    ConfigurationVersion,
    Entitlement,
    EntitlementState,
    Outlet,
)
from tenants.services.configuration.apply import apply_configuration
from tenants.services.configuration.diff import diff_documents
from tenants.services.configuration.document import digest, snapshot
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.versions import latest_version
from tse.models import BackendType, SigningUnit, SigningUnitState, TseClient

__all__ = [
    "configuration_export_view",
    "configuration_history_view",
    "configuration_import_view",
    "configuration_version_view",
    "configuration_view",
    "export_filename",
    "version_rows",
]

HISTORY_PAGE_SIZE = 50
VERSION_RELATED = ("actor_user", "actor_api_key", "acting_organization", "rollout_job__organization")


# --- tree ---------------------------------------------------------------------------------------


def _tree(organization) -> dict:
    """The operator's rows, grouped for the tree (five queries)."""
    premises = list(Betriebsstaette.objects.filter(organization=organization).order_by("name", "pk"))
    outlets = list(Outlet.objects.filter(organization=organization).order_by("number", "pk"))
    clients = TseClient.objects.order_by("client_id", "pk").select_related(
        "cash_register__pos_system_version__pos_system", "cash_register__outlet")
    active = Entitlement.objects.filter(state=EntitlementState.ACTIVE).select_related("product").order_by("pk")
    units = list(SigningUnit.objects.filter(organization=organization).order_by("reference", "created_at", "pk")
                 .prefetch_related(Prefetch("clients", queryset=clients, to_attr="tree_clients"),
                                   Prefetch("entitlements", queryset=active, to_attr="active_entitlements")))
    units_of: dict[int | None, list] = {}
    for unit in units:
        unit.entitlement = unit.active_entitlements[0] if unit.active_entitlements else None
        units_of.setdefault(unit.outlet_id, []).append(unit)
    outlets_of: dict[int | None, list] = {}
    for outlet in outlets:
        outlet.units = units_of.get(outlet.pk, [])
        outlets_of.setdefault(outlet.betriebsstaette_id, []).append(outlet)
    for betriebsstaette in premises:
        betriebsstaette.tree_outlets = outlets_of.get(betriebsstaette.pk, [])
    return {
        "premises": premises,
        "unassigned_outlets": outlets_of.get(None, []),
        "unassigned_units": units_of.get(None, []),
        "counts": {
            "betriebsstaetten": len(premises),
            "outlets": len(outlets),
            "signing_units": len(units),
            "clients": sum(len(unit.tree_clients) for unit in units),
        },
    }


@organization_page("view")
def configuration_view(request, organization):
    latest = ConfigurationVersion.objects.filter(organization=organization).select_related(
        *VERSION_RELATED).order_by("-number").first()
    return render(request, "tenants/configuration/tree.html", {
        "organization": organization,
        **_tree(organization),
        "latest": latest,
        "can_configure": request.actor.can(organization.pk, "configure"),
        "states": SigningUnitState,
        "backend_types": BackendType,
    })


# --- history and versions -----------------------------------------------------------------------


def _job_visible(request, version) -> bool:
    job = version.rollout_job
    return job is not None and job.organization_id in request.actor.member_roles


def _decorate(request, versions):
    for version in versions:
        version.job_visible = _job_visible(request, version)
        version.change_count = len(version.changes or [])
    return versions


@organization_page("view")
def configuration_history_view(request, organization):
    queryset = ConfigurationVersion.objects.filter(organization=organization).select_related(
        *VERSION_RELATED).defer("document").order_by("-number")
    page = Paginator(queryset, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tenants/configuration/history.html", {
        "organization": organization,
        "page": page,
        "versions": _decorate(request, list(page.object_list)),
        "sources": ConfigurationSource,
    })


def _display(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def version_rows(changes: list[dict]) -> list[dict]:
    """The diff entries with their old and new values as text, for the diff table."""
    return [{**change, "old_display": _display(change.get("old")), "new_display": _display(change.get("new")),
             "is_object": isinstance(change.get("old"), dict | list) or isinstance(change.get("new"), dict | list)}
            for change in changes]


def _version_or_404(organization, number):
    return get_object_or_404(ConfigurationVersion.objects.filter(organization=organization).select_related(
        *VERSION_RELATED), number=number)


def _against_number(request) -> int | None:
    value = request.GET.get("against", "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Http404 from None


@organization_page("view")
def configuration_version_view(request, organization, number):
    version = _version_or_404(organization, number)
    against_number = _against_number(request)
    against = None
    if against_number is not None:
        against = _version_or_404(organization, against_number)
        changes = diff_documents(against.document, version.document)
    else:
        changes = version.changes or []
    previous = (ConfigurationVersion.objects.filter(organization=organization, number__lt=version.number)
                .order_by("-number").values_list("number", flat=True).first())
    latest_number = (ConfigurationVersion.objects.filter(organization=organization).order_by("-number")
                     .values_list("number", flat=True).first())
    version.job_visible = _job_visible(request, version)
    return render(request, "tenants/configuration/version.html", {
        "organization": organization,
        "version": version,
        "against": against,
        "rows": version_rows(changes),
        "latest_number": latest_number,
        "previous_number": previous,
    })


# --- export -------------------------------------------------------------------------------------


def export_filename(organization, number: int) -> str:
    name = slugify(organization.name) or str(organization.public_id)
    return f"configuration-{name}-v{number}.json"


def _json_download(document: dict, filename: str) -> HttpResponse:
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@organization_page("view")
def configuration_export_view(request, organization):
    value = request.GET.get("version", "").strip()
    if value:
        try:
            number = int(value)
        except ValueError:
            raise Http404 from None
        version = _version_or_404(organization, number)
        return _json_download(version.document, export_filename(organization, version.number))
    document = snapshot(organization)
    latest = latest_version(organization)
    return _json_download(document, export_filename(organization, latest.number if latest is not None else 0))


# --- import -------------------------------------------------------------------------------------


def _render_import(request, organization, *, form=None, confirm_form=None, plan=None, errors=None, error=None,
                   stale=False, status=200):
    return render(request, "tenants/configuration/import.html", {
        "organization": organization,
        "form": form if form is not None else ImportForm(),
        "confirm_form": confirm_form,
        "plan": plan,
        "errors": errors or [],
        "error": error,
        "stale": stale,
    }, status=status)


def _preview(request, organization, document: dict, summary: str, *, stale=False):
    """Plan ``document`` (dry run) and show it with the confirmation form, or the errors by path."""
    base = digest(snapshot(organization))
    try:
        result = apply_configuration(request.actor, organization, document, dry_run=True,
                                     source=ConfigurationSource.IMPORT, summary=summary)
    except ConfigurationError as exc:
        return _render_import(request, organization, form=ImportForm(initial={"summary": summary}),
                              errors=exc.errors, error=exc.message, status=exc.status)
    confirm_form = ConfirmImportForm(initial={
        "document": json.dumps(document, ensure_ascii=False), "base_digest": base, "summary": summary})
    return _render_import(request, organization, confirm_form=confirm_form if result.plan else None,
                          plan=result.plan, stale=stale, status=409 if stale else 200)


@organization_page("configure")
def configuration_import_view(request, organization):
    if request.method != "POST":
        return _render_import(request, organization)
    if "confirm" not in request.POST:
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return _render_import(request, organization, form=form, status=400)
        return _preview(request, organization, form.document, form.cleaned_data["summary"])
    confirm = ConfirmImportForm(request.POST)
    if not confirm.is_valid():
        messages.error(request, _("The confirmation did not carry a configuration document; upload it again."))
        return redirect("configuration_import", org_id=organization.public_id)
    document, summary = confirm.parsed, confirm.cleaned_data["summary"]
    base = confirm.cleaned_data["base_digest"]
    if base and base != digest(snapshot(organization)):
        return _preview(request, organization, document, summary, stale=True)
    try:
        result = apply_configuration(request.actor, organization, document, dry_run=False,
                                     source=ConfigurationSource.IMPORT, summary=summary)
    except ConfigurationError as exc:
        return _render_import(request, organization, form=ImportForm(initial={"summary": summary}),
                              errors=exc.errors, error=exc.message, status=exc.status)
    if result.version is None:
        messages.info(request, _("The configuration already matches the document; nothing was changed."))
        return redirect("configuration", org_id=organization.public_id)
    messages.success(request, _("The configuration was imported as version {number}.").format(
        number=result.version.number))
    return redirect("configuration_version", org_id=organization.public_id, number=result.version.number)
