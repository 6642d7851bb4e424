"""DSFinV-K exports in the API, modelled on the fiskaly DSFinV-K API (api-conventions.md §2.5).

``PUT /exports/{export_id}`` requests an export with the caller's id (idempotent: the same body
answers the stored export, another body 409 ``E_EXPORT_CONFLICT``); ``GET /exports`` lists,
``GET /exports/{export_id}`` reads one (state, progress, counts, SHA-256, validation, retention),
``GET /exports/{export_id}/download`` streams the ZIP once COMPLETED (409 ``E_EXPORT_NOT_READY``
before, like the signing API's TAR file).

The operator of a request is the one of the cash registers named by ``client_id``/``client_ids``
(TSE client ids), else ``?organization_id=`` (as in the master-data API), else the API key's
organization (a browser session: the active organization, or the only one); ``?organization_id=``
also narrows the list. Reading and downloading needs ``view_master_data``: members and API keys of
the operator and partners (dealers) with the ``read`` right. Requesting needs ``view`` for the
operator's members and keys (read-only keys cannot PUT); a partner needs the ``configure`` right —
with ``read`` only it may download but not request (403). Exports of organizations the caller does
not see answer 404.
"""

import json

from django.conf import settings
from django.http import FileResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from exports.models import CashRegister, DsfinvkExport, DsfinvkExportState
from exports.services.export_jobs import (
    ExportRequestError,
    export_file_name,
    open_export_file,
    request_export,
    validation_summary,
)
from portal.api.exceptions import ApiError
from portal.api.organizations import default_organization, named_organization
from tenants.models import Organization

__all__ = ["ExportDetailView", "ExportDownloadView", "ExportListView", "export_data", "urlpatterns"]

TAGS = ["dsfinvk"]
READ_CAPABILITY = "view_master_data"
SHA256_HEADER = "X-Content-SHA256"
VALIDATION_HEADER = "X-Validation-Passed"
FINDINGS_SHOWN = 50
ORGANIZATION_ID = OpenApiParameter("organization_id", OpenApiTypes.UUID,
                                   description="The operator (default: the API key's organization).")
EXPORT_ID = OpenApiParameter("export_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The export id (a random UUIDv4 chosen by the caller).")
ERRORS = {
    400: OpenApiResponse(description="E_ORGANIZATION_REQUIRED, E_VALIDATION (both a day and a Z_NR range, from "
                                     "after to, a Z_NR range without exactly one client, registers of several "
                                     "operators)."),
    403: OpenApiResponse(description="E_API_KEY_READ_ONLY, E_PERMISSION_DENIED (a partner "
                                     "without the configure right requesting, or without read)."),
    404: OpenApiResponse(description="E_NOT_FOUND, E_CASH_REGISTER_NOT_FOUND, E_CASH_POINT_CLOSING_NOT_FOUND "
                                     "(no accepted closing matches)."),
    409: OpenApiResponse(description="E_EXPORT_CONFLICT (the id exists with another body), E_EXPORT_NOT_READY "
                                     "(download before COMPLETED)."),
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


class DsfinvkExportRequestSerializer(serializers.Serializer):
    """The body of ``PUT /exports/{export_id}``: no filter = every accepted closing of the operator."""

    format = serializers.ChoiceField(choices=[("zip", "zip")], required=False, help_text="Only `zip`.")
    client_id = serializers.UUIDField(required=False, help_text="One cash register (the TSE client's `_id`).")
    client_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000,
                                       help_text="Several cash registers (TSE client ids) of one operator.")
    start_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"],
                                       help_text="First business day (Europe/Berlin) of the closings, YYYY-MM-DD.")
    end_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"],
                                     help_text="Last business day (Europe/Berlin, inclusive), YYYY-MM-DD.")
    z_nr_start = serializers.IntegerField(required=False, min_value=0, help_text="First Z_NR (needs one client).")
    z_nr_end = serializers.IntegerField(required=False, min_value=0, help_text="Last Z_NR, inclusive.")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return attrs

    def client_ids_wanted(self) -> list:
        data = self.validated_data
        ids = list(data.get("client_ids") or [])
        if data.get("client_id") is not None:
            ids.append(data["client_id"])
        return sorted(set(ids), key=str)


class DsfinvkValidationSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    finding_count = serializers.IntegerField()
    findings = serializers.ListField(child=serializers.DictField(), help_text=f"The first {FINDINGS_SHOWN}.")


class DsfinvkExportErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class DsfinvkExportSerializer(serializers.Serializer):
    """A DSFinV-K export as answered by the API (times in unix seconds)."""

    _id = serializers.UUIDField()
    _type = serializers.CharField()
    _env = serializers.ChoiceField(choices=[("TEST", "TEST"), ("LIVE", "LIVE")])
    organization_id = serializers.UUIDField(help_text="The operator the export belongs to.")
    kind = serializers.CharField(help_text="on_demand, nachschau or scheduled.")
    state = serializers.ChoiceField(choices=DsfinvkExportState.choices)
    progress = serializers.IntegerField(help_text="Percent done (0–100).")
    client_ids = serializers.ListField(child=serializers.UUIDField())
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    z_nr_start = serializers.IntegerField(allow_null=True)
    z_nr_end = serializers.IntegerField(allow_null=True)
    closing_count = serializers.IntegerField(allow_null=True)
    transaction_count = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the ZIP file.")
    validation = DsfinvkValidationSerializer(allow_null=True)
    retain_until = serializers.DateField(allow_null=True)
    time_request = serializers.IntegerField()
    time_start = serializers.IntegerField(allow_null=True)
    time_end = serializers.IntegerField(allow_null=True)
    error = DsfinvkExportErrorSerializer(allow_null=True)


def _unix(value) -> int | None:
    return int(value.timestamp()) if value is not None else None


def export_data(export: DsfinvkExport) -> dict:
    completed = export.state == DsfinvkExportState.COMPLETED
    return {
        "_id": str(export.public_id),
        "_type": "DSFINVK_EXPORT",
        "_env": "LIVE" if settings.PORTAL_ENVIRONMENT == "live" else "TEST",
        "organization_id": str(export.organization.public_id),
        "kind": export.kind,
        "state": export.state,
        "progress": export.progress,
        "client_ids": sorted(str(register.client.public_id) for register in export.cash_registers.all()),
        "start_date": export.date_from.isoformat() if export.date_from else None,
        "end_date": export.date_to.isoformat() if export.date_to else None,
        "z_nr_start": export.z_nr_from,
        "z_nr_end": export.z_nr_to,
        "closing_count": export.closing_count if completed else None,
        "transaction_count": export.transaction_count if completed else None,
        "sha256": export.sha256 if completed else None,
        "size": export.size if completed else None,
        "validation": validation_summary(export, FINDINGS_SHOWN),
        "retain_until": export.retain_until.isoformat() if export.retain_until else None,
        "time_request": _unix(export.created_at),
        "time_start": _unix(export.started_at),
        "time_end": _unix(export.finished_at),
        "error": ({"code": export.error_code or "E_EXPORT_FAILED", "message": export.error_message}
                  if export.state == DsfinvkExportState.ERROR else None),
    }


