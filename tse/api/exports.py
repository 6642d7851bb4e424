"""TAR exports in the signing API, modelled on fiskaly SIGN DE v2 (``…/tss/{tss_id}/export/{export_id}``).

``PUT`` starts an export with the caller's export id (idempotent: the same filters answer the
stored export, other filters 409 ``E_EXPORT_CONFLICT``); the job runs on the ``exports`` queue.
``GET`` reads one export or lists them; ``…/file`` downloads the TAR once it is COMPLETED (409
``E_EXPORT_NOT_READY`` before). Exporting changes no fiscal data, so ``view`` suffices (read-only
keys still cannot ``PUT``). The TSS must belong to the key's organization (404 otherwise).
"""

import json
import re
from datetime import UTC, datetime

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from tse.api.views import ERRORS, TSS_ID, SigningApiMixin
from tse.backends.base import TseError
from tse.models import ExportState, SigningUnitMode, TarExport, TseClient
from tse.services.protocol import export_file_name
from tse.services.tar_jobs import open_export_file, request_export

__all__ = ["ExportDetailView", "ExportFileView", "ExportListView", "ExportSerializer", "export_data"]

TAGS = ["signing"]
SHA256_HEADER = "X-Content-SHA256"
MAX_UNIX_TIME = 253402300799  # 9999-12-31T23:59:59Z
API_STATES = {
    ExportState.PENDING: "PENDING",
    ExportState.RUNNING: "WORKING",
    ExportState.COMPLETED: "COMPLETED",
    ExportState.FAILED: "ERROR",
}
ERROR_CODE_RE = re.compile(r"^(E_[A-Z0-9_]+): (.*)$", re.DOTALL)
EXPORT_ID = OpenApiParameter("export_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The export id (a random UUIDv4 chosen by the caller).")
EXPORT_ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION, E_CLIENT_NOT_FOUND."),
    403: ERRORS[403],
    404: OpenApiResponse(description="E_NOT_FOUND: no such TSS or export of the key's organization."),
    409: OpenApiResponse(description="E_EXPORT_CONFLICT (the id exists with other filters), "
                                     "E_TSS_NOT_INITIALIZED, E_EXPORT_NOT_READY (file of an unfinished export)."),
}


def _errors(*codes):
    return {code: EXPORT_ERRORS[code] for code in codes}


class ExportQuerySerializer(serializers.Serializer):
    start_date = serializers.IntegerField(min_value=0, max_value=MAX_UNIX_TIME, required=False,
                                          help_text="Log messages from this time on (unix seconds).")
    end_date = serializers.IntegerField(min_value=0, max_value=MAX_UNIX_TIME, required=False,
                                        help_text="Log messages up to this time, inclusive (unix seconds).")
    start_transaction_number = serializers.IntegerField(min_value=0, required=False)
    end_transaction_number = serializers.IntegerField(min_value=0, required=False)
    client_id = serializers.UUIDField(required=False, help_text="Only this client's transactions (its `_id`).")


class ExportErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ExportSerializer(serializers.Serializer):
    """A TAR export as answered by the API."""

    _id = serializers.UUIDField()
    _type = serializers.CharField()
    _env = serializers.ChoiceField(choices=[("TEST", "TEST"), ("LIVE", "LIVE")])
    tss_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=[(s, s) for s in API_STATES.values()])
    time_request = serializers.IntegerField()
    time_start = serializers.IntegerField(allow_null=True)
    time_end = serializers.IntegerField(allow_null=True)
    estimated_progress = serializers.IntegerField(help_text="Percent written (0–100).")
    sha256 = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the TAR file.")
    log_count = serializers.IntegerField(allow_null=True, help_text="Log messages in the TAR file.")
    error = ExportErrorSerializer(allow_null=True)


def _unix(value) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _error(export: TarExport) -> dict | None:
    if export.state != ExportState.FAILED:
        return None
    match = ERROR_CODE_RE.match(export.error_message)
    if match:
        return {"code": match.group(1), "message": match.group(2)}
    return {"code": "E_EXPORT_FAILED", "message": export.error_message or str(_("The export failed."))}


def export_data(export: TarExport) -> dict:
    unit = export.signing_unit
    live = settings.PORTAL_ENVIRONMENT == "live" and unit.mode == SigningUnitMode.LIVE
    completed = export.state == ExportState.COMPLETED
    return {
        "_id": str(export.public_id),
        "_type": "EXPORT",
        "_env": "LIVE" if live else "TEST",
        "tss_id": str(unit.public_id),
        "state": API_STATES[export.state],
        "time_request": _unix(export.created_at),
        "time_start": _unix(export.started_at),
        "time_end": _unix(export.finished_at),
        "estimated_progress": export.progress,
        "sha256": export.sha256 if completed else None,
        "size": export.size if completed else None,
        "log_count": export.log_count if completed else None,
        "error": _error(export),
    }


