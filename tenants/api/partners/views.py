"""API of the partners feature.

Dealer side (``/organizations/<dealer>/…``): ``operator-invitations`` (list, create, show, resend,
revoke, CSV import), ``operators`` (the overview with onboarding progress) and received
``link-requests``. Operator side (``/organizations/<operator>/…``): ``dealers`` with their rights,
``dealers/<id>/rights`` (the full set) and ``dealers/<id>/rights/<right>`` (one right), and
``dealer-link-requests``. Public: ``operator-invitations/by-token/<token>`` (what an invitation link
holds, for a client-side registration page).

Reading needs ``view_members`` (members only: a partner acting for the organization gets 404);
changing needs ``manage_partners`` (owners and admins; API keys do not have it: 403). Dealer-side
calls need the dealer role (active for changes): otherwise ``403 E_ROLE_INACTIVE``.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response

from portal.api.exceptions import ApiError
from portal.api.pagination import StablePageNumberPagination
from portal.api.views import OrganizationResourceMixin
from tenants.api.partners.serializers import (
    DealerLinkRequestCreateSerializer,
    DealerRelationSerializer,
    ImportUploadSerializer,
    InvitationImportSerializer,
    InvitationPreviewSerializer,
    LinkRequestSerializer,
    OperatorInvitationCreateSerializer,
    OperatorInvitationSerializer,
    OverviewRowSerializer,
    OwnLinkRequestSerializer,
    RightsSerializer,
)
from tenants.models import AccessRight, DealerLink, LinkStatus, OperatorInvitation
from tenants.services import partners as svc

READ = "view_members"
MANAGE = "manage_partners"


def api_error(exc: svc.PartnerError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.details)


class SequencePagination(StablePageNumberPagination):
    """Stable pagination for querysets; plain page-number pagination for lists and the overview."""

    def paginate_queryset(self, queryset, request, view=None):
        if isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        return PageNumberPagination.paginate_queryset(self, queryset, request, view)


def _choice_param(request, name, choices, default=""):
    value = request.query_params.get(name, default)
    if value and value not in choices:
        raise ApiError(400, "E_VALIDATION", _("Unknown {name} “{value}”.").format(name=name, value=value),
                       {name: [_("Use one of: {choices}.").format(choices=", ".join(choices))]})
    return value


class PartnerResourceMixin(OrganizationResourceMixin):
    capabilities = {"GET": READ, "HEAD": READ, "OPTIONS": READ, "POST": MANAGE, "PUT": MANAGE, "DELETE": MANAGE}
    filter_backends = []
    pagination_class = SequencePagination


class DealerResourceMixin(PartnerResourceMixin):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        try:
            svc.require_dealer(self.organization, active=request.method not in SAFE_METHODS)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc

    def get_invitation(self) -> OperatorInvitation:
        invitation = OperatorInvitation.objects.filter(
            organization=self.organization, public_id=self.kwargs["invitation_id"]
        ).select_related("operator", "import_batch").first()
        if invitation is None:
            raise NotFound
        return invitation


STATUS_PARAM = OpenApiParameter("status", OpenApiTypes.STR, enum=list(svc.INVITATION_STATUSES))
SEARCH_PARAM = OpenApiParameter("search", OpenApiTypes.STR, description="Company, e-mail address or reference")


class OperatorInvitationListView(DealerResourceMixin, mixins.ListModelMixin):
    """The dealer's operator invitations (newest first) and new single invitations."""

    http_method_names = ["get", "post", "head", "options"]
    serializer_class = OperatorInvitationSerializer
    queryset = OperatorInvitation.objects.none()

    def get_queryset(self):
        status_ = _choice_param(self.request, "status", svc.INVITATION_STATUSES)
        return svc.invitation_history(self.organization, status=status_,
                                      search=self.request.query_params.get("search", "")[:100])

    @extend_schema(parameters=[STATUS_PARAM, SEARCH_PARAM], operation_id="operator_invitations_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=OperatorInvitationCreateSerializer, responses={201: OperatorInvitationSerializer},
                   operation_id="operator_invitations_create")
    def post(self, request, *args, **kwargs):
        payload = OperatorInvitationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        try:
            invitation, _token = svc.invite_operator(actor=self.actor, dealer=self.organization, data=data)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(OperatorInvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class OperatorInvitationDetailView(DealerResourceMixin):
    http_method_names = ["get", "head", "options"]
    serializer_class = OperatorInvitationSerializer

    @extend_schema(responses=OperatorInvitationSerializer, operation_id="operator_invitations_retrieve")
    def get(self, request, *args, **kwargs):
        return Response(OperatorInvitationSerializer(self.get_invitation()).data)


class OperatorInvitationResendView(DealerResourceMixin):
    """Send the invitation again: a new link (the old one stops working), a new expiry, sent_count + 1."""

    http_method_names = ["post", "options"]
    serializer_class = OperatorInvitationSerializer

    @extend_schema(request=None, responses=OperatorInvitationSerializer, operation_id="operator_invitations_resend")
    def post(self, request, *args, **kwargs):
        invitation = self.get_invitation()
        try:
            svc.resend_invitation(actor=self.actor, invitation=invitation)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(OperatorInvitationSerializer(self.get_invitation()).data)


class OperatorInvitationRevokeView(DealerResourceMixin):
    http_method_names = ["post", "options"]
    serializer_class = OperatorInvitationSerializer

    def initial(self, request, *args, **kwargs):
        # revoking is allowed even when the dealer role is no longer active
        PartnerResourceMixin.initial(self, request, *args, **kwargs)
        try:
            svc.require_dealer(self.organization, active=False)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc

    @extend_schema(request=None, responses=OperatorInvitationSerializer, operation_id="operator_invitations_revoke")
    def post(self, request, *args, **kwargs):
        invitation = self.get_invitation()
        try:
            svc.revoke_operator_invitation(actor=self.actor, invitation=invitation)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(OperatorInvitationSerializer(self.get_invitation()).data)


class OperatorInvitationImportView(DealerResourceMixin):
    """CSV bulk import. Valid rows are imported completely, invalid ones not at all; the answer (201)
    lists every row with its result and field errors. Addresses invited already are skipped."""

    http_method_names = ["post", "options"]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = InvitationImportSerializer

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer},
                   responses={201: InvitationImportSerializer}, operation_id="operator_invitations_import")
    def post(self, request, *args, **kwargs):
        payload = ImportUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        if upload.size > svc.CSV_MAX_BYTES:
            raise ApiError(413, "E_CSV_TOO_LARGE", _("The file is larger than {size} KB. Split it into smaller files.")
                           .format(size=svc.CSV_MAX_BYTES // 1024))
        try:
            default_rights = svc.parse_rights(payload.validated_data.get("rights", ""))
        except DjangoValidationError as exc:
            raise ApiError(400, "E_VALIDATION", _("Unknown rights."), {"rights": [str(exc.messages[0])]}) from exc
        try:
            batch = svc.import_invitations_csv(actor=self.actor, dealer=self.organization, content=upload.read(),
                                               filename=upload.name, default_rights=default_rights)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(InvitationImportSerializer(batch).data, status=status.HTTP_201_CREATED)


class OperatorOverviewView(DealerResourceMixin, mixins.ListModelMixin):
    """The dealer's operators (links and invitations not accepted yet) with their onboarding progress."""

    http_method_names = ["get", "head", "options"]
    serializer_class = OverviewRowSerializer

    def get_queryset(self):
        status_ = _choice_param(self.request, "status", svc.OVERVIEW_STATUSES)
        return svc.operator_overview(self.organization, search=self.request.query_params.get("search", "")[:100],
                                     status=status_)

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=list(svc.OVERVIEW_STATUSES)),
                               SEARCH_PARAM], operation_id="operators_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class LinkRequestListView(DealerResourceMixin, mixins.ListModelMixin):
    """Link requests operators sent to this dealer (default: the open ones)."""

    http_method_names = ["get", "head", "options"]
    serializer_class = LinkRequestSerializer
    queryset = DealerLink.objects.none()

    def get_queryset(self):
        status_ = _choice_param(self.request, "status", LinkStatus.values, default=LinkStatus.REQUESTED)
        return svc.link_requests(self.organization, status=status_)

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=list(LinkStatus.values))],
                   operation_id="link_requests_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class LinkRequestAnswerView(DealerResourceMixin):
    http_method_names = ["post", "options"]
    serializer_class = LinkRequestSerializer
    answer = "accept"

    def post(self, request, *args, **kwargs):
        link = DealerLink.objects.filter(dealer=self.organization, public_id=kwargs["link_id"]).first()
        if link is None:
            raise NotFound
        action = svc.accept_link_request if self.answer == "accept" else svc.decline_link_request
        try:
            link = action(actor=self.actor, dealer=self.organization, link=link)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(LinkRequestSerializer(link).data)


