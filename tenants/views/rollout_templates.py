"""Pages of rollout templates (creators and dealers, members only — partners acting in an account: 404).

- ``rollout_templates``: the organization's own templates and those shared with it, with owner and
  latest version (``?archived=1`` shows archived ones too).
- ``rollout_template_create``: name, description and the JSON document; invalid documents are shown
  again with the list of errors by path. Needs an active creator or dealer role (403 page otherwise).
- ``rollout_template``: versions (author, date, note), the variables of the latest version, the link
  to roll it out; the owner renames it (POST) and archives it (``rollout_template_archive``).
- ``rollout_template_version``: the document and the changes against the previous version (or
  ``?against=n``); ``rollout_template_version_create``: a new version, prefilled with the latest one.
- ``rollout_template_shares``: a creator shares the template with its dealers and stops sharing.

A template is found only when it belongs to the organization of the URL or is shared with it; the
scoped manager hides it from everybody else (404). Dealers it is shared with read it, changing
answers 403.
"""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.views.base import organization_page
from tenants.forms.rollout import ShareForm, TemplateForm, TemplateUpdateForm, VersionForm
from tenants.models import RoleKind, RolloutTemplate, RolloutTemplateShare, RolloutTemplateVersion
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.partners.common import has_active_role
from tenants.services.rollout import templates as svc

__all__ = [
    "rollout_template_archive_view",
    "rollout_template_create_view",
    "rollout_template_shares_view",
    "rollout_template_unshare_view",
    "rollout_template_version_create_view",
    "rollout_template_version_view",
    "rollout_template_view",
    "rollout_templates_view",
]


def _require_member(request, organization) -> None:
    if organization.pk not in request.actor.member_roles:
        raise Http404  # templates exist for members only


def _may_create(request, organization) -> bool:
    return request.actor.can(organization.pk, "configure") and (
        has_active_role(organization, RoleKind.CREATOR) or has_active_role(organization, RoleKind.DEALER))


def _latest_prefetch():
    versions = RolloutTemplateVersion.unscoped.select_related("created_by", "created_by_api_key")
    return Prefetch("versions", queryset=versions.order_by("-number")[:1], to_attr="latest")


def _get_template(request, organization, template_id) -> RolloutTemplate:
    _require_member(request, organization)
    template = (RolloutTemplate.objects.filter(public_id=template_id)
                .filter(Q(organization=organization) | Q(shares__dealer=organization)).distinct()
                .select_related("organization").prefetch_related(_latest_prefetch()).first())
    if template is None:
        raise Http404
    template.latest_version = template.latest[0] if template.latest else None
    template.is_own = template.organization_id == organization.pk
    return template


def _errors_of(exc: ConfigurationError) -> list[dict]:
    return exc.errors or [{"path": "", "code": exc.code, "message": exc.message}]


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else "–"


def _change_rows(changes: list[dict]) -> list[dict]:
    return [{**change, "old_text": _show(change.get("old")), "new_text": _show(change.get("new"))}
            for change in changes]


def _variables(version) -> list[dict]:
    variables = (version.document.get("variables") if version is not None else None) or {}
    return [{"name": name, "type": spec.get("type", ""), "has_default": "default" in spec,
             "default": _show(spec.get("default")), "pattern": spec.get("pattern", ""),
             "description": spec.get("description", "")}
            for name, spec in sorted(variables.items()) if isinstance(spec, dict)]


# --- list and create ----------------------------------------------------------------------------


@organization_page("view")
def rollout_templates_view(request, organization):
    _require_member(request, organization)
    archived = request.GET.get("archived") in ("1", "true")
    rows = RolloutTemplate.objects.filter(Q(organization=organization) | Q(shares__dealer=organization)).distinct()
    if not archived:
        rows = rows.filter(archived_at__isnull=True)
    templates = list(rows.select_related("organization").prefetch_related(_latest_prefetch()).order_by("name", "pk"))
    for template in templates:
        template.latest_version = template.latest[0] if template.latest else None
        template.is_own = template.organization_id == organization.pk
    return render(request, "tenants/rollout/templates/list.html", {
        "organization": organization, "templates": templates, "archived": archived,
        "may_create": _may_create(request, organization),
    })


