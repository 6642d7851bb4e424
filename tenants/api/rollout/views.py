"""API of rollout templates.

- ``GET /rollout-templates/schema``: the JSON Schema of template documents (every caller).
- ``/organizations/{org}/rollout-templates``: the templates an organization owns and those shared
  with it (GET, members of the organization; others 404), a new template with version 1 (POST,
  ``configure``; the organization needs an active creator or dealer role).
- ``/rollout-templates/{id}`` (GET, PATCH name/description/``archived``), ``…/versions`` (GET, POST a
  new version), ``…/versions/{n}`` (the document), ``…/versions/{n}/diff?against=m``, ``…/shares``
  (GET), ``…/shares/{dealer_id}`` (PUT share, DELETE stop sharing). A template exists for members of
  its owner and of the dealers it is shared with (others 404); changing it needs membership of the
  owner with ``configure`` (shared dealers: 403 ``E_PERMISSION_DENIED``).

Invalid documents answer 400 ``E_VALIDATION`` with ``details.errors`` = ``[{path, code, message}]``.
"""

from django.db.models import Prefetch
from django.http import JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.configuration.serializers import DiffEntrySerializer
from tenants.api.rollout.serializers import (
    ShareSerializer,
    TemplateCreateSerializer,
    TemplateSerializer,
    TemplateUpdateSerializer,
    VersionCreateSerializer,
    VersionDetailSerializer,
    VersionSerializer,
)
from tenants.models import Organization, RolloutTemplate, RolloutTemplateShare, RolloutTemplateVersion
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.schema import TEMPLATE_FORMAT, template_schema
from tenants.services.rollout import templates as svc

TAGS = ["rollout templates"]
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION (`details.errors`: `[{path, code, message}]`)."),
    403: OpenApiResponse(description="E_PERMISSION_DENIED, E_ROLE_REQUIRED, E_API_KEY_READ_ONLY."),
    404: OpenApiResponse(description="E_NOT_FOUND."),
    409: OpenApiResponse(description="E_VERSION_UNCHANGED, E_TEMPLATE_ARCHIVED, E_NOT_A_PARTNER."),
}

EXAMPLE_DOCUMENT = {
    "format": TEMPLATE_FORMAT,
    "variables": {
        "store": {"type": "string", "pattern": "[A-Z0-9]{1,8}", "description": "Store code"},
        "registers": {"type": "integer", "default": 2, "description": "Number of POS"},
        "city": {"type": "string", "default": "Berlin"},
    },
    "betriebsstaetten": [{"reference": "main", "name": "{{ operator_name }}", "street": "Hauptstraße",
                          "house_number": "1", "postal_code": "10115", "city": "{{ city }}"}],
    "outlets": [{
        "number": 1, "name": "Filiale {{ store }}", "street": "Hauptstraße", "house_number": "1",
        "postal_code": "10115", "city": "{{ city }}", "betriebsstaette": "main",
        "signing_units": [{
            "reference": "tse-1", "backend": "software", "description": "TSE {{ store }}", "initialize": True,
            "entitlement": {"product": "TSE-SUB"},
            "clients": [{"client_id": "K{{ store }}-{n:02}", "count": "{{ registers }}",
                         "cash_register": {"pos_system_version": "6f1c2a8e-3b7d-4c55-9a0e-2d4b8f1e7c90",
                                           "base_currency": "EUR"}}],
        }],
    }],
}
CREATE_EXAMPLE = OpenApiExample("A shop with n POS", request_only=True, value={
    "name": "Filiale Standard", "description": "One shop, one software TSE, n POS with cash registers.",
    "document": EXAMPLE_DOCUMENT, "note": "First version"})
VERSION_EXAMPLE = OpenApiExample("Three POS by default", request_only=True, value={
    "document": {**EXAMPLE_DOCUMENT, "variables": {**EXAMPLE_DOCUMENT["variables"],
                                                   "registers": {"type": "integer", "default": 3}}},
    "note": "Three POS by default"})
VALIDATION_EXAMPLE = OpenApiExample("Invalid document", response_only=True, status_codes=["400"], value={
    "status_code": 400, "error": "Bad Request", "code": "E_VALIDATION", "message": "The template is not valid.",
    "details": {"errors": [
        {"path": "/outlets/0/number", "code": "E_REQUIRED", "message": "This field is required."},
        {"path": "/outlets/0/name", "code": "E_VARIABLE_UNDECLARED",
         "message": "The variable “shop” is neither declared nor built in."}]}})


def api_error(exc: ConfigurationError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, {"errors": exc.errors} if exc.errors else None)