def _api_error(exc: ExportRequestError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def _exports():
    return DsfinvkExport.objects.select_related("organization").prefetch_related("cash_registers__client")


class ZipRenderer(BaseRenderer):
    """Lets a caller ask for ``Accept: application/zip``; error envelopes are still JSON text."""

    media_type = "application/zip"
    format = "zip"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")


class _ExportApi(GenericAPIView):
    serializer_class = DsfinvkExportSerializer
    queryset = DsfinvkExport.objects.none()

    @property
    def actor(self):
        return self.request._request.actor

    def named_organization(self, capability: str) -> Organization | None:
        return named_organization(self.request, self.actor, capability)

    def default_organization(self) -> Organization:
        return default_organization(self.request, self.actor)

    def get_export(self) -> DsfinvkExport:
        export = _exports().filter(public_id=self.kwargs["export_id"]).first()
        if export is None:
            raise NotFound
        if not self.actor.can(export.organization_id, READ_CAPABILITY):
            raise PermissionDenied
        return export


class ExportListView(_ExportApi):
    @extend_schema(tags=TAGS, operation_id="dsfinvk_export_list", parameters=[ORGANIZATION_ID],
                   responses={200: DsfinvkExportSerializer(many=True), **_errors(400, 403, 404)},
                   description="The DSFinV-K exports of every operator the caller may read, newest first.")
    def get(self, request, *args, **kwargs):
        named = self.named_organization(READ_CAPABILITY)
        readable = ([named.pk] if named is not None else
                    [pk for pk in self.actor.visible_organization_ids if self.actor.can(pk, READ_CAPABILITY)])
        rows = _exports().filter(organization_id__in=readable).order_by("-created_at", "-pk")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([export_data(export) for export in page])


class ExportDetailView(_ExportApi):
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="dsfinvk_export_retrieve", parameters=[EXPORT_ID],
                   responses={200: DsfinvkExportSerializer, **_errors(403, 404)},
                   description="One export: state, progress and, once COMPLETED, counts, SHA-256, size, the "
                               "validation result (the first findings) and the retention date.")
    def get(self, request, *args, **kwargs):
        return Response(export_data(self.get_export()))

    @extend_schema(
        tags=TAGS, operation_id="dsfinvk_export_trigger", parameters=[EXPORT_ID, ORGANIZATION_ID],
        request=DsfinvkExportRequestSerializer,
        responses={201: DsfinvkExportSerializer, 200: DsfinvkExportSerializer, **_errors(400, 403, 404, 409)},
        description="Request a DSFinV-K export (ZIP) of the accepted closings, optionally of some cash registers "
                    "and either business days (`start_date`/`end_date`, Europe/Berlin, inclusive) or a Z_NR range "
                    "of one register. Answers 201 (PENDING) at once; poll until COMPLETED, then download. The "
                    "same body again answers 200 with the stored export; another body 409 E_EXPORT_CONFLICT.",
    )
    def put(self, request, *args, **kwargs):
        export_id = self.kwargs["export_id"]
        if (DsfinvkExport.unscoped.filter(public_id=export_id).exists()
                and not DsfinvkExport.objects.filter(public_id=export_id).exists()):
            raise NotFound  # the id is taken in an organization the caller does not see
        body = DsfinvkExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization, registers = self._operator(body.client_ids_wanted())
        if not self._may_request(organization):
            raise PermissionDenied
        data = body.validated_data
        existed = DsfinvkExport.objects.filter(public_id=export_id).exists()
        try:
            export = request_export(
                actor=self.actor, organization=organization, cash_registers=registers, export_id=export_id,
                date_from=data.get("start_date"), date_to=data.get("end_date"),
                z_nr_from=data.get("z_nr_start"), z_nr_to=data.get("z_nr_end"))
        except ExportRequestError as exc:
            raise _api_error(exc) from exc
        return Response(export_data(_exports().get(pk=export.pk)), status=200 if existed else 201)

    def _operator(self, client_ids):
        named = self.named_organization("view")
        if not client_ids:
            return named or self.default_organization(), []
        registers = list(CashRegister.objects.select_related("organization").filter(client__public_id__in=client_ids))
        if len(registers) != len(client_ids):
            raise ApiError(404, "E_CASH_REGISTER_NOT_FOUND", _("A client is not a cash register of the operator."))
        if len({register.organization_id for register in registers}) > 1:
            raise ApiError(400, "E_VALIDATION", _("An export covers the cash registers of one operator only."))
        if named is not None and named.pk != registers[0].organization_id:
            raise ApiError(400, "E_VALIDATION", _("The cash registers belong to another organization."))
        return registers[0].organization, registers

    def _may_request(self, organization) -> bool:
        if self.actor.is_partner_of(organization.pk):
            return self.actor.has_right(organization.pk, "configure")
        return self.actor.can(organization.pk, "view")


class ExportDownloadView(_ExportApi):
    renderer_classes = [JSONRenderer, ZipRenderer]

    @extend_schema(tags=TAGS, operation_id="dsfinvk_export_download", parameters=[EXPORT_ID],
                   responses={(200, "application/zip"): OpenApiTypes.BINARY, **_errors(403, 404, 409)},
                   description="The ZIP of a COMPLETED export (index.xml, DTD, the CSV files) with its SHA-256 in "
                               "`X-Content-SHA256` and the validation result in `X-Validation-Passed` (true|false); "
                               "409 E_EXPORT_NOT_READY while PENDING or WORKING, or when it failed.")
    def get(self, request, *args, **kwargs):
        export = self.get_export()
        try:
            fileobj = open_export_file(export)
        except ExportRequestError as exc:
            raise _api_error(exc) from exc
        response = FileResponse(fileobj, as_attachment=True, content_type="application/zip",
                                filename=export_file_name(export))
        response[SHA256_HEADER] = export.sha256
        response[VALIDATION_HEADER] = "true" if export.validation_passed else "false"
        response["Content-Length"] = str(export.size)
        return response


urlpatterns = [
    path("exports", ExportListView.as_view(), name="dsfinvk-export-list"),
    path("exports/<uuid:export_id>", ExportDetailView.as_view(), name="dsfinvk-export-detail"),
    path("exports/<uuid:export_id>/download", ExportDownloadView.as_view(), name="dsfinvk-export-download"),
]