def _render_create(request, organization, form, errors=(), status=200):
    return render(request, "tenants/rollout/templates/form.html", {
        "organization": organization, "form": form, "errors": errors, "template": None,
    }, status=status)


@organization_page("configure")
def rollout_template_create_view(request, organization):
    _require_member(request, organization)
    if not _may_create(request, organization):
        return render(request, "tenants/partners/role_inactive.html", {
            "organization": organization, "message": _("Rollout templates need an active POS creator or dealer role."),
        }, status=403)
    if request.method != "POST":
        return _render_create(request, organization, TemplateForm())
    form = TemplateForm(request.POST)
    if not form.is_valid():
        return _render_create(request, organization, form, status=400)
    data = form.cleaned_data
    try:
        template = svc.create_template(request.actor, organization, data["name"], data["description"],
                                       data["document"], data["note"])
    except ConfigurationError as exc:
        form.add_error(None, exc.message)
        return _render_create(request, organization, form, _errors_of(exc), status=exc.status)
    messages.success(request, _("The template “{name}” was created.").format(name=template.name))
    return redirect("rollout_template", org_id=organization.public_id, template_id=template.public_id)


# --- one template -------------------------------------------------------------------------------


def _render_detail(request, organization, template, *, update_form=None, status=200):
    may_change = template.is_own and svc.may_change(request.actor, template)
    versions = RolloutTemplateVersion.objects.filter(template=template).select_related(
        "created_by", "created_by_api_key").order_by("-number")
    if may_change and template.archived_at is None and update_form is None:
        update_form = TemplateUpdateForm(initial={"name": template.name, "description": template.description})
    return render(request, "tenants/rollout/templates/detail.html", {
        "organization": organization, "template": template, "versions": versions,
        "variables": _variables(template.latest_version), "may_change": may_change,
        "update_form": update_form if may_change and template.archived_at is None else None,
        "may_apply": template.archived_at is None and request.actor.can(organization.pk, "configure"),
        "may_share": may_change and svc.owner_may_share(template),
    }, status=status)


@organization_page("view")
def rollout_template_view(request, organization, template_id):
    template = _get_template(request, organization, template_id)
    if request.method != "POST":
        return _render_detail(request, organization, template)
    if not (template.is_own and svc.may_change(request.actor, template)):
        raise PermissionDenied
    form = TemplateUpdateForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, organization, template, update_form=form, status=400)
    try:
        svc.update_template(request.actor, template, name=form.cleaned_data["name"],
                            description=form.cleaned_data["description"])
    except ConfigurationError as exc:
        form.add_error(None, exc.message)
        return _render_detail(request, organization, template, update_form=form, status=exc.status)
    messages.success(request, _("The template was saved."))
    return redirect("rollout_template", org_id=organization.public_id, template_id=template.public_id)


@require_POST
@organization_page("view")
def rollout_template_archive_view(request, organization, template_id):
    template = _get_template(request, organization, template_id)
    if not template.is_own:
        raise PermissionDenied
    try:
        svc.archive_template(request.actor, template)
    except ConfigurationError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        raise
    messages.success(request, _("The template was archived."))
    return redirect("rollout_template", org_id=organization.public_id, template_id=template.public_id)


@organization_page("view")
def rollout_template_version_view(request, organization, template_id, number):
    template = _get_template(request, organization, template_id)
    version = RolloutTemplateVersion.objects.filter(template=template, number=number).select_related(
        "created_by", "created_by_api_key").first()
    if version is None:
        raise Http404
    against = request.GET.get("against", "")
    against = int(against) if against.isdigit() else None
    try:
        changes = svc.version_diff(template, number, against)
    except ConfigurationError:
        raise Http404 from None
    others = list(RolloutTemplateVersion.objects.filter(template=template).exclude(number=number).order_by(
        "-number").values_list("number", flat=True))
    return render(request, "tenants/rollout/templates/version.html", {
        "organization": organization, "template": template, "version": version,
        "document_text": json.dumps(version.document, indent=2, ensure_ascii=False),
        "changes": _change_rows(changes), "against": against if against is not None else (
            number - 1 if number > 1 else None), "others": others,
    })


