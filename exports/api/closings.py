"""Cash point closings in the DSFinV-K API (fiskaly DSFinV-K model, api-conventions.md §2.3/§2.4).

- ``PUT /cash_point_closings/{closing_id}``: hand in a closing (the caller's UUID). Only its
  structure is checked at once (400 ``E_VALIDATION`` with every problem in ``details.errors``);
  the answer is the summary in state ``PENDING`` and a worker accepts (``COMPLETED``) or rejects
  (``ERROR`` with ``errors``) it. Idempotent: the same body answers the stored closing, another
  body 409 ``E_CASH_POINT_CLOSING_CONFLICT`` (a rejected closing may be replaced).
- ``GET /cash_point_closings/{closing_id}`` (summary), ``GET /cash_point_closings`` (list,
  filters ``client_id``, ``states``, ``start_date``/``end_date``), ``GET …/details`` (the stored
  DSFinV-K document of a COMPLETED closing).

Handing in needs ``configure`` on the cash register's operator (a write API key — also a POS
device key — or a member); a partner with ``read`` sees closings but gets 403 on ``PUT``;
read-only keys 403 ``E_API_KEY_READ_ONLY``. Registers and closings of other organizations do
not exist (404). Amounts are parsed without float (JSON numbers become ``Decimal``) and answered
as decimal strings.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from exports.dsfinvk.document import TAXONOMY_VERSION
from exports.models import CashPointClosing, CashRegister, ClosingState
from exports.services.closing_request import MAX_UNIX_TIME, clean_closing_request
from exports.services.closings import ClosingRequestError, submit_closing
from portal.api.exceptions import ApiError

__all__ = ["ClosingDetailView", "ClosingDocumentView", "ClosingListView", "ClosingSummarySerializer",
           "closing_summary", "urlpatterns"]

TAGS = ["dsfinvk"]
CLOSING_ID = OpenApiParameter("closing_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                              description="The closing id (a random UUIDv4 chosen by the caller).")
STATES = OpenApiParameter("states", OpenApiTypes.STR, many=True, explode=True, enum=ClosingState.values,
                          description="Only closings in these states (repeat the parameter or use `states[]`).")
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION: every structural problem in `details.errors` "
                                     "[{path, code, message}]; E_PARSE (no JSON / not UTF-8)."),
    403: OpenApiResponse(description="E_API_KEY_READ_ONLY, E_PERMISSION_DENIED (no `configure` on the operator)."),
    404: OpenApiResponse(description="E_CASH_REGISTER_NOT_FOUND (no cash register for client_id), E_NOT_FOUND, "
                                     "E_CASH_POINT_CLOSING_NOT_FOUND (details of a closing that is not COMPLETED)."),
    409: OpenApiResponse(description="E_CASH_POINT_CLOSING_CONFLICT: the id exists with another request."),
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


MAX_BODY_BYTES = 64 * 1024 * 1024  # a closing of a very busy day; the stream is read without Django's form limit


class DecimalJSONParser(JSONParser):
    """JSON with numbers as ``Decimal`` (never float), UTF-8 only; NaN/Infinity refused; at most 64 MiB."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_BODY_BYTES:
            raise ApiError(413, "E_REQUEST_TOO_LARGE", _("The request body is larger than 64 MiB."))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(_("The request body must be UTF-8.")) from exc
        try:
            return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
        except ValueError as exc:
            raise ParseError(_("The request body is not valid JSON: %(error)s") % {"error": exc}) from exc


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


def _unix(value) -> int | None:
    return int(value.timestamp()) if value is not None else None