class LinkRequestAcceptView(LinkRequestAnswerView):
    answer = "accept"

    @extend_schema(request=None, responses=LinkRequestSerializer, operation_id="link_requests_accept")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LinkRequestDeclineView(LinkRequestAnswerView):
    answer = "decline"

    @extend_schema(request=None, responses=LinkRequestSerializer, operation_id="link_requests_decline")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


# --- operator side -----------------------------------------------------------------------------


def _relation_data(relation) -> dict:
    return DealerRelationSerializer({
        "dealer": relation.dealer, "status": relation.status, "link": relation.link, "rights": relation.rights,
    }).data


class OperatorRelationMixin(PartnerResourceMixin):
    def get_relation(self):
        try:
            return svc.dealer_relation(self.organization, self.kwargs["dealer_id"])
        except svc.PartnerError:
            raise NotFound from None

    def _rights_response(self, rights):
        return Response(RightsSerializer({"rights": rights}).data)


class DealerListView(PartnerResourceMixin, mixins.ListModelMixin):
    """The dealers linked to this operator (or holding rights on it), with their rights."""

    http_method_names = ["get", "head", "options"]
    serializer_class = DealerRelationSerializer

    def get_queryset(self):
        return svc.dealer_relations(self.organization)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_relation_data(relation) for relation in page])

    @extend_schema(operation_id="dealers_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class DealerDetailView(OperatorRelationMixin):
    http_method_names = ["get", "delete", "head", "options"]
    serializer_class = DealerRelationSerializer

    @extend_schema(responses=DealerRelationSerializer, operation_id="dealers_retrieve")
    def get(self, request, *args, **kwargs):
        return Response(_relation_data(self.get_relation()))

    @extend_schema(responses={204: OpenApiResponse(description="Link ended; every right of the dealer revoked.")},
                   operation_id="dealers_end_link")
    def delete(self, request, *args, **kwargs):
        relation = self.get_relation()
        try:
            svc.end_link(actor=self.actor, operator=self.organization, dealer=relation.dealer)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class DealerRightsView(OperatorRelationMixin):
    """The full set of rights of one dealer: PUT replaces it (granting needs an active link)."""

    http_method_names = ["get", "put", "head", "options"]
    serializer_class = RightsSerializer

    @extend_schema(responses=RightsSerializer, operation_id="dealer_rights_retrieve")
    def get(self, request, *args, **kwargs):
        return self._rights_response(self.get_relation().rights)

    @extend_schema(request=RightsSerializer, responses=RightsSerializer, operation_id="dealer_rights_update")
    def put(self, request, *args, **kwargs):
        relation = self.get_relation()
        payload = RightsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            rights = svc.set_dealer_rights(actor=self.actor, operator=self.organization, dealer=relation.dealer,
                                           rights=payload.validated_data["rights"])
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return self._rights_response(rights)


class DealerRightView(OperatorRelationMixin):
    """One right: PUT grants it, DELETE revokes it. Both answer the dealer's rights afterwards."""

    http_method_names = ["put", "delete", "options"]
    serializer_class = RightsSerializer

    def _set(self, granted: bool):
        if self.kwargs["right"] not in AccessRight.values:
            raise NotFound
        relation = self.get_relation()
        try:
            rights = svc.set_dealer_right(actor=self.actor, operator=self.organization, dealer=relation.dealer,
                                          right=self.kwargs["right"], granted=granted)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return self._rights_response(rights)

    @extend_schema(request=None, responses=RightsSerializer, operation_id="dealer_right_grant")
    def put(self, request, *args, **kwargs):
        return self._set(True)

    @extend_schema(request=None, responses=RightsSerializer, operation_id="dealer_right_revoke")
    def delete(self, request, *args, **kwargs):
        return self._set(False)


class DealerLinkRequestView(PartnerResourceMixin, mixins.ListModelMixin):
    """Requests of this operator to be linked to a dealer (found by id or a member's exact e-mail)."""

    http_method_names = ["get", "post", "head", "options"]
    serializer_class = OwnLinkRequestSerializer
    queryset = DealerLink.objects.none()

    def get_queryset(self):
        return DealerLink.objects.filter(organization=self.organization, status=LinkStatus.REQUESTED).select_related(
            "dealer").order_by("-requested_at", "-pk")

    @extend_schema(operation_id="dealer_link_requests_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(request=DealerLinkRequestCreateSerializer, responses={201: OwnLinkRequestSerializer},
                   operation_id="dealer_link_requests_create")
    def post(self, request, *args, **kwargs):
        payload = DealerLinkRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            link = svc.request_dealer_link(actor=self.actor, operator=self.organization,
                                           dealer_id=payload.validated_data.get("dealer_id"),
                                           email=payload.validated_data.get("email", ""))
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        return Response(OwnLinkRequestSerializer(link).data, status=status.HTTP_201_CREATED)


# --- public ------------------------------------------------------------------------------------


class InvitationPreviewView(GenericAPIView):
    """What an invitation link holds (dealer, prefilled company, rights asked for). No login needed:
    the token is the secret. Unknown token: 404, expired/revoked/used: 410 (``E_INVITATION_INVALID``)."""

    http_method_names = ["get", "head", "options"]
    permission_classes = [AllowAny]
    serializer_class = InvitationPreviewSerializer
    filter_backends = []

    @extend_schema(responses=InvitationPreviewSerializer, operation_id="operator_invitation_preview", auth=[])
    def get(self, request, token):
        try:
            invitation = svc.invitation_for_token(token)
        except svc.PartnerError as exc:
            raise api_error(exc) from exc
        response = Response(InvitationPreviewSerializer(invitation).data)
        response["Cache-Control"] = "no-store"
        return response
