"""Pages of the rollout jobs: applying a template version to operators, the job list, a job with live progress.

- **Apply** (``rollout_apply``): members of the runner organization (partners: 404) who may ``configure``
  it (else 403), for a template the runner owns or that is shared with it (else 404). Version (default
  the latest), dry run, and either a CSV upload (``operator`` column = the operator's id or the dealer's
  reference, other columns = variables) or operators that granted the runner ``configure`` plus shared
  variables as JSON. CSV errors re-show the form with the row errors; missing variables are per operator
  and show up in the job report. ``rollout_apply_example`` downloads an example CSV of the version.
- **Jobs** (``rollout_jobs``) and **job** (``rollout_job``): members of the runner; the job page polls
  ``rollout_job_progress`` (htmx) until the job is finished and then swaps in the final report.
"""

import csv
import io
import re

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from portal.views.base import organization_page
from tenants.forms.rollout_jobs import RolloutApplyForm
from tenants.models import (
    RolloutItemState,
    RolloutJob,
    RolloutJobItem,
    RolloutJobSource,
    RolloutJobState,
    RolloutTemplate,
    RolloutTemplateVersion,
)
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.rollout.csv_targets import parse_targets
from tenants.services.rollout.jobs import configurable_operators, start_job
from tenants.services.rollout.variables import SYSTEM_VARIABLES

__all__ = [
    "rollout_apply_example_view",
    "rollout_apply_view",
    "rollout_job_progress_view",
    "rollout_job_view",
    "rollout_jobs_view",
]

_ROW = re.compile(r"^/rows/(\d+)")
FINISHED = (RolloutJobState.COMPLETED, RolloutJobState.ERROR)
POLL_SECONDS = 1
PAGE_SIZE = 50


def _require_member(request, organization) -> None:
    if organization.pk not in request.actor.member_roles:
        raise Http404  # jobs and templates of a runner exist for its members only


def _template(organization, template_id) -> RolloutTemplate:
    """A template the runner owns or that is shared with it (in the caller's scope), else 404."""
    templates = RolloutTemplate.objects.filter(Q(organization=organization) | Q(shares__dealer=organization))
    return get_object_or_404(templates.distinct(), public_id=template_id)


def _versions(template) -> list:
    return list(RolloutTemplateVersion.objects.filter(template=template).order_by("-number"))


def _template_variables(version) -> list[dict]:
    variables = ((version.document or {}).get("variables") or {}) if version else {}
    rows = [{"name": name, "required": "default" not in spec, **spec} for name, spec in variables.items()]
    return sorted(rows, key=lambda row: (not row["required"], row["name"]))  # required first (jsonb sorts keys)


def _render_apply(request, organization, template, versions, operators, form, *, row_errors=(), status=200):
    if form.is_bound:
        wanted = form.cleaned_data.get("version") if hasattr(form, "cleaned_data") else None
    else:
        wanted = form.initial.get("version")
    version = next((v for v in versions if str(v.number) == str(wanted)), None) or (versions[0] if versions else None)
    return render(request, "tenants/rollout/jobs/apply.html", {
        "organization": organization,
        "template": template,
        "version": version,
        "versions": versions,
        "variables": _template_variables(version),
        "system_variables": SYSTEM_VARIABLES,
        "operators": operators,
        "form": form,
        "row_errors": row_errors,
    }, status=status)


def _row_errors(errors, *, from_csv: bool) -> list[dict]:
    """The findings with the data row (1 = the first row after the header) where a path names one."""
    rows = []
    for error in errors:
        path = str(error.get("path", ""))
        if from_csv and path.startswith("/operators/"):
            path = "/rows/" + path[len("/operators/"):]
        match = _ROW.match(path)
        rows.append({**error, "path": path, "row": int(match.group(1)) + 1 if match else None})
    return rows


def _require_configure(request, organization) -> None:
    _require_member(request, organization)
    if not request.actor.can(organization.pk, "configure"):
        raise PermissionDenied


