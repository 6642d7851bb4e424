"""Procedure documentation pages of an operator (GoBD Verfahrensdokumentation).

- ``compliance_procedure`` (``view``): the sections editor (for callers with ``configure``; the texts
  read-only otherwise) and the list of versions (number, date, who, note, SHA-256 of the PDF);
  POST saves the texts (``configure``: a dealer with ``read`` only gets 403).
- ``compliance_procedure_generate`` (POST, ``configure``): the next version from the current data.
- ``compliance_procedure_version`` (``view``): one version as stored — inside the portal, or with
  ``?standalone=1`` the self-contained HTML document for printing.
- ``compliance_procedure_pdf`` (``view``): the stored PDF, with ``X-Content-SHA256``.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.forms.procedure import GenerateProcedureForm, ProcedureSectionsForm
from compliance.services.procedure import (
    SECTIONS,
    ProcedureError,
    diff_versions,
    document_file_name,
    generate_document,
    open_pdf,
    organization_documents,
    save_sections,
    section_texts,
)
from portal.views.base import organization_page
from tenants.models import RoleKind

__all__ = ["procedure_generate_view", "procedure_pdf_view", "procedure_version_view", "procedure_view"]

SHA256_HEADER = "X-Content-SHA256"
PART_LABELS = {
    "format": gettext_lazy("document format"),
    "company": gettext_lazy("company master data"),
    "premises": gettext_lazy("Betriebsstätten and outlets"),
    "unassigned_outlets": gettext_lazy("Betriebsstätten and outlets"),
    "systems": gettext_lazy("recording systems"),
    "tses": gettext_lazy("TSEs"),
    "exports": gettext_lazy("exports and archives"),
    "outages": gettext_lazy("outage log"),
    "configuration": gettext_lazy("configuration history"),
    "notifications": gettext_lazy("notifications to the tax office"),
}


def _require_operator(organization) -> None:
    if not any(role.kind == RoleKind.OPERATOR for role in organization.roles.all()):
        raise Http404


def _can_configure(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure")


def _to_page(organization):
    return redirect("compliance_procedure", org_id=organization.public_id)


def _page(request, organization, *, form=None, generate_form=None, status=200):
    can_configure = _can_configure(request, organization)
    texts = section_texts(organization)
    if can_configure and form is None:
        form = ProcedureSectionsForm(initial=texts)
    documents = list(organization_documents(organization).defer("html", "content"))
    return render(request, "compliance/procedure/procedure.html", {
        "organization": organization,
        "can_configure": can_configure,
        "form": form,
        "generate_form": generate_form or GenerateProcedureForm(),
        "sections": [{"key": s.key, "title": s.title, "guidance": s.guidance, "text": texts[s.key]}
                     for s in SECTIONS],
        "documents": documents,
    }, status=status)


@require_http_methods(["GET", "POST"])
@organization_page("view")
def procedure_view(request, organization):
    _require_operator(organization)
    if request.method != "POST":
        return _page(request, organization)
    if not _can_configure(request, organization):
        raise PermissionDenied
    form = ProcedureSectionsForm(request.POST)
    if form.is_valid():
        try:
            save_sections(request.actor, organization, form.cleaned_data)
        except ProcedureError as exc:
            for key, message in exc.errors.items():
                form.add_error(key if key in form.fields else None, message)
            if not exc.errors:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("The texts were saved. They become part of the documentation with the next "
                                        "generated version."))
            return _to_page(organization)
    return _page(request, organization, form=form, status=400)


@require_POST
@organization_page("configure")
def procedure_generate_view(request, organization):
    _require_operator(organization)
    form = GenerateProcedureForm(request.POST)
    if not form.is_valid():
        return _page(request, organization, generate_form=form, status=400)
    try:
        document = generate_document(request.actor, organization, note=form.cleaned_data["note"])
    except ProcedureError as exc:
        if exc.code == "E_UNCHANGED":
            messages.info(request, exc.message)
            return _to_page(organization)
        form.add_error(None, exc.message)
        return _page(request, organization, generate_form=form, status=exc.status)
    messages.success(request, _("Version %(number)d of the procedure documentation was generated.")
                     % {"number": document.number})
    return redirect("compliance_procedure_version", org_id=organization.public_id, number=document.number)


def _document(organization, number):
    return get_object_or_404(organization_documents(organization), number=number)


@require_GET
@organization_page("view")
def procedure_version_view(request, organization, number):
    _require_operator(organization)
    document = _document(organization, number)
    if request.GET.get("standalone"):
        response = HttpResponse(document.html, content_type="text/html; charset=utf-8")
        response[SHA256_HEADER] = document.sha256
        return response
    previous = organization_documents(organization).filter(number__lt=number).first()
    parts = diff_versions(previous.content, document.content) if previous is not None else []
    titles = {f"sections.{s.key}": s.title for s in SECTIONS}
    changed = list(dict.fromkeys(str(titles.get(part) or PART_LABELS.get(part, part)) for part in parts))
    return render(request, "compliance/procedure/version.html", {
        "organization": organization,
        "document": document,
        "previous": previous,
        "changed": changed,
    })


@require_GET
@organization_page("view")
def procedure_pdf_view(request, organization, number):
    _require_operator(organization)
    document = _document(organization, number)
    try:
        fileobj = open_pdf(document)
    except ProcedureError:
        raise Http404 from None
    response = FileResponse(fileobj, as_attachment=request.GET.get("inline") is None,
                            filename=document_file_name(document), content_type="application/pdf")
    response[SHA256_HEADER] = document.sha256
    return response