def _payload(serializer_class, data) -> dict:
    """The validated payload; errors as 400 E_VALIDATION with ``details.errors`` by path (``/name``)."""
    payload = serializer_class(data=data)
    if payload.is_valid():
        return payload.validated_data
    errors = []
    for name, problems in payload.errors.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            code = "E_REQUIRED" if getattr(problem, "code", "") in ("required", "null", "blank") else "E_INVALID"
            errors.append({"path": f"/{name}" if name != "non_field_errors" else "", "code": code,
                           "message": str(problem)})
    raise ApiError(400, "E_VALIDATION", errors[0]["message"] if errors else _("Invalid input."), {"errors": errors})


def _with_latest(queryset):
    return queryset.select_related("organization").prefetch_related(Prefetch(
        "versions", queryset=RolloutTemplateVersion.unscoped.select_related("created_by", "created_by_api_key")
        .order_by("-number")[:1], to_attr="latest"))


def _reload(template: RolloutTemplate) -> RolloutTemplate:
    return _with_latest(RolloutTemplate.unscoped.filter(pk=template.pk)).get()


class TemplateSchemaView(GenericAPIView):
    http_method_names = ["get", "head", "options"]
    filter_backends = []
    pagination_class = None

    @extend_schema(tags=TAGS, operation_id="rollout_template_schema", responses={200: OpenApiTypes.OBJECT},
                   description="The JSON Schema (draft 2020-12) of rollout-template documents.")
    def get(self, request, *args, **kwargs):
        return JsonResponse(template_schema(), content_type="application/schema+json",
                            json_dumps_params={"ensure_ascii": False})


class OrganizationTemplateListView(OrganizationResourceMixin):
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "configure"}
    serializer_class = TemplateSerializer
    filter_backends = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.organization.pk not in self.actor.member_roles:
            raise NotFound  # templates exist for members only, never for partners acting in an account

    def get_queryset(self):
        rows = RolloutTemplate.objects.filter(organization=self.organization) | RolloutTemplate.objects.filter(
            shares__dealer=self.organization)
        if self.request.query_params.get("archived", "") not in ("true", "1"):
            rows = rows.filter(archived_at__isnull=True)
        return _with_latest(rows.distinct()).order_by("name", "pk")

    @extend_schema(tags=TAGS, operation_id="rollout_templates_list", parameters=[
        OpenApiParameter("archived", bool, description="true: archived templates too.")])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TemplateSerializer(page, many=True).data)

    @extend_schema(tags=TAGS, operation_id="rollout_templates_create", request=TemplateCreateSerializer,
                   responses={201: TemplateSerializer, **ERRORS}, examples=[CREATE_EXAMPLE, VALIDATION_EXAMPLE],
                   description="Create a template with its document as version 1. The organization needs an "
                               "active POS creator or dealer role.")
    def post(self, request, *args, **kwargs):
        data = _payload(TemplateCreateSerializer, request.data)
        try:
            template = svc.create_template(self.actor, self.organization, data["name"], data["description"],
                                           data["document"], data["note"])
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(TemplateSerializer(_reload(template)).data, status=status.HTTP_201_CREATED)


class _TemplateMixin(GenericAPIView):
    filter_backends = []

    @property
    def actor(self):
        return self.request._request.actor

    def get_template(self) -> RolloutTemplate:
        template = _with_latest(RolloutTemplate.objects.filter(public_id=self.kwargs["template_id"])).first()
        if template is None:
            raise NotFound
        return template

    def get_version(self, template, number) -> RolloutTemplateVersion:
        version = RolloutTemplateVersion.objects.filter(template=template, number=number).select_related(
            "template", "created_by", "created_by_api_key").first()
        if version is None:
            raise NotFound
        return version


class TemplateDetailView(_TemplateMixin):
    http_method_names = ["get", "patch", "head", "options"]
    serializer_class = TemplateSerializer

    @extend_schema(tags=TAGS, operation_id="rollout_templates_retrieve")
    def get(self, request, *args, **kwargs):
        return Response(TemplateSerializer(self.get_template()).data)

    @extend_schema(tags=TAGS, operation_id="rollout_templates_update", request=TemplateUpdateSerializer,
                   responses={200: TemplateSerializer, **ERRORS},
                   examples=[OpenApiExample("Rename", request_only=True, value={"name": "Filiale Standard 2027"})],
                   description="Change name or description, or archive (`archived: true`): an archived template "
                               "takes no new versions and cannot be applied.")
    def patch(self, request, *args, **kwargs):
        template = self.get_template()
        data = _payload(TemplateUpdateSerializer, request.data)
        try:
            if "name" in data or "description" in data:
                svc.update_template(self.actor, template, name=data.get("name"), description=data.get("description"))
            if data.get("archived"):
                svc.archive_template(self.actor, template)
            elif "archived" in data and template.archived_at is not None:
                raise ConfigurationError(409, "E_TEMPLATE_ARCHIVED", _("An archived template stays archived."))
            elif not data:
                svc.update_template(self.actor, template)
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(TemplateSerializer(_reload(template)).data)


