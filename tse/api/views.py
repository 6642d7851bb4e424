"""The POS signing API, modelled on fiskaly SIGN DE v2, flat under ``/api/v1/``.

The organization is the one of the calling API key (browser sessions are refused with 403
``E_API_KEY_REQUIRED``); a TSS of any other organization does not exist (404). Set-up calls (TSS,
admin, clients) need the ``configure`` capability, transactions a write key; read-only keys get
403 ``E_API_KEY_READ_ONLY`` on every change. Transactions never answer 5xx because of the TSE:
a failed or late signature gives 200 with ``signature: null`` and ``error``.
"""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from tse.api.serializers import (
    AdminAuthSerializer,
    AdminPinSerializer,
    ClientCreateSerializer,
    ClientSerializer,
    OptionalRevisionSerializer,
    TransactionListFilterSerializer,
    TransactionQuerySerializer,
    TransactionRequestSerializer,
    TransactionSerializer,
    TssCreateSerializer,
    TssSerializer,
    TssUpdateSerializer,
    client_data,
    tss_data,
)
from tse.models import ApiTransaction, ApiTransactionRevision, SigningUnit, TseClient
from tse.services import signing

__all__ = [
    "ClientDetailView",
    "ClientListView",
    "TransactionDetailView",
    "TransactionListView",
    "TssAdminAuthView",
    "TssAdminLogoutView",
    "TssAdminView",
    "TssDetailView",
    "TssListView",
]