def _render_version_form(request, organization, template, form, errors=(), status=200):
    return render(request, "tenants/rollout/templates/version_form.html", {
        "organization": organization, "template": template, "form": form, "errors": errors,
    }, status=status)


@organization_page("view")
def rollout_template_version_create_view(request, organization, template_id):
    template = _get_template(request, organization, template_id)
    if not (template.is_own and svc.may_change(request.actor, template)):
        raise PermissionDenied
    if template.archived_at is not None:
        messages.error(request, _("The template is archived."))
        return redirect("rollout_template", org_id=organization.public_id, template_id=template.public_id)
    if request.method != "POST":
        latest = template.latest_version
        form = VersionForm(initial={"document": latest.document if latest else {}})
        return _render_version_form(request, organization, template, form)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _render_version_form(request, organization, template, form, status=400)
    try:
        version = svc.add_version(request.actor, template, form.cleaned_data["document"], form.cleaned_data["note"])
    except ConfigurationError as exc:
        form.add_error(None, exc.message)
        return _render_version_form(request, organization, template, form, _errors_of(exc), status=exc.status)
    messages.success(request, _("Version {number} was stored.").format(number=version.number))
    return redirect("rollout_template_version", org_id=organization.public_id, template_id=template.public_id,
                    number=version.number)


# --- sharing ------------------------------------------------------------------------------------


def _render_shares(request, organization, template, form=None, status=200):
    may_share = template.is_own and svc.may_change(request.actor, template) and svc.owner_may_share(template)
    shares = RolloutTemplateShare.objects.filter(template=template).select_related("dealer", "created_by").order_by(
        "dealer__name", "pk")
    if not template.is_own:
        shares = shares.filter(dealer=organization)
    shared_ids = {share.dealer_id for share in shares}
    if may_share and form is None and template.archived_at is None:
        dealers = [dealer for dealer in svc.partner_dealers(organization) if dealer.pk not in shared_ids]
        form = ShareForm(dealers=dealers) if dealers else None
    return render(request, "tenants/rollout/templates/shares.html", {
        "organization": organization, "template": template, "shares": shares, "may_share": may_share,
        "form": form if template.archived_at is None else None, "is_creator": svc.owner_may_share(template),
    }, status=status)


@organization_page("view")
def rollout_template_shares_view(request, organization, template_id):
    template = _get_template(request, organization, template_id)
    if request.method != "POST":
        return _render_shares(request, organization, template)
    if not (template.is_own and svc.may_change(request.actor, template)):
        raise PermissionDenied
    form = ShareForm(request.POST, dealers=list(svc.partner_dealers(organization)))
    if not form.is_valid():
        return _render_shares(request, organization, template, form, status=400)
    try:
        svc.share_template(request.actor, template, form.cleaned_data["dealer"])
    except ConfigurationError as exc:
        form.add_error(None, exc.message)
        return _render_shares(request, organization, template, form, status=exc.status)
    messages.success(request, _("The template is shared with {dealer}.").format(dealer=form.cleaned_data["dealer"]))
    return redirect("rollout_template_shares", org_id=organization.public_id, template_id=template.public_id)


@require_POST
@organization_page("view")
def rollout_template_unshare_view(request, organization, template_id, dealer_id):
    template = _get_template(request, organization, template_id)
    if not (template.is_own and svc.may_change(request.actor, template)):
        raise PermissionDenied
    share = RolloutTemplateShare.objects.filter(template=template, dealer__public_id=dealer_id).select_related(
        "dealer").first()
    if share is None:
        raise Http404
    try:
        svc.unshare_template(request.actor, template, share.dealer)
    except ConfigurationError as exc:
        raise PermissionDenied from exc
    messages.success(request, _("The template is no longer shared with {dealer}.").format(dealer=share.dealer.name))
    return redirect("rollout_template_shares", org_id=organization.public_id, template_id=template.public_id)