class VersionListView(_TemplateMixin):
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = VersionSerializer

    @extend_schema(tags=TAGS, operation_id="rollout_template_versions_list")
    def get(self, request, *args, **kwargs):
        template = self.get_template()
        rows = RolloutTemplateVersion.objects.filter(template=template).select_related(
            "template", "created_by", "created_by_api_key").order_by("-number")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(tags=TAGS, operation_id="rollout_template_versions_create", request=VersionCreateSerializer,
                   responses={201: VersionDetailSerializer, **ERRORS}, examples=[VERSION_EXAMPLE, VALIDATION_EXAMPLE],
                   description="Store a new version. A document equal to the latest version is refused "
                               "(409 E_VERSION_UNCHANGED).")
    def post(self, request, *args, **kwargs):
        template = self.get_template()
        data = _payload(VersionCreateSerializer, request.data)
        try:
            version = svc.add_version(self.actor, template, data["document"], data["note"])
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(VersionDetailSerializer(self.get_version(template, version.number)).data,
                        status=status.HTTP_201_CREATED)


class VersionDetailView(_TemplateMixin):
    http_method_names = ["get", "head", "options"]
    serializer_class = VersionDetailSerializer

    @extend_schema(tags=TAGS, operation_id="rollout_template_versions_retrieve")
    def get(self, request, *args, **kwargs):
        template = self.get_template()
        return Response(VersionDetailSerializer(self.get_version(template, kwargs["number"])).data)


class VersionDiffView(_TemplateMixin):
    http_method_names = ["get", "head", "options"]
    serializer_class = DiffEntrySerializer
    pagination_class = None

    @extend_schema(tags=TAGS, operation_id="rollout_template_versions_diff",
                   responses={200: DiffEntrySerializer(many=True), **ERRORS},
                   parameters=[OpenApiParameter("against", int, description="Version to compare with (default: "
                                                                            "the previous one).")],
                   examples=[OpenApiExample("Default POS count changed", response_only=True, value=[
                       {"op": "changed", "path": "variables[registers].default", "object": "variable",
                        "field": "default", "old": 2, "new": 3}])])
    def get(self, request, *args, **kwargs):
        template = self.get_template()
        against = request.query_params.get("against")
        if against not in (None, ""):
            if not against.isdigit():
                raise ApiError(400, "E_VALIDATION", _("“against” must be a version number."),
                               {"errors": [{"path": "against", "code": "E_TYPE",
                                            "message": _("Give a version number.")}]})
            against = int(against)
        else:
            against = None
        try:
            changes = svc.version_diff(template, kwargs["number"], against)
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(changes)


class ShareListView(_TemplateMixin):
    http_method_names = ["get", "head", "options"]
    serializer_class = ShareSerializer

    @extend_schema(tags=TAGS, operation_id="rollout_template_shares_list",
                   description="The dealers the template is shared with (a dealer sees its own share only).")
    def get(self, request, *args, **kwargs):
        template = self.get_template()
        rows = RolloutTemplateShare.objects.filter(template=template).select_related("template", "dealer")
        if template.organization_id not in self.actor.member_roles:
            rows = rows.filter(dealer_id__in=self.actor.member_organization_ids)
        page = self.paginate_queryset(rows.order_by("dealer__name", "pk"))
        return self.get_paginated_response(ShareSerializer(page, many=True).data)


class ShareDetailView(_TemplateMixin):
    http_method_names = ["put", "delete", "options"]
    serializer_class = ShareSerializer

    def _dealer(self, template) -> Organization:
        dealer = Organization.unscoped.filter(public_id=self.kwargs["dealer_id"]).first()
        if dealer is None:
            if not svc.may_change(self.actor, template):
                raise ApiError(403, "E_PERMISSION_DENIED", _("Only the owner of the template can change it."))
            raise ApiError(409, "E_NOT_A_PARTNER", _("Templates are shared only with dealers you share a POS "
                                                     "system with."))
        return dealer

    @extend_schema(tags=TAGS, operation_id="rollout_template_shares_update", request=None,
                   responses={200: ShareSerializer, 201: ShareSerializer, **ERRORS},
                   description="Share a creator's template with one of its dealers (a dealer it shares a POS "
                               "system with); they may read and apply it, not change it. Idempotent.")
    def put(self, request, *args, **kwargs):
        template = self.get_template()
        dealer = self._dealer(template)
        existed = RolloutTemplateShare.unscoped.filter(template=template, dealer=dealer).exists()
        try:
            share = svc.share_template(self.actor, template, dealer)
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(ShareSerializer(share).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(tags=TAGS, operation_id="rollout_template_shares_destroy", request=None,
                   responses={204: None, **ERRORS}, description="Stop sharing; idempotent.")
    def delete(self, request, *args, **kwargs):
        template = self.get_template()
        dealer = self._dealer(template)
        try:
            svc.unshare_template(self.actor, template, dealer)
        except ConfigurationError as exc:
            raise api_error(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