TAGS = ["signing"]
TSS_ID = OpenApiParameter("tss_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                          description="The TSS id (a random UUIDv4 chosen by the caller).")
CLIENT_ID = OpenApiParameter("client_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The client id (a random UUIDv4 chosen by the caller).")
TX_ID = OpenApiParameter("tx_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                         description="The transaction id (a random UUIDv4 chosen by the caller, unique per TSS).")
TX_REVISION = OpenApiParameter("tx_revision", OpenApiTypes.INT, required=True,
                               description="1 = start, +1 for every update, the last one finishes.")
TX_REVISION_OPTIONAL = OpenApiParameter("tx_revision", OpenApiTypes.INT,
                                        description="A stored revision; omitted: the latest.")
STATES = OpenApiParameter("states[]", OpenApiTypes.STR, many=True, explode=True,
                          enum=["ACTIVE", "FINISHED", "CANCELLED"], description="Only transactions in these states.")
ERRORS = {
    400: OpenApiResponse(description="E_VALIDATION, E_FAILED_SCHEMA_VALIDATION, E_ILLEGAL_TSS_STATE_CHANGE, "
                                     "E_CHANGE_ADMIN_PIN_FAILED, E_ILLEGAL_CLIENT_SERIAL, E_CLIENT_NOT_FOUND."),
    401: OpenApiResponse(description="E_UNAUTHORIZED, E_ADMIN_LOGIN_FAILED, E_ADMIN_NOT_AUTHENTICATED."),
    403: OpenApiResponse(description="E_API_KEY_READ_ONLY, E_API_KEY_REQUIRED, E_PERMISSION_DENIED, "
                                     "E_ROLE_INACTIVE."),
    404: OpenApiResponse(description="E_NOT_FOUND: no such TSS, client or transaction of the key's organization."),
    409: OpenApiResponse(description="E_TSS_CONFLICT, E_CLIENT_CONFLICT, E_CLIENT_LIMIT, E_TX_REVISION_CONFLICT, "
                                     "E_TX_ALREADY_FINISHED, E_TOO_MANY_OPEN_TRANSACTIONS, E_TSS_NOT_INITIALIZED."),
    423: OpenApiResponse(description="E_ADMIN_PIN_BLOCKED."),
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


def _api_error(exc: signing.SigningApiError) -> ApiError:
    if exc.status == 404:
        return NotFound()
    return ApiError(exc.status, exc.code, exc.message, exc.details)


class SigningApiMixin(GenericAPIView):
    """The caller's API key decides the organization; ``setup_call`` views need ``configure`` for changes."""

    setup_call = True
    queryset = SigningUnit.objects.none()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        actor = request._request.actor
        if actor.api_key is None:
            raise ApiError(403, "E_API_KEY_REQUIRED", _("The signing API is used with an API key."))
        self.actor = actor
        self.organization = actor.api_key.organization
        capability = "view" if request.method in SAFE_METHODS or not self.setup_call else "configure"
        if not actor.can(self.organization.pk, capability):
            raise PermissionDenied

    def get_unit(self) -> SigningUnit:
        unit = (SigningUnit.unscoped.select_related("api_admin", "organization")
                .filter(organization=self.organization, public_id=self.kwargs["tss_id"]).first())
        if unit is None:
            raise NotFound
        return unit

    def paginated(self, rows):
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(page)


class TssListView(SigningApiMixin):
    """The TSSs of the key's organization."""

    serializer_class = TssSerializer

    @extend_schema(tags=TAGS, operation_id="signing_tss_list", responses={200: TssSerializer(many=True)},
                   description="The TSSs (signing units) of the API key's organization.")
    def get(self, request, *args, **kwargs):
        units = (SigningUnit.unscoped.select_related("api_admin").filter(organization=self.organization)
                 .order_by("created_at", "pk"))
        page = self.paginate_queryset(units)
        return self.get_paginated_response([tss_data(unit) for unit in page])


class TssDetailView(SigningApiMixin):
    """Create (idempotent PUT), read and change the state of one TSS."""

    serializer_class = TssSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="signing_tss_retrieve", parameters=[TSS_ID],
                   responses={200: TssSerializer, **_errors(404)}, description="One TSS.")
    def get(self, request, *args, **kwargs):
        return Response(tss_data(self.get_unit()))

    @extend_schema(
        tags=TAGS, operation_id="signing_tss_create", parameters=[TSS_ID], request=TssCreateSerializer,
        responses={201: TssSerializer, 200: TssSerializer, **_errors(400, 403, 404, 409)},
        description="Create a software TSE with the caller's id (state CREATED). The first answer (201) carries "
                    "the admin PUK — it is shown only once. Repeating the call with the same body answers 200 "
                    "with the same TSS (without the PUK); another body gives 409 E_TSS_CONFLICT.",
    )
    def put(self, request, *args, **kwargs):
        payload = TssCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            unit, puk = signing.create_tss(actor=self.actor, organization=self.organization,
                                           tss_id=self.kwargs["tss_id"], data=dict(payload.validated_data))
        except signing.SigningApiError as exc:
            raise _api_error(exc) from exc
        response = Response(tss_data(unit, admin_puk=puk), status=201 if puk else 200)
        if puk:
            response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        tags=TAGS, operation_id="signing_tss_update", parameters=[TSS_ID], request=TssUpdateSerializer,
        responses={200: TssSerializer, **_errors(400, 401, 403, 404, 409, 423)},
        description="CREATED → UNINITIALIZED → INITIALIZED → DISABLED (irreversible). INITIALIZED and DISABLED "
                    "need the admin login of the calling key (POST …/admin/auth).",
    )
    def patch(self, request, *args, **kwargs):
        unit = self.get_unit()
        payload = TssUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            unit = signing.change_tss_state(actor=self.actor, unit=unit, state=payload.validated_data["state"])
        except signing.SigningApiError as exc:
            raise _api_error(exc) from exc
        return Response(tss_data(unit))


class TssAdminView(SigningApiMixin):
    """Set the admin PIN with the PUK (also unblocks a blocked PIN)."""

    serializer_class = AdminPinSerializer
    http_method_names = ["post", "patch", "options"]

    @extend_schema(tags=TAGS, operation_id="signing_tss_admin_pin", parameters=[TSS_ID], request=AdminPinSerializer,
                   responses={204: None, **_errors(400, 403, 404, 409)},
                   description="Set a new admin PIN (at least 6 characters) with the admin PUK; unblocks the PIN.")
    def post(self, request, *args, **kwargs):
        unit = self.get_unit()
        payload = AdminPinSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            signing.change_admin_pin(actor=self.actor, unit=unit, **payload.validated_data)
        except signing.SigningApiError as exc:
            raise _api_error(exc) from exc
        return Response(status=204)

    @extend_schema(tags=TAGS, operation_id="signing_tss_admin_pin_patch", parameters=[TSS_ID],
                   request=AdminPinSerializer, responses={204: None, **_errors(400, 403, 404, 409)},
                   description="Same as POST (the fiskaly SIGN DE spelling).")
    def patch(self, request, *args, **kwargs):
        return self.post(request, *args, **kwargs)


class TssAdminAuthView(SigningApiMixin):
    serializer_class = AdminAuthSerializer
    http_method_names = ["post", "options"]

    @extend_schema(tags=TAGS, operation_id="signing_tss_admin_auth", parameters=[TSS_ID], request=AdminAuthSerializer,
                   responses={204: None, **_errors(400, 401, 403, 404, 409, 423)},
                   description="Log the calling API key in as admin of the TSS. Five wrong PINs block the PIN "
                               "(423 E_ADMIN_PIN_BLOCKED) until a new one is set with the PUK.")
    def post(self, request, *args, **kwargs):
        unit = self.get_unit()
        payload = AdminAuthSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            signing.admin_login(actor=self.actor, unit=unit, admin_pin=payload.validated_data["admin_pin"])
        except signing.SigningApiError as exc:
            raise _api_error(exc) from exc
        return Response(status=204)


class TssAdminLogoutView(SigningApiMixin):
    http_method_names = ["post", "options"]

    @extend_schema(tags=TAGS, operation_id="signing_tss_admin_logout", parameters=[TSS_ID], request=None,
                   responses={204: None, **_errors(403, 404)},
                   description="End the admin login of the calling key (safe when not logged in).")
    def post(self, request, *args, **kwargs):
        signing.admin_logout(actor=self.actor, unit=self.get_unit())
        return Response(status=204)


class ClientListView(SigningApiMixin):
    serializer_class = ClientSerializer

    @extend_schema(tags=TAGS, operation_id="signing_client_list", parameters=[TSS_ID],
                   responses={200: ClientSerializer(many=True), **_errors(404)},
                   description="The POS clients registered at the TSS.")
    def get(self, request, *args, **kwargs):
        unit = self.get_unit()
        clients = TseClient.unscoped.select_related("signing_unit").filter(signing_unit=unit).order_by("created_at",
                                                                                                       "pk")
        page = self.paginate_queryset(clients)
        return self.get_paginated_response([client_data(client) for client in page])


class ClientDetailView(SigningApiMixin):
    serializer_class = ClientSerializer
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="signing_client_retrieve", parameters=[TSS_ID, CLIENT_ID],
                   responses={200: ClientSerializer, **_errors(404)}, description="One POS client.")
    def get(self, request, *args, **kwargs):
        client = TseClient.unscoped.select_related("signing_unit").filter(
            signing_unit=self.get_unit(), public_id=self.kwargs["client_id"]).first()
        if client is None:
            raise NotFound
        return Response(client_data(client))

    @extend_schema(
        tags=TAGS, operation_id="signing_client_create", parameters=[TSS_ID, CLIENT_ID],
        request=ClientCreateSerializer, responses={201: ClientSerializer, 200: ClientSerializer,
                                                   **_errors(400, 403, 404, 409)},
        description="Register a POS (its serial number, 1–30 characters without / and _) at an INITIALIZED TSS; "
                    "idempotent. At most the TSS's maximum number of clients (409 E_CLIENT_LIMIT).",
    )
    def put(self, request, *args, **kwargs):
        unit = self.get_unit()
        payload = ClientCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            client, created = signing.register_client(actor=self.actor, unit=unit, client_id=self.kwargs["client_id"],
                                                      serial_number=payload.validated_data["serial_number"])
        except signing.SigningApiError as exc:
            raise _api_error(exc) from exc
        return Response(client_data(client), status=201 if created else 200)


