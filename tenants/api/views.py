from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.exceptions import ApiError
from portal.api.views import OrganizationResourceMixin
from portal.middleware import user_has_two_factor
from portal.tenancy import get_visible_organization
from tenants.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    MeSerializer,
    OrganizationSerializer,
)
from tenants.models import ApiKey, Membership, Organization
from tenants.services.api_keys import create_api_key, revoke_api_key
from tenants.services.members import MembershipError, change_member_role, remove_member
from tenants.services.organizations import update_organization

MEMBERSHIP_ERROR_STATUS = {"E_INVALID_ROLE": 400, "E_OWNER_REQUIRED": 403, "E_LAST_OWNER": 409}


class MeView(APIView):
    """The caller: a user (session) or an API key, and the organizations it reaches."""

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request):
        actor = request._request.actor
        orgs = Organization.objects.filter(pk__in=actor.visible_organization_ids).order_by("name", "pk")
        organizations = [
            {
                "organization": org,
                "relation": "member" if org.pk in actor.member_roles else "partner",
                "role": actor.member_roles.get(org.pk),
                "rights": sorted(actor.granted_rights.get(org.pk, set())),
                "capabilities": sorted(actor.capabilities(org.pk)),
            }
            for org in orgs
        ]
        user = actor.user if actor.api_key is None else None
        data = {
            "kind": "api_key" if actor.api_key is not None else "user",
            "user": user,
            "two_factor_enabled": user_has_two_factor(user) if user is not None else None,
            "api_key": actor.api_key,
            "environment": settings.PORTAL_ENVIRONMENT,
            "organizations": organizations,
        }
        return Response(MeSerializer(data).data)


class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Organizations the caller belongs to or acts for. Members with the right role may update their own."""

    serializer_class = OrganizationSerializer
    queryset = Organization.objects.none()
    lookup_url_kwarg = "organization_id"
    http_method_names = ["get", "patch", "put", "head", "options"]

    def get_queryset(self):
        return Organization.objects.prefetch_related("roles").order_by("name", "pk")

    def get_object(self):
        capability = "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "change_organization"
        return get_visible_organization(self.request._request.actor, self.kwargs["organization_id"], capability)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        organization = self.get_object()
        serializer = self.get_serializer(organization, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        organization = update_organization(
            actor=request._request.actor, organization=organization, changes=serializer.validated_data
        )
        return Response(self.get_serializer(organization).data)

    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)


class MembershipViewSet(
    OrganizationResourceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members of one organization. Only its members see them."""

    serializer_class = MembershipSerializer
    queryset = Membership.objects.none()
    lookup_field = "public_id"
    lookup_url_kwarg = "membership_id"
    http_method_names = ["get", "patch", "delete", "head", "options"]
    capabilities = {
        "GET": "view_members",
        "HEAD": "view_members",
        "OPTIONS": "view_members",
        "PATCH": "manage_members",
        "DELETE": "manage_members",
    }

    def get_queryset(self):
        return Membership.objects.filter(organization=self.organization).select_related("user", "organization")

    @extend_schema(request=MembershipUpdateSerializer, responses=MembershipSerializer)
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        payload = MembershipUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            membership = change_member_role(
                actor=self.actor, membership=membership, role=payload.validated_data["role"]
            )
        except MembershipError as exc:
            raise ApiError(MEMBERSHIP_ERROR_STATUS.get(exc.code, 400), exc.code, exc.message) from exc
        return Response(MembershipSerializer(membership).data)

    def perform_destroy(self, instance):
        try:
            remove_member(actor=self.actor, membership=instance)
        except MembershipError as exc:
            raise ApiError(MEMBERSHIP_ERROR_STATUS.get(exc.code, 400), exc.code, exc.message) from exc


class ApiKeyViewSet(
    OrganizationResourceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """API keys of one organization. The key itself is returned once, when it is created."""

    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()
    lookup_field = "public_id"
    lookup_url_kwarg = "api_key_id"
    http_method_names = ["get", "post", "delete", "head", "options"]
    capabilities = {
        "GET": "view_api_keys",
        "HEAD": "view_api_keys",
        "OPTIONS": "view_api_keys",
        "POST": "manage_api_keys",
        "DELETE": "manage_api_keys",
    }

    def get_queryset(self):
        return ApiKey.objects.filter(organization=self.organization)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        payload = ApiKeyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            api_key, plaintext = create_api_key(
                actor=self.actor, organization=self.organization, **payload.validated_data
            )
        except ValueError as exc:
            raise ApiError(400, "E_VALIDATION", str(exc), {"expires_at": [str(exc)]}) from exc
        data = ApiKeyCreatedSerializer(api_key).data
        data["key"] = plaintext
        # The key is a secret shown once: no caching; an idempotent replay keeps it only encrypted.
        return Response(data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(responses={204: OpenApiResponse(description=_("Revoked. The key stops working at once."))})
    def destroy(self, request, *args, **kwargs):
        revoke_api_key(actor=self.actor, api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
