"""API of rollout jobs.

- ``POST /rollout-templates/{id}/apply``: start a job applying a version (default: the latest) of a visible
  template to operators; 202 with the job. The runner is ``?organization_id=`` or, without it, the API key's
  organization / the caller's only organization that owns the template or has it shared. Needs membership of
  the runner with ``configure``. Honours ``Idempotency-Key``.
- ``GET /organizations/{org}/rollout-jobs``: the runner's jobs, newest first (``?state=``).
- ``GET /rollout-jobs/{id}``: progress and result of one job; ``GET /rollout-jobs/{id}/items``: the report per
  operator (``?state=``), in position order.

Jobs and their items exist for members of the runner only (others: 404).
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.organizations import default_organization, named_organization
from portal.api.views import OrganizationResourceMixin
from tenants.api.rollout_jobs.serializers import ApplySerializer, ItemSerializer, JobSerializer
from tenants.models import (
    Organization,
    RolloutItemState,
    RolloutJob,
    RolloutJobItem,
    RolloutJobSource,
    RolloutJobState,
    RolloutTemplate,
    RolloutTemplateShare,
    RolloutTemplateVersion,
)
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.rollout import jobs as svc

TAGS = ["rollout jobs"]
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION, E_DUPLICATE_OPERATOR (`details.errors`: `[{path, code, message}]`),"
                                     " E_ORGANIZATION_REQUIRED."),
    403: OpenApiResponse(description="E_PERMISSION_DENIED, E_API_KEY_READ_ONLY."),
    404: OpenApiResponse(description="E_NOT_FOUND, E_VERSION_NOT_FOUND."),
    409: OpenApiResponse(description="E_TEMPLATE_ARCHIVED."),
}
ORGANIZATION_PARAM = OpenApiParameter(
    "organization_id", str, description="The organization that runs the job (the template's owner or a dealer it is "
                                        "shared with) when the caller is a member of several.")
JOB_STATE_PARAM = OpenApiParameter("state", str, enum=list(RolloutJobState.values))
ITEM_STATE_PARAM = OpenApiParameter("state", str, enum=list(RolloutItemState.values))

APPLY_EXAMPLE = OpenApiExample("Three shops", request_only=True, value={
    "version": 2, "dry_run": False,
    "operators": [
        {"operator": "KD-1001", "variables": {"store": "B01", "registers": 3}},
        {"operator": "KD-1002", "variables": {"store": "B02"}},
        {"operator": "0b7e3f0c-52a4-4d0e-9a43-0c1a3c2f6d11", "variables": {"store": "HH1", "city": "Hamburg"}},
    ],
    "webhook": {"url": "https://erp.example.com/hooks/kassenportal", "secret": "s3cr3t-at-least-16-chars"}})
JOB_EXAMPLE = OpenApiExample("Running job", response_only=True, status_codes=["200", "202"], value={
    "id": "5e0c5b39-0d7e-4c59-8d4f-8f7b2a9d1c44",
    "organization": {"id": "9a1f0b52-7c8e-4b1e-a2d3-6f5e4c3b2a10", "name": "Kassenhandel Nord GmbH"},
    "template": {"id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "name": "Filiale Standard", "version": 2},
    "dry_run": False, "source": "api", "state": "WORKING", "total": 3, "done": 1, "failed": 1, "progress": 66,
    "error": "", "created_at": "2026-12-01T09:00:00Z", "created_by": "ERP integration",
    "started_at": "2026-12-01T09:00:01Z", "finished_at": None,
    "webhook": {"url": "https://erp.example.com/hooks/kassenportal", "state": "pending", "attempts": 0,
                "response": ""}})
ITEMS_EXAMPLE = OpenApiExample("Report", response_only=True, value={
    "count": 2, "next": None, "previous": None, "results": [
        {"position": 1, "operator_ref": "KD-1001",
         "operator": {"id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876", "name": "Bäckerei Korn GmbH"},
         "variables": {"store": "B01", "registers": 3}, "state": "APPLIED", "error": None,
         "plan": [{"action": "create", "object": "outlet", "path": "/outlets/0", "label": "1 Filiale B01",
                   "changes": {"name": {"old": None, "new": "Filiale B01"}}}],
         "configuration_version": 4, "queries": 96, "finished_at": "2026-12-01T09:00:02Z"},
        {"position": 2, "operator_ref": "KD-1002", "operator": None, "variables": {"store": "B02"},
         "state": "FAILED", "error": {"code": "E_OPERATOR_NOT_FOUND",
                                      "message": "There is no operator “KD-1002” that granted you access.",
                                      "errors": []},
         "plan": [], "configuration_version": None, "queries": 7, "finished_at": "2026-12-01T09:00:02Z"}]})


def api_error(exc: ConfigurationError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, {"errors": exc.errors} if exc.errors else None)


def _jobs():
    return RolloutJob.objects.select_related("organization", "template_version__template", "created_by",
                                             "created_by_api_key")


def _state_filter(request, queryset, states):
    state = request.query_params.get("state", "")
    if not state:
        return queryset
    if state not in states:
        raise ApiError(400, "E_VALIDATION", _("Unknown state “{state}”.").format(state=state),
                       {"state": [_("Use one of: {states}.").format(states=", ".join(states))]})
    return queryset.filter(state=state)


class TemplateApplyView(GenericAPIView):
    http_method_names = ["post", "options"]
    serializer_class = ApplySerializer
    filter_backends = []

    @property
    def actor(self):
        return self.request._request.actor

    def runner(self, template: RolloutTemplate) -> Organization:
        named = named_organization(self.request, self.actor, "configure")
        if named is not None:
            return named
        if self.actor.api_key is None:
            parties = {template.organization_id, *RolloutTemplateShare.unscoped.filter(template=template).values_list(
                "dealer_id", flat=True)}
            candidates = sorted(parties & set(self.actor.member_organization_ids))
            if len(candidates) == 1:
                return Organization.objects.get(pk=candidates[0])
        return default_organization(self.request, self.actor)

    @extend_schema(tags=TAGS, operation_id="rollout_templates_apply", request=ApplySerializer,
                   parameters=[ORGANIZATION_PARAM], examples=[APPLY_EXAMPLE, JOB_EXAMPLE],
                   responses={202: JobSerializer, **ERRORS},
                   description="Start a job that applies the template version to each operator, one transaction "
                               "per operator (`dry_run`: plan only). Operators are named by id or by your external "
                               "reference; each needs to have granted you `configure` (and `entitlements` for "
                               "templates that activate entitlements). Failures are reported per operator in "
                               "`GET /rollout-jobs/{id}/items`. With `webhook`, the result is POSTed there once "
                               "the job completed, signed `X-Kassenportal-Signature: t=<unix>,v1=<hex HMAC-SHA256 "
                               "of \"<t>.<body>\">`. Send an `Idempotency-Key`.")
    def post(self, request, *args, **kwargs):
        template = RolloutTemplate.objects.filter(public_id=kwargs["template_id"]).first()
        if template is None:
            raise NotFound
        payload = ApplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        runner = self.runner(template)
        versions = RolloutTemplateVersion.unscoped.filter(template=template).select_related("template")
        number = data.get("version")
        version = (versions.filter(number=number) if number else versions.order_by("-number")).first()
        if version is None:
            raise ApiError(404, "E_VERSION_NOT_FOUND", _("This template has no such version."))
        webhook = data.get("webhook") or {}
        try:
            job = svc.start_job(actor=self.actor, organization=runner, template_version=version,
                                targets=data["operators"], dry_run=data["dry_run"], source=RolloutJobSource.API,
                                webhook_url=webhook.get("url"), webhook_secret=webhook.get("secret"))
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(JobSerializer(_jobs().get(pk=job.pk)).data, status=status.HTTP_202_ACCEPTED)


class OrganizationJobListView(OrganizationResourceMixin):
    http_method_names = ["get", "head", "options"]
    serializer_class = JobSerializer
    filter_backends = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.organization.pk not in self.actor.member_roles:
            raise NotFound  # a runner's jobs exist for its members only

    def get_queryset(self):
        return _state_filter(self.request, _jobs().filter(organization=self.organization),
                             RolloutJobState.values).order_by("-created_at", "-pk")

    @extend_schema(tags=TAGS, operation_id="rollout_jobs_list", parameters=[JOB_STATE_PARAM])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(JobSerializer(page, many=True).data)


class _JobMixin(GenericAPIView):
    filter_backends = []
    http_method_names = ["get", "head", "options"]

    @property
    def actor(self):
        return self.request._request.actor

    def get_job(self) -> RolloutJob:
        job = _jobs().filter(public_id=self.kwargs["job_id"],
                             organization_id__in=self.actor.member_organization_ids).first()
        if job is None:
            raise NotFound
        return job


class JobDetailView(_JobMixin):
    serializer_class = JobSerializer

    @extend_schema(tags=TAGS, operation_id="rollout_jobs_retrieve", examples=[JOB_EXAMPLE],
                   responses={200: JobSerializer, 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        return Response(JobSerializer(self.get_job()).data)


class JobItemListView(_JobMixin):
    serializer_class = ItemSerializer

    def get_queryset(self):
        job = self.get_job()
        rows = RolloutJobItem.objects.filter(job=job).select_related("operator", "configuration_version")
        return _state_filter(self.request, rows, RolloutItemState.values).order_by("position", "pk")

    @extend_schema(tags=TAGS, operation_id="rollout_jobs_items_list", parameters=[ITEM_STATE_PARAM],
                   examples=[ITEMS_EXAMPLE])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ItemSerializer(page, many=True).data)