class TransactionListView(SigningApiMixin):
    serializer_class = TransactionSerializer
    setup_call = False

    @extend_schema(tags=TAGS, operation_id="signing_tx_list", parameters=[TSS_ID, STATES],
                   responses={200: TransactionSerializer(many=True), **_errors(400, 404)},
                   description="The transactions of the TSS (their latest revision), oldest first.")
    def get(self, request, *args, **kwargs):
        unit = self.get_unit()
        states = request.query_params.getlist("states[]") or request.query_params.getlist("states")
        filters = TransactionListFilterSerializer(data={"states": states} if states else {})
        filters.is_valid(raise_exception=True)
        latest = ApiTransactionRevision.unscoped.filter(api_transaction=OuterRef("pk"),
                                                        revision=OuterRef("latest_revision")).values("pk")[:1]
        rows = ApiTransaction.unscoped.filter(signing_unit=unit).annotate(latest_row=Subquery(latest))
        if filters.validated_data.get("states"):
            rows = rows.filter(state__in=filters.validated_data["states"])
        page = self.paginate_queryset(rows.order_by("created_at", "pk"))
        revisions = {row.pk: row for row in ApiTransactionRevision.unscoped.filter(
            pk__in=[tx.latest_row for tx in page])}
        return self.get_paginated_response([_latest(revisions[tx.latest_row], tx) for tx in page])