def closing_summary(closing: CashPointClosing) -> dict:
    completed = closing.state == ClosingState.COMPLETED
    errors = list(closing.errors or [])
    return {
        "closing_id": str(closing.closing_id),
        "cash_point_closing_export_id": closing.z_nr,
        "state": closing.state,
        "error": {"code": errors[0]["code"], "message": errors[0]["message"]} if errors else None,
        "errors": errors,
        "client_id": str(closing.cash_register.client.public_id),
        "business_date": closing.business_date.isoformat() if closing.business_date else None,
        "first_transaction_export_id": closing.first_bon_id or None,
        "last_transaction_export_id": closing.last_bon_id or None,
        "export_creation_date": _unix(closing.export_creation_date),
        "full_amount": f"{closing.full_amount:f}" if closing.full_amount is not None else None,
        "cash_amount": f"{closing.cash_amount:f}" if closing.cash_amount is not None else None,
        "transaction_count": closing.transaction_count,
        "time_creation": _unix(closing.created_at),
        "time_update": _unix(closing.processed_at or closing.created_at),
        "taxonomy_version": closing.document["cashpointclosing"]["TAXONOMIE_VERSION"] if completed else None,
        "master_data_revision": closing.revision.number if closing.revision_id else None,
    }


class ClosingErrorSerializer(serializers.Serializer):
    path = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ClosingSummarySerializer(serializers.Serializer):
    """A cash point closing as answered by the API."""

    closing_id = serializers.UUIDField()
    cash_point_closing_export_id = serializers.IntegerField(help_text="Z_NR.")
    state = serializers.ChoiceField(choices=ClosingState.choices)
    error = ClosingErrorSerializer(allow_null=True, help_text="The first of `errors` (path omitted there).")
    errors = ClosingErrorSerializer(many=True, help_text="Why the closing was rejected (state ERROR).")
    client_id = serializers.UUIDField(help_text="The TSE client (cash register) as the signing API knows it.")
    business_date = serializers.DateField(allow_null=True)
    first_transaction_export_id = serializers.CharField(allow_null=True)
    last_transaction_export_id = serializers.CharField(allow_null=True)
    export_creation_date = serializers.IntegerField(help_text="Unix seconds.")
    full_amount = serializers.DecimalField(max_digits=15, decimal_places=2, allow_null=True)
    cash_amount = serializers.DecimalField(max_digits=15, decimal_places=2, allow_null=True)
    transaction_count = serializers.IntegerField()
    time_creation = serializers.IntegerField()
    time_update = serializers.IntegerField()
    taxonomy_version = serializers.CharField(allow_null=True, help_text=f"`{TAXONOMY_VERSION}` once COMPLETED.")
    master_data_revision = serializers.IntegerField(allow_null=True)


class ClosingListFilterSerializer(serializers.Serializer):
    client_id = serializers.UUIDField(required=False)
    states = serializers.ListField(child=serializers.ChoiceField(choices=ClosingState.values), required=False)
    start_date = serializers.IntegerField(min_value=0, max_value=MAX_UNIX_TIME, required=False,
                                          help_text="Closings made at or after this time (unix seconds).")
    end_date = serializers.IntegerField(min_value=0, max_value=MAX_UNIX_TIME, required=False,
                                        help_text="Closings made at or before this time (unix seconds).")


class _ClosingMixin(GenericAPIView):
    serializer_class = ClosingSummarySerializer
    queryset = CashPointClosing.objects.none()

    @property
    def actor(self):
        return self.request._request.actor

    def closings(self):
        return CashPointClosing.objects.select_related("cash_register__client", "revision")

    def get_closing(self) -> CashPointClosing:
        closing = self.closings().filter(closing_id=self.kwargs["closing_id"]).first()
        if closing is None:
            raise NotFound
        return closing


class ClosingListView(_ClosingMixin):
    @extend_schema(tags=TAGS, operation_id="dsfinvk_closing_list",
                   parameters=[ClosingListFilterSerializer, STATES],
                   responses={200: ClosingSummarySerializer(many=True), **_errors(400)},
                   description="The cash point closings the caller can see, in the order they were handed in.")
    def get(self, request, *args, **kwargs):
        params = request.query_params
        data = {key: params[key] for key in ("client_id", "start_date", "end_date") if key in params}
        states = params.getlist("states[]") or params.getlist("states")
        if states:
            data["states"] = [part for value in states for part in value.split(",") if part]
        filters = ClosingListFilterSerializer(data=data)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        rows = self.closings()
        if values.get("client_id"):
            rows = rows.filter(cash_register__client__public_id=values["client_id"])
        if values.get("states"):
            rows = rows.filter(state__in=values["states"])
        if values.get("start_date") is not None:
            rows = rows.filter(export_creation_date__gte=datetime.fromtimestamp(values["start_date"], UTC))
        if values.get("end_date") is not None:
            rows = rows.filter(export_creation_date__lte=datetime.fromtimestamp(values["end_date"], UTC))
        page = self.paginate_queryset(rows.order_by("created_at", "pk"))
        return self.get_paginated_response([closing_summary(closing) for closing in page])


