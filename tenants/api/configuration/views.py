"""API of the configuration feature: an operator's fiscal set-up as one JSON document.

- ``GET /configuration/schema``: the JSON Schema of the document (format ``kassenportal.configuration/1``).
- ``GET /organizations/{org}/configuration``: the current document, its digest and the latest version
  number (``view``: members and partners the operator granted any right).
- ``PUT /organizations/{org}/configuration`` (``?dry_run=true``): apply a document — create and update
  what it names, never remove anything — as one transaction; the answer carries the plan, whether
  anything changed and the version stored. Needs ``configure`` (partners without it: 403
  ``E_RIGHT_MISSING``). ``If-Match: "<digest>"`` refuses with 409 ``E_CONFIGURATION_CHANGED`` when
  the configuration is no longer the one read. A replay of the same document changes nothing.
- ``GET /organizations/{org}/configuration/versions`` and ``…/versions/{n}`` (``?against=m``): the
  recorded versions with who, when, how, and the changes (against the previous or version ``m``).
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.configuration.serializers import (
    ApplyResultSerializer,
    ConfigurationSerializer,
    ConfigurationVersionDetailSerializer,
    ConfigurationVersionSerializer,
)
from tenants.models import ConfigurationSource, ConfigurationVersion
from tenants.services.configuration.apply import apply_configuration
from tenants.services.configuration.diff import diff_documents
from tenants.services.configuration.document import digest, snapshot
from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.schema import CONFIGURATION_FORMAT, configuration_schema
from tenants.services.configuration.versions import latest_version

__all__ = [
    "ConfigurationSchemaView",
    "ConfigurationVersionListView",
    "ConfigurationVersionView",
    "ConfigurationView",
]

TAGS = ["configuration"]
VERSION_RELATED = ("actor_user", "actor_api_key", "acting_organization", "rollout_job")
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION (`details.errors`: `[{path, code, message}]` with JSON-pointer "
                                     "paths, codes such as E_REQUIRED, E_IMMUTABLE, E_NOT_FOUND, E_FORMAT), "
                                     "E_PARSE."),
    403: OpenApiResponse(description="E_RIGHT_MISSING (a partner without `configure`, or without `entitlements` "
                                     "for an activation), E_PERMISSION_DENIED, E_API_KEY_READ_ONLY."),
    404: OpenApiResponse(description="E_NOT_FOUND (the organization is not visible to the caller)."),
    409: OpenApiResponse(description="E_CONFIGURATION_CHANGED (If-Match), E_NO_ENTITLEMENT_STOCK, "
                                     "E_CLIENT_DEREGISTERED and other states that refuse a change."),
}
EXAMPLE_DOCUMENT = {
    "format": CONFIGURATION_FORMAT,
    "betriebsstaetten": [{"reference": "main", "name": "Café Sonne", "street": "Hauptstraße", "house_number": "1",
                          "postal_code": "10115", "city": "Berlin", "country": "DE", "remarks": ""}],
    "outlets": [{"number": 1, "name": "Café Sonne Mitte", "street": "Hauptstraße", "house_number": "1",
                 "postal_code": "10115", "city": "Berlin", "country": "DE", "betriebsstaette": "main",
                 "signing_units": [{"reference": "tse-1", "backend": "software", "description": "Theke",
                                    "initialize": True,
                                    "clients": [{"client_id": "KASSE-01", "cash_register": {
                                        "pos_system_version": "1f0c7d1e-3a8b-4e6c-9d2a-5b7e8f901234",
                                        "base_currency": "EUR", "no_vat_assignment": False}}]}]}],
}
EXAMPLE_PLAN = [
    {"action": "create", "object": "betriebsstaette", "path": "/betriebsstaetten/0", "label": "Café Sonne",
     "changes": {"name": {"old": None, "new": "Café Sonne"}}},
    {"action": "create", "object": "signing_unit", "path": "/outlets/0/signing_units/0", "label": "tse-1",
     "changes": {"backend": {"old": None, "new": "software"}}},
    {"action": "initialize", "object": "signing_unit", "path": "/outlets/0/signing_units/0", "label": "tse-1",
     "changes": {}},
    {"action": "register", "object": "client", "path": "/outlets/0/signing_units/0/clients/0", "label": "KASSE-01",
     "changes": {}},
]
DRY_RUN_PARAM = OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Only plan; write nothing.")
IF_MATCH_PARAM = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER,
                                  description="The `digest` read before; 409 when the configuration changed since.")
AGAINST_PARAM = OpenApiParameter("against", int, description="Compare with this version instead of the previous.")


def _api_error(exc: ConfigurationError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, {"errors": exc.errors} if exc.errors else None)


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ApiError(400, "E_VALIDATION", _("%(name)s must be true or false.") % {"name": name},
                   {"errors": [{"path": "", "code": "E_TYPE", "message": _("Expected true or false.")}]})


class ConfigurationSchemaView(GenericAPIView):
    """The JSON Schema of a configuration document."""

    http_method_names = ["get", "head", "options"]
    filter_backends = []
    pagination_class = None

    @extend_schema(tags=TAGS, operation_id="configuration_schema", responses={200: OpenApiTypes.OBJECT},
                   description="The JSON Schema (draft 2020-12) of `kassenportal.configuration/1`: what `GET` "
                               "returns and `PUT` accepts on `/organizations/{id}/configuration`.")
    def get(self, request, *args, **kwargs):
        return Response(configuration_schema())


class ConfigurationView(OrganizationResourceMixin):
    http_method_names = ["get", "put", "head", "options"]
    # PUT: the right is checked in the view to answer a partner without `configure` with E_RIGHT_MISSING
    capabilities = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "PUT": "view"}
    serializer_class = ConfigurationSerializer
    filter_backends = []
    pagination_class = None

    @extend_schema(
        tags=TAGS, operation_id="configuration_retrieve", responses={200: ConfigurationSerializer, 404: ERRORS[404]},
        description="The operator's configuration: Betriebsstätten, outlets, signing units, POS clients and cash "
                    "registers. `digest` identifies it (send it as `If-Match` with a `PUT`).",
        examples=[OpenApiExample("Configuration", response_only=True, value={
            "version": 3, "digest": "5f1d…", "document": {**EXAMPLE_DOCUMENT, "operator": {
                "id": "7d1e9a52-0f3c-4b1e-8a77-2f6d3c9b1a00", "name": "Café Sonne GmbH"}}})])
    def get(self, request, *args, **kwargs):
        document = snapshot(self.organization)
        latest = latest_version(self.organization)
        return Response(ConfigurationSerializer({
            "version": latest.number if latest is not None else None, "digest": digest(document),
            "document": document}).data)

    @extend_schema(
        tags=TAGS, operation_id="configuration_update", parameters=[DRY_RUN_PARAM, IF_MATCH_PARAM],
        request=OpenApiTypes.OBJECT, responses={200: ApplyResultSerializer, **ERRORS},
        description="Apply a configuration document (as returned by `GET`, or a part of it): what it names is "
                    "created or updated, fields it leaves out are not managed, and nothing is ever removed, "
                    "closed or decommissioned. One transaction; a new version is recorded when something changed. "
                    "`?dry_run=true` only returns the plan. The body may also be the `GET` answer itself "
                    "(`{\"document\": …}`).",
        examples=[
            OpenApiExample("Document", request_only=True, value=EXAMPLE_DOCUMENT),
            OpenApiExample("Applied", response_only=True, status_codes=["200"],
                           value={"changed": True, "plan": EXAMPLE_PLAN, "version": 4, "dry_run": False}),
            OpenApiExample("Validation error", response_only=True, status_codes=["400"], value={
                "status_code": 400, "error": "Bad Request", "code": "E_VALIDATION",
                "message": "The configuration document is invalid.",
                "details": {"errors": [{"path": "/outlets/0/name", "code": "E_REQUIRED",
                                        "message": "A new outlet needs a name."}]}}),
        ])
    def put(self, request, *args, **kwargs):
        organization = self.organization
        if not self.actor.can(organization.pk, "configure"):
            if self.actor.is_partner_of(organization.pk):
                raise ApiError(403, "E_RIGHT_MISSING", _("The operator has not granted your organization the "
                                                         "right to configure its account."))
            raise ApiError(403, "E_PERMISSION_DENIED", _("Your role may not change the configuration."))
        dry_run = _flag(request.query_params.get("dry_run"), "dry_run")
        document = request.data
        if isinstance(document, dict) and "format" not in document and isinstance(document.get("document"), dict):
            document = document["document"]
        if not isinstance(document, dict):
            raise ApiError(400, "E_VALIDATION", _("The body must be a configuration document (a JSON object)."),
                           {"errors": [{"path": "", "code": "E_TYPE", "message": _("Expected an object.")}]})
        expected = request.headers.get("If-Match", "").strip().strip('"')
        if expected and expected != "*" and expected != digest(snapshot(organization)):
            raise ApiError(409, "E_CONFIGURATION_CHANGED", _("The configuration was changed since it was read; "
                                                             "read it again and retry."))
        try:
            result = apply_configuration(self.actor, organization, document, dry_run=dry_run,
                                         source=ConfigurationSource.API)
        except ConfigurationError as exc:
            raise _api_error(exc) from exc
        return Response(ApplyResultSerializer({
            "changed": result.changed, "plan": result.plan, "dry_run": dry_run,
            "version": result.version.number if result.version is not None else None}).data)


class ConfigurationVersionListView(OrganizationResourceMixin):
    """The recorded versions, newest first."""

    http_method_names = ["get", "head", "options"]
    serializer_class = ConfigurationVersionSerializer
    filter_backends = []

    def get_queryset(self):
        return (ConfigurationVersion.objects.filter(organization=self.organization).select_related(*VERSION_RELATED)
                .defer("document").order_by("-number"))

    @extend_schema(tags=TAGS, operation_id="configuration_versions_list")
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConfigurationVersionSerializer(page, many=True).data)


class ConfigurationVersionView(OrganizationResourceMixin):
    """One version: its document, who/when/how, and the changes against the previous (or ``?against=``)."""

    http_method_names = ["get", "head", "options"]
    serializer_class = ConfigurationVersionDetailSerializer
    filter_backends = []
    pagination_class = None

    def version(self, number: int) -> ConfigurationVersion:
        return get_object_or_404(ConfigurationVersion.objects.filter(organization=self.organization)
                                 .select_related(*VERSION_RELATED), number=number)

    @extend_schema(tags=TAGS, operation_id="configuration_versions_retrieve", parameters=[AGAINST_PARAM],
                   responses={200: ConfigurationVersionDetailSerializer, 400: ERRORS[400], 404: ERRORS[404]},
                   examples=[OpenApiExample("Diff", response_only=True, value={
                       "number": 4, "created_at": "2026-07-01T08:00:00Z", "source": "import", "summary": "",
                       "digest": "5f1d…", "user": {"id": "0c5b…", "email": "paul@example.com",
                                                   "full_name": "Paul Partner"},
                       "api_key": None, "acting_organization": {"id": "9a3e…", "name": "Kassenhandel GmbH"},
                       "rollout_job_id": None, "change_count": 1, "against": 2,
                       "changes": [{"op": "changed", "path": "outlets[1].name", "object": "outlet",
                                    "field": "name", "old": "Filiale", "new": "Filiale Mitte"}],
                       "document": EXAMPLE_DOCUMENT})])
    def get(self, request, *args, **kwargs):
        version = self.version(kwargs["number"])
        context = {}
        value = request.query_params.get("against", "").strip()
        if value:
            try:
                number = int(value)
            except ValueError:
                raise ApiError(400, "E_VALIDATION", _("against must be a version number."), {"errors": [
                    {"path": "", "code": "E_TYPE", "message": _("Expected an integer.")}]}) from None
            against = self.version(number)
            context = {"against": against.number, "changes": diff_documents(against.document, version.document)}
        return Response(ConfigurationVersionDetailSerializer(version, context=context).data)