def _latest(row, tx) -> dict:
    data = dict(signing.revision_response(row))
    data["latest_revision"] = tx.latest_revision
    return data


class TransactionDetailView(SigningApiMixin):
    serializer_class = TransactionSerializer
    http_method_names = ["get", "put", "head", "options"]
    setup_call = False

    def _tx(self, unit):
        tx = ApiTransaction.unscoped.filter(signing_unit=unit, tx_id=self.kwargs["tx_id"]).first()
        if tx is None:
            raise NotFound
        return tx

    @extend_schema(tags=TAGS, operation_id="signing_tx_retrieve", parameters=[TSS_ID, TX_ID, TX_REVISION_OPTIONAL],
                   responses={200: TransactionSerializer, **_errors(400, 404)},
                   description="A transaction at its latest (or the given) revision.")
    def get(self, request, *args, **kwargs):
        tx = self._tx(self.get_unit())
        query = OptionalRevisionSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        revision = query.validated_data.get("tx_revision", tx.latest_revision)
        row = ApiTransactionRevision.unscoped.filter(api_transaction=tx, revision=revision).first()
        if row is None:
            raise ApiError(400, "E_TX_REVISION_NOT_FOUND", _("This revision of the transaction does not exist."))
        return Response(_latest(row, tx))

    @extend_schema(
        tags=TAGS, operation_id="signing_tx_upsert", parameters=[TSS_ID, TX_ID, TX_REVISION],
        request=TransactionRequestSerializer, responses={200: TransactionSerializer, **_errors(400, 403, 404, 409)},
        description="Start (revision 1, state ACTIVE), update (ACTIVE) or end (FINISHED / CANCELLED) a transaction. "
                    "Repeating a revision with the same body returns the stored answer; another body, or a "
                    "revision other than the next one, is 409 E_TX_REVISION_CONFLICT. When the TSE fails or does "
                    "not answer within the signing timeout the answer is 200 with `signature: null` and `error`.",
    )
    def put(self, request, *args, **kwargs):
        unit = self.get_unit()
        query = TransactionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payload = TransactionRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        body = {key: request.data[key] for key in ("state", "client_id", "schema", "metadata") if key in request.data}
        body["client_id"] = str(payload.validated_data["client_id"])
        try:
            row, _new = signing.submit_revision(unit=unit, tx_id=self.kwargs["tx_id"],
                                                    revision=query.validated_data["tx_revision"], data=body)
        except signing.SigningApiError as exc:
            raise _api_error(exc) from exc
        row = signing.dispatch_revision(row, unit)
        return Response(signing.revision_response(row))