class ClosingDetailView(_ClosingMixin):
    parser_classes = [DecimalJSONParser]
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="dsfinvk_closing_retrieve", parameters=[CLOSING_ID],
                   responses={200: ClosingSummarySerializer, **_errors(404)},
                   description="The summary of one cash point closing: its state and, once rejected, why.")
    def get(self, request, *args, **kwargs):
        return Response(closing_summary(self.get_closing()))

    @extend_schema(
        tags=TAGS, operation_id="dsfinvk_closing_upsert", parameters=[CLOSING_ID], request=OpenApiTypes.OBJECT,
        responses={200: ClosingSummarySerializer, **_errors(400, 403, 404, 409)},
        description="Hand in a cash point closing (fiskaly DSFinV-K model: client_id, cash_point_closing_export_id, "
                    "head, cash_statement, transactions with security {tss_tx_id} or {error_message}). Amounts as "
                    "JSON numbers or decimal strings, never rounded. Only the structure is checked here (400 lists "
                    "every problem); the answer is state PENDING and a worker makes it COMPLETED or ERROR. "
                    "Repeating the call with the same body answers the stored closing; another body is 409 "
                    "E_CASH_POINT_CLOSING_CONFLICT unless the stored closing was rejected (ERROR), which is then "
                    "replaced.",
    )
    def put(self, request, *args, **kwargs):
        payload = request.data
        cleaned, errors = clean_closing_request(payload)
        if errors:
            raise ApiError(400, "E_VALIDATION", _("The cash point closing is invalid: %(count)d problem(s).")
                           % {"count": len(errors)}, {"errors": errors})
        register = (CashRegister.objects.select_related("organization")
                    .filter(client__public_id=cleaned["client_id"]).first())
        if register is None:
            raise ApiError(404, "E_CASH_REGISTER_NOT_FOUND", _("There is no cash register for this client_id."))
        if not self.actor.can(register.organization_id, "configure"):
            raise PermissionDenied
        try:
            closing, _created = submit_closing(actor=self.actor, organization=register.organization,
                                               closing_id=self.kwargs["closing_id"], payload=payload)
        except ClosingRequestError as exc:
            raise ApiError(exc.status, exc.code, exc.message, exc.details) from exc
        closing = self.closings().get(pk=closing.pk)
        return Response(closing_summary(closing))


class ClosingDocumentView(_ClosingMixin):
    @extend_schema(tags=TAGS, operation_id="dsfinvk_closing_details", parameters=[CLOSING_ID],
                   responses={200: OpenApiTypes.OBJECT, **_errors(404)},
                   description="The stored DSFinV-K data of a COMPLETED closing (keyed by DSFinV-K column names), "
                               "with its key Z_KASSE_ID / Z_ERSTELLUNG / Z_NR and master-data revision.")
    def get(self, request, *args, **kwargs):
        closing = self.get_closing()
        if closing.state != ClosingState.COMPLETED:
            raise ApiError(404, "E_CASH_POINT_CLOSING_NOT_FOUND", _("The closing has not been accepted."))
        return Response({
            "closing_id": str(closing.closing_id),
            "Z_KASSE_ID": closing.cash_register.kasse_id,
            "Z_ERSTELLUNG": closing.z_erstellung,
            "Z_NR": closing.z_nr,
            "master_data_revision": closing.revision.number,
            "document": closing.document,
        })


urlpatterns = [
    path("cash_point_closings", ClosingListView.as_view(), name="dsfinvk-closing-list"),
    path("cash_point_closings/<uuid:closing_id>", ClosingDetailView.as_view(), name="dsfinvk-closing-detail"),
    path("cash_point_closings/<uuid:closing_id>/details", ClosingDocumentView.as_view(),
         name="dsfinvk-closing-document"),
]
