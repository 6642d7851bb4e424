"""API of the POS systems feature (creator side, and the dealer's read-only view).

Under ``/api/v1/organizations/<organization_id>/``:

- ``pos-systems``: the systems the organization created (GET, ``?retired=``) and registration (POST);
- ``pos-systems/<id>`` and its sub-resources: the system *as seen from the organization*. Its creator reads
  and changes it; a dealer it is shared with reads it (GET 200) and gets 403 ``E_PERMISSION_DENIED``
  for changes and for the creator's dealer list; for anyone else it does not exist (404);
- ``shared-pos-systems``: the systems shared with the organization (a dealer), read-only.

POS systems are members-only: partners acting in an operator's account through an access grant get 404.
Changes need the ``configure`` capability (owner, admin, member, write API key); viewers read.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from tenants.api.pos_systems.serializers import (
    DealerInvitationSentSerializer,
    DealerShareCreateSerializer,
    DealerShareSerializer,
    PosSystemCreateSerializer,
    PosSystemSerializer,
    PosSystemUpdateSerializer,
    PosSystemVersionCreateSerializer,
    PosSystemVersionSerializer,
    RetiredFilterSerializer,
)
from tenants.models import PosSystem, PosSystemDealer, PosSystemVersion
from tenants.services.pos_systems import (
    PosSystemError,
    add_version,
    create_pos_system,
    dealer_shares,
    get_pos_system_for,
    pos_systems_of,
    retire_pos_system,
    share_pos_system,
    shared_pos_systems_of,
    unshare_pos_system,
    update_pos_system,
)

__all__ = [
    "PosSystemDealerDetailView",
    "PosSystemDealerListView",
    "PosSystemDetailView",
    "PosSystemListView",
    "PosSystemRetireView",
    "PosSystemVersionListView",
    "SharedPosSystemDetailView",
    "SharedPosSystemListView",
]

ERROR_STATUS = {
    "E_ROLE_INACTIVE": 403,
    "E_POS_SYSTEM_RETIRED": 409,
    "E_VERSION_EXISTS": 409,
    "E_DEALER_NOT_FOUND": 400,
    "E_DEALER_AMBIGUOUS": 400,
    "E_VALIDATION": 400,
}
TAGS = ["pos-systems"]
RETIRED_PARAMETER = OpenApiParameter(
    "retired", OpenApiTypes.BOOL, description="true: only retired systems; false: only systems in use; omitted: all."
)
POS_SYSTEM_ID = OpenApiParameter("pos_system_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                 description="The POS system id.")
DEALER_ID = OpenApiParameter("dealer_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The dealer organization's public id.")
ERRORS = {
    400: OpenApiResponse(description="Invalid input (E_VALIDATION, E_DEALER_NOT_FOUND, E_DEALER_AMBIGUOUS)."),
    403: OpenApiResponse(description="E_PERMISSION_DENIED (no `configure` capability, or not the creator), "
                                     "E_ROLE_INACTIVE (creator role not active), E_API_KEY_READ_ONLY."),
    404: OpenApiResponse(description="E_NOT_FOUND: organization or POS system not visible."),
    409: OpenApiResponse(description="E_POS_SYSTEM_RETIRED, E_VERSION_EXISTS."),
}


def _api_error(exc: PosSystemError) -> ApiError:
    details = {exc.field: [exc.message]} if exc.field else None
    return ApiError(ERROR_STATUS.get(exc.code, 400), exc.code, exc.message, details)


def _retired_filter(request) -> bool | None:
    data = {"retired": request.query_params["retired"]} if "retired" in request.query_params else {}
    serializer = RetiredFilterSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["retired"]


class PosSystemResourceMixin(OrganizationResourceMixin):
    """Members only; unsafe methods need ``configure``; ``creator_only`` endpoints refuse dealers (403)."""

    capabilities = {method: "view" for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")}
    creator_only = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.actor.is_partner_of(self.organization.pk):
            raise NotFound  # POS systems are none of a partner's business in an operator's account
        if request.method not in SAFE_METHODS and not self.actor.can(self.organization.pk, "configure"):
            raise PermissionDenied

    def get_pos_system(self, *, change: bool = False) -> PosSystem:
        """The system of the URL as seen from the organization; for changes it must be the creator's."""
        try:
            system, relation = get_pos_system_for(self.organization, self.kwargs["pos_system_id"])
        except PosSystem.DoesNotExist:
            raise NotFound from None
        if relation != "creator" and (change or self.creator_only):
            raise PermissionDenied(_("Only the creator of this POS system can do this."))
        return system

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class PosSystemListView(PosSystemResourceMixin):
    """The POS systems the organization created, and registration of a new one."""

    queryset = PosSystem.objects.none()
    serializer_class = PosSystemSerializer

    @extend_schema(tags=TAGS, operation_id="pos_systems_list", parameters=[RETIRED_PARAMETER],
                   description="The POS systems the organization created, with their versions (newest first).",
                   responses={200: PosSystemSerializer(many=True), 400: ERRORS[400], 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        return self.paginated(pos_systems_of(self.organization, retired=_retired_filter(request)),
                             PosSystemSerializer)

    @extend_schema(
        tags=TAGS, operation_id="pos_systems_create", request=PosSystemCreateSerializer,
        responses={201: PosSystemSerializer, **ERRORS},
        description="Register a POS system with its first software version. The creator is the organization of "
                    "the URL; its creator role must be active (else 403 E_ROLE_INACTIVE).",
    )
    def post(self, request, *args, **kwargs):
        payload = PosSystemCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            system = create_pos_system(actor=self.actor, organization=self.organization, data=payload.validated_data)
        except PosSystemError as exc:
            raise _api_error(exc) from exc
        system = get_pos_system_for(self.organization, system.public_id)[0]
        return Response(PosSystemSerializer(system).data, status=status.HTTP_201_CREATED)


class PosSystemDetailView(PosSystemResourceMixin):
    """One POS system. It cannot be deleted (405): retire it instead."""

    queryset = PosSystem.objects.none()
    serializer_class = PosSystemSerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="pos_systems_retrieve", parameters=[POS_SYSTEM_ID],
                   description="The POS system as seen from the organization: its creator, or a dealer it is "
                               "shared with (read-only).",
                   responses={200: PosSystemSerializer, 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        return Response(PosSystemSerializer(self.get_pos_system()).data)

    @extend_schema(tags=TAGS, operation_id="pos_systems_partial_update", parameters=[POS_SYSTEM_ID],
                   description="Change the master data (creator only, creator role active, not retired).",
                   request=PosSystemUpdateSerializer(partial=True), responses={200: PosSystemSerializer, **ERRORS})
    def patch(self, request, *args, **kwargs):
        system = self.get_pos_system(change=True)
        payload = PosSystemUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            update_pos_system(actor=self.actor, pos_system=system, changes=payload.validated_data)
        except PosSystemError as exc:
            raise _api_error(exc) from exc
        return Response(PosSystemSerializer(get_pos_system_for(self.organization, system.public_id)[0]).data)


class PosSystemRetireView(PosSystemResourceMixin):
    """Retire a POS system for good (409 E_POS_SYSTEM_RETIRED if it already is)."""

    queryset = PosSystem.objects.none()
    serializer_class = PosSystemSerializer
    http_method_names = ["post", "options"]
    creator_only = True

    @extend_schema(
        tags=TAGS, operation_id="pos_systems_retire", parameters=[POS_SYSTEM_ID], request=None,
        responses={200: PosSystemSerializer, **{k: v for k, v in ERRORS.items() if k != 400}},
        description="Irreversible. The system stays readable but gets no versions, edits or shares any more, "
                    "and dealers can no longer deploy it.",
    )
    def post(self, request, *args, **kwargs):
        system = self.get_pos_system(change=True)
        try:
            retire_pos_system(actor=self.actor, pos_system=system)
        except PosSystemError as exc:
            raise _api_error(exc) from exc
        return Response(PosSystemSerializer(get_pos_system_for(self.organization, system.public_id)[0]).data)


class PosSystemVersionListView(PosSystemResourceMixin):
    """The software versions of a POS system, newest first; adding one (409 E_VERSION_EXISTS if taken)."""

    queryset = PosSystemVersion.objects.none()
    serializer_class = PosSystemVersionSerializer

    @extend_schema(tags=TAGS, operation_id="pos_systems_versions_list", parameters=[POS_SYSTEM_ID],
                   description="The software versions, newest first.",
                   responses={200: PosSystemVersionSerializer(many=True), 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        system = self.get_pos_system()
        versions = PosSystemVersion.objects.filter(pos_system=system).order_by("-created_at", "-pk")
        return self.paginated(versions, PosSystemVersionSerializer)

    @extend_schema(tags=TAGS, operation_id="pos_systems_versions_create", parameters=[POS_SYSTEM_ID],
                   description="Add a software version (creator only, creator role active, not retired).",
                   request=PosSystemVersionCreateSerializer, responses={201: PosSystemVersionSerializer, **ERRORS})
    def post(self, request, *args, **kwargs):
        system = self.get_pos_system(change=True)
        payload = PosSystemVersionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            version = add_version(actor=self.actor, pos_system=system, **payload.validated_data)
        except PosSystemError as exc:
            raise _api_error(exc) from exc
        return Response(PosSystemVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class PosSystemDealerListView(PosSystemResourceMixin):
    """The dealers a POS system is shared with (creator only), and sharing it with one more."""

    queryset = PosSystemDealer.objects.none()
    serializer_class = DealerShareSerializer
    creator_only = True

    @extend_schema(tags=TAGS, operation_id="pos_systems_dealers_list", parameters=[POS_SYSTEM_ID],
                   description="The dealers the POS system is shared with (creator only).",
                   responses={200: DealerShareSerializer(many=True), 403: ERRORS[403], 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        return self.paginated(dealer_shares(self.get_pos_system()), DealerShareSerializer)

    @extend_schema(
        tags=TAGS, operation_id="pos_systems_dealers_create", parameters=[POS_SYSTEM_ID],
        request=DealerShareCreateSerializer,
        responses={
            201: DealerShareSerializer,
            200: OpenApiResponse(DealerShareSerializer, description="Already shared with this dealer."),
            202: OpenApiResponse(DealerInvitationSentSerializer, description=(
                "No dealer organization has a member with this address: an invitation to register as a dealer "
                "was e-mailed and nothing was stored.")),
            **ERRORS,
        },
        description="Share the POS system with a dealer given by `dealer_id` (its public id) or by the `email` of "
                    "one of its members. The dealer's owners and admins get an e-mail notice.",
    )
    def post(self, request, *args, **kwargs):
        system = self.get_pos_system(change=True)
        payload = DealerShareCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = share_pos_system(actor=self.actor, pos_system=system, **payload.validated_data)
        except PosSystemError as exc:
            raise _api_error(exc) from exc
        if result.invited_email:
            body = {
                "result": "invitation_sent",
                "email": result.invited_email,
                "message": "No dealer organization has a member with this e-mail address. An invitation to "
                           "register as a dealer was sent; share again once the dealer is registered.",
            }
            return Response(DealerInvitationSentSerializer(body).data, status=status.HTTP_202_ACCEPTED)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(DealerShareSerializer(result.share).data, status=code)


class PosSystemDealerDetailView(PosSystemResourceMixin):
    """One dealer a POS system is shared with; DELETE stops sharing at once."""

    queryset = PosSystemDealer.objects.none()
    serializer_class = DealerShareSerializer
    http_method_names = ["get", "delete", "head", "options"]
    creator_only = True

    def get_share(self, *, change: bool = False) -> PosSystemDealer:
        share = dealer_shares(self.get_pos_system(change=change)).filter(
            dealer__public_id=self.kwargs["dealer_id"]).first()
        if share is None:
            raise NotFound
        return share

    @extend_schema(tags=TAGS, operation_id="pos_systems_dealers_retrieve", parameters=[POS_SYSTEM_ID, DEALER_ID],
                   responses={200: DealerShareSerializer, 403: ERRORS[403], 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        return Response(DealerShareSerializer(self.get_share()).data)

    @extend_schema(tags=TAGS, operation_id="pos_systems_dealers_destroy", parameters=[POS_SYSTEM_ID, DEALER_ID],
                   responses={204: OpenApiResponse(description="No longer shared; the dealer loses access at once."),
                              403: ERRORS[403], 404: ERRORS[404]})
    def delete(self, request, *args, **kwargs):
        unshare_pos_system(actor=self.actor, share=self.get_share(change=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedPosSystemListView(PosSystemResourceMixin):
    """The POS systems creators shared with the organization (a dealer). Read-only."""

    queryset = PosSystem.objects.none()
    serializer_class = PosSystemSerializer
    http_method_names = ["get", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="shared_pos_systems_list", parameters=[RETIRED_PARAMETER],
                   responses={200: PosSystemSerializer(many=True), 400: ERRORS[400], 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        return self.paginated(shared_pos_systems_of(self.organization, retired=_retired_filter(request)),
                              PosSystemSerializer)


class SharedPosSystemDetailView(PosSystemResourceMixin):
    """One POS system shared with the organization. Read-only."""

    queryset = PosSystem.objects.none()
    serializer_class = PosSystemSerializer
    http_method_names = ["get", "head", "options"]

    @extend_schema(tags=TAGS, operation_id="shared_pos_systems_retrieve", parameters=[POS_SYSTEM_ID],
                   responses={200: PosSystemSerializer, 404: ERRORS[404]})
    def get(self, request, *args, **kwargs):
        try:
            system, relation = get_pos_system_for(self.organization, self.kwargs["pos_system_id"])
        except PosSystem.DoesNotExist:
            raise NotFound from None
        if relation != "dealer":
            raise NotFound  # the organization's own systems are under pos-systems
        return Response(PosSystemSerializer(system).data)