@organization_page("view_members")
def rollout_apply_view(request, organization, template_id):
    _require_configure(request, organization)
    template = _template(organization, template_id)
    versions = _versions(template)
    operators = configurable_operators(organization)
    if request.method != "POST":
        wanted = request.GET.get("version")
        form = RolloutApplyForm(versions=versions, operators=operators,
                                initial={"version": wanted} if wanted and wanted.isdigit() else None)
        return _render_apply(request, organization, template, versions, operators, form)
    form = RolloutApplyForm(request.POST, request.FILES, versions=versions, operators=operators)
    valid = form.is_valid()
    if template.archived_at is not None:
        form.add_error(None, _("The template is archived; it cannot be applied any more."))
        valid = False
    if not valid:
        return _render_apply(request, organization, template, versions, operators, form, status=400)
    data = form.cleaned_data
    if data.get("csv_file"):
        source = RolloutJobSource.CSV
        try:
            targets = parse_targets(data["csv_file"].read())
        except ConfigurationError as exc:
            form.add_error("csv_file", exc.message)
            return _render_apply(request, organization, template, versions, operators, form,
                                 row_errors=_row_errors(exc.errors, from_csv=True), status=400)
    else:
        source = RolloutJobSource.PAGE
        targets = [{"operator": operator_id, "variables": dict(data["variables"])}
                   for operator_id in data["operators"]]
    try:
        job = start_job(actor=request.actor, organization=organization, template_version=form.template_version,
                        targets=targets, dry_run=data["dry_run"], source=source)
    except ConfigurationError as exc:
        form.add_error(None, exc.message)
        return _render_apply(request, organization, template, versions, operators, form,
                             row_errors=_row_errors(exc.errors, from_csv=source == RolloutJobSource.CSV),
                             status=exc.status)
    return redirect("rollout_job", org_id=organization.public_id, job_id=job.public_id)


@organization_page("view_members")
def rollout_apply_example_view(request, organization, template_id):
    """An example CSV for the version (``?version=``, default latest): the variables as columns, a few operators."""
    _require_member(request, organization)
    template = _template(organization, template_id)
    versions = _versions(template)
    version = next((v for v in versions if str(v.number) == request.GET.get("version")), None) or (
        versions[0] if versions else None)
    if version is None:
        raise Http404
    variables = _template_variables(version)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["operator"] + [variable["name"] for variable in variables])
    for operator in configurable_operators(organization)[:3] or [None]:
        ref = (operator.reference or str(operator.public_id)) if operator else "OP-1"
        writer.writerow([ref] + ["" if variable.get("default") is None else variable["default"]
                                 for variable in variables])
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rollout-{template.public_id}-v{version.number}.csv"'
    return response


def _jobs(organization):
    return RolloutJob.objects.filter(organization=organization).select_related(
        "template_version__template", "created_by", "created_by_api_key")


@organization_page("view_members")
def rollout_jobs_view(request, organization):
    _require_member(request, organization)
    return render(request, "tenants/rollout/jobs/jobs.html", {
        "organization": organization,
        "page": Paginator(_jobs(organization).order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
            request.GET.get("page")),
    })


def _job(request, organization, job_id) -> RolloutJob:
    _require_member(request, organization)
    return get_object_or_404(_jobs(organization), public_id=job_id)


def _items(request, job) -> list:
    items = list(RolloutJobItem.objects.filter(job=job).select_related("operator", "configuration_version")
                 .order_by("position"))
    for item in items:
        item.may_see_operator = item.operator_id is not None and request.actor.can(item.operator_id, "view")
    return items


def _progress_context(organization, job) -> dict:
    processed = job.done + job.failed
    total = job.total or 0
    return {
        "organization": organization,
        "job": job,
        "finished": job.state in FINISHED,
        "processed": processed,
        "percent": job.progress,
        "done_percent": 0 if not total else 100 * job.done / total,
        "failed_percent": 0 if not total else 100 * job.failed / total,
        "poll_seconds": POLL_SECONDS,
        "states": RolloutItemState,
    }


@organization_page("view_members")
def rollout_job_view(request, organization, job_id):
    job = _job(request, organization, job_id)
    return render(request, "tenants/rollout/jobs/job.html", {
        **_progress_context(organization, job), "items": _items(request, job),
    })


@organization_page("view_members")
def rollout_job_progress_view(request, organization, job_id):
    """The htmx partial: the progress bar (polling while the job runs); once finished also the report (oob)."""
    job = _job(request, organization, job_id)
    context = _progress_context(organization, job)
    if context["finished"] and request.headers.get("HX-Request"):
        context["items"] = _items(request, job)
        context["report_oob"] = True
    return render(request, "tenants/rollout/jobs/progress.html", context)