class TarRenderer(BaseRenderer):
    """Lets a caller ask for ``Accept: application/x-tar``; error envelopes are still JSON text."""

    media_type = "application/x-tar"
    format = "tar"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode("utf-8")


class _ExportMixin(SigningApiMixin):
    setup_call = False  # exporting changes no fiscal data: ``view`` suffices
    serializer_class = ExportSerializer

    def get_export(self, unit) -> TarExport:
        export = (TarExport.unscoped.select_related("signing_unit")
                  .filter(signing_unit=unit, public_id=self.kwargs["export_id"]).first())
        if export is None:
            raise NotFound
        return export


def _api_error(exc: TseError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


class ExportListView(_ExportMixin):
    @extend_schema(tags=TAGS, operation_id="signing_export_list", parameters=[TSS_ID],
                   responses={200: ExportSerializer(many=True), **_errors(404)},
                   description="The TAR exports of the TSS, newest first.")
    def get(self, request, *args, **kwargs):
        unit = self.get_unit()
        rows = TarExport.unscoped.select_related("signing_unit").filter(signing_unit=unit).order_by(
            "-created_at", "-pk")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([export_data(export) for export in page])


class ExportDetailView(_ExportMixin):
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="signing_export_retrieve", parameters=[TSS_ID, EXPORT_ID],
                   responses={200: ExportSerializer, **_errors(404)},
                   description="One TAR export: its state, progress and, once COMPLETED, SHA-256 and size.")
    def get(self, request, *args, **kwargs):
        return Response(export_data(self.get_export(self.get_unit())))

    @extend_schema(
        tags=TAGS, operation_id="signing_export_trigger", parameters=[TSS_ID, EXPORT_ID, ExportQuerySerializer],
        request=None, responses={201: ExportSerializer, 200: ExportSerializer, **_errors(400, 403, 404, 409)},
        description="Start a TAR export (TR-03153) of an INITIALIZED or DISABLED TSS, optionally filtered by "
                    "log time (`start_date`/`end_date`, unix seconds), transaction numbers and client. The "
                    "answer (201, state PENDING) is returned at once; poll the export until COMPLETED and "
                    "download …/file. Repeating the call with the same filters answers 200 with the stored "
                    "export; other filters give 409 E_EXPORT_CONFLICT.",
    )
    def put(self, request, *args, **kwargs):
        unit = self.get_unit()
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        client_id = ""
        if data.get("client_id") is not None:
            client = TseClient.unscoped.filter(signing_unit=unit, public_id=data["client_id"]).first()
            if client is None:
                raise ApiError(400, "E_CLIENT_NOT_FOUND", _("The client does not exist at this TSS."))
            client_id = client.client_id
        existed = TarExport.unscoped.filter(public_id=self.kwargs["export_id"]).exists()
        try:
            export = request_export(
                actor=self.actor, signing_unit=unit, public_id=self.kwargs["export_id"],
                start_time=_time(data.get("start_date")), end_time=_time(data.get("end_date")),
                start_transaction_number=data.get("start_transaction_number"),
                end_transaction_number=data.get("end_transaction_number"), client_id=client_id,
            )
        except TseError as exc:
            raise _api_error(exc) from exc
        export = TarExport.unscoped.select_related("signing_unit").get(pk=export.pk)
        return Response(export_data(export), status=200 if existed else 201)


def _time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class ExportFileView(_ExportMixin):
    renderer_classes = [JSONRenderer, TarRenderer]

    @extend_schema(tags=TAGS, operation_id="signing_export_file", parameters=[TSS_ID, EXPORT_ID],
                   responses={(200, "application/x-tar"): OpenApiTypes.BINARY, **_errors(404, 409)},
                   description="The TAR file of a COMPLETED export, with its SHA-256 in `X-Content-SHA256`; "
                               "409 E_EXPORT_NOT_READY while it is PENDING or WORKING (or failed).")
    def get(self, request, *args, **kwargs):
        export = self.get_export(self.get_unit())
        try:
            fileobj = open_export_file(export)
        except TseError as exc:
            raise _api_error(exc) from exc
        when = export.started_at or export.created_at
        response = FileResponse(fileobj, as_attachment=True, content_type="application/x-tar",
                                filename=export_file_name(export.signing_unit, when))
        response[SHA256_HEADER] = export.sha256
        response["Content-Length"] = str(export.size)
        return response
